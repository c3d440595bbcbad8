package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

func init() {
	register(&command{name: "snapshot", summary: "build or extend a snapshot from pprof files, one per time window", run: runSnapshot})
}

// profileLimit bounds a pprof file, read or decompressed, so a wrong path (a
// disk image, a log) or a gzip bomb fails fast instead of eating memory. A
// CPU profile of a busy service over a minute decompresses to a few MiB;
// Pyroscope merges of hours stay well under this. --max-profile-mib raises it.
const defaultMaxProfileMiB = 64

func runSnapshot(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("snapshot", `
Usage: profdiff snapshot --service NAME --type TYPE --out DIR FILE...

Reads pprof profiles (gzipped or not), one per time window, and adds them as
windows of the (service, profile type) series of the snapshot in DIR,
creating it if needed. TYPE is an alias (cpu, alloc_space, alloc_objects,
inuse_space, inuse_objects, mutex_delay, mutex_count, block_delay,
block_count, goroutines), a group (alloc, lock, inuse, block) or a full
Pyroscope ID; a group adds one series per member from the same files.
Nothing is written unless every file reads cleanly, and DIR is replaced
atomically.

Example:
  profdiff snapshot --service bank-fraud-service --type cpu --out snap/ cpu-*.pb.gz
`, stdout)
	service := fs.String("service", "", "service name (required)")
	types := fs.StringArray("type", nil, "profile type: alias, group or full ID (required; repeatable)")
	out := fs.String("out", "", "snapshot directory to create or extend (required)")
	source := fs.String("source", "pprof files", "where the profiles came from, recorded in the snapshot")
	maxMiB := fs.Int("max-profile-mib", defaultMaxProfileMiB, "refuse a pprof file larger than this many MiB, read or decompressed")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	switch {
	case *service == "":
		return fail(stderr, "snapshot", errors.New("--service is required"))
	case len(*types) == 0:
		return fail(stderr, "snapshot", errors.New("--type is required"))
	case *out == "":
		return fail(stderr, "snapshot", errors.New("--out is required"))
	case fs.NArg() == 0:
		return fail(stderr, "snapshot", errors.New("no pprof files given"))
	case *maxMiB < 1 || *maxMiB > 4096:
		return fail(stderr, "snapshot", fmt.Errorf("--max-profile-mib %d: want 1 to 4096", *maxMiB))
	}
	profileLimit.Max = int64(*maxMiB) << 20
	ids, err := profiletype.ParseList(*types)
	if err != nil {
		return fail(stderr, "snapshot", err)
	}
	// The lock is held from reading the snapshot to writing it back, so a
	// second snapshot command adding to the same directory is refused
	// instead of losing the first one's windows.
	lock, err := baseline.Lock(*out)
	if err != nil {
		return fail(stderr, "snapshot", err)
	}
	defer lock.Unlock()
	snap, err := loadOrNew(*out)
	if err != nil {
		return fail(stderr, "snapshot", err)
	}
	added, err := addProfiles(snap, *service, ids, fs.Args())
	if err != nil {
		return fail(stderr, "snapshot", err)
	}
	fillMeta(&snap.Meta, snap, *source)
	if err := lock.Write(snap); err != nil {
		return fail(stderr, "snapshot", err)
	}
	var parts []string
	for _, id := range ids {
		se := snap.Lookup(*service, id.String())
		parts = append(parts, fmt.Sprintf("%s %d windows (%d added)", id.Alias(), len(se.Windows), added[id.Alias()]))
	}
	fmt.Fprintf(stdout, "snapshot %s: %s %s\n", *out, *service, strings.Join(parts, ", "))
	return exitOK
}

// addProfiles reads each pprof file and adds it as a window of the
// service's series of each profile type, returning how many windows each
// type got. It changes only snap in memory; errors name the file. A file
// given twice (the same bytes) or a profile whose window starts when one
// already in the series does is refused: it would count one time window
// twice.
func addProfiles(snap *baseline.Snapshot, service string, ids []profiletype.ID, files []string) (map[string]int, error) {
	added := map[string]int{}
	seen := map[[sha256.Size]byte]string{}
	for _, file := range files {
		p, sum, err := readProfile(file)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[sum]; ok {
			return nil, fmt.Errorf("%s: the same profile as %s, given twice; give each time window's profile once", file, first)
		}
		seen[sum] = file
		for _, id := range ids {
			se := snap.Lookup(service, id.String())
			if se == nil {
				se = baseline.NewSeries(service, id)
				snap.Put(se)
			}
			if err := checkSums(p, se); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if p.TimeNanos > 0 {
				start := time.Unix(0, p.TimeNanos).UTC()
				for _, w := range se.Windows {
					if w.Start.Equal(start) {
						return nil, fmt.Errorf("%s: its window starts at %s, as a window already in the %s %s series does; each profile must cover its own time window", file, start.Format(time.RFC3339Nano), service, id.Alias())
					}
				}
			}
			empty := emptyWindows(se)
			if err := se.AddProfile(p, baseline.WindowOptions{}); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if emptyWindows(se) > empty {
				return nil, fmt.Errorf("%s: no %s/%s values in the profile (all samples are zero)", file, id.SampleType, id.SampleUnit)
			}
			added[id.Alias()]++
		}
	}
	return added, nil
}

// checkSums refuses a profile whose values of se's sample type, added up
// as AddProfile adds them into the window's total and, over the windows,
// into the series' stacks, pass the int64 maximum: the sums would wrap
// around to nonsense.
func checkSums(p *profile.Profile, se *baseline.Series) error {
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == se.SampleType.Type && st.Unit == se.SampleType.Unit {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil // AddProfile says what the profile holds instead
	}
	var sum int64
	add := func(v int64) bool {
		if v <= 0 {
			return true // AddProfile reports negative samples
		}
		if sum > math.MaxInt64-v {
			return false
		}
		sum += v
		return true
	}
	for _, w := range se.Windows {
		if !add(w.Total) {
			return fmt.Errorf("the series' earlier windows already sum past the int64 maximum")
		}
	}
	for _, s := range p.Sample {
		if idx < len(s.Value) && !add(s.Value[idx]) {
			return fmt.Errorf("its %s values, added to the series' earlier windows, sum past the int64 maximum (%d); the profile's values are corrupt", se.SampleType, int64(math.MaxInt64))
		}
	}
	return nil
}

// loadOrNew loads the snapshot in dir, or returns an empty one when dir does
// not exist or holds no snapshot yet (baseline.Write refuses to write into a
// non-empty directory that is not a snapshot).
func loadOrNew(dir string) (*baseline.Snapshot, error) {
	snap, err := baseline.Load(dir)
	if err == nil {
		return snap, nil
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, baseline.ErrNotSnapshot) {
		return &baseline.Snapshot{}, nil
	}
	return nil, err
}

// profileLimit is the bound readProfile applies; --max-profile-mib sets it.
var profileLimit = inputfile.Limit{What: "a pprof profile (raise it with --max-profile-mib)", Max: defaultMaxProfileMiB << 20}

// readProfile reads and parses one pprof file, naming it in every error. It
// returns the decompressed profile's SHA-256, by which a file given twice is
// known. Only regular files are read, within profileLimit decompressed.
func readProfile(file string) (*profile.Profile, [sha256.Size]byte, error) {
	data, err := inputfile.Read(file, profileLimit, inputfile.Options{Gunzip: true})
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	if len(data) == 0 {
		return nil, [sha256.Size]byte{}, fmt.Errorf("%s: empty file, not a pprof profile", file)
	}
	sum := sha256.Sum256(data)
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, sum, fmt.Errorf("%s: not a readable pprof profile (%v)", file, err)
	}
	if len(p.Sample) == 0 {
		return nil, sum, fmt.Errorf("%s: empty profile (no samples)", file)
	}
	return p, sum, nil
}

func emptyWindows(se *baseline.Series) int {
	n := 0
	for _, w := range se.Windows {
		if w.Total == 0 {
			n++
		}
	}
	return n
}

// fillMeta records the snapshot's time span and, when all windows have the
// same length, that length.
func fillMeta(m *baseline.Meta, snap *baseline.Snapshot, source string) {
	if m.Source == "" {
		m.Source = source
	}
	m.CreatedAt = time.Now().UTC().Truncate(time.Second)
	var lengths []time.Duration
	for _, se := range snap.Series {
		for _, w := range se.Windows {
			if w.Start.IsZero() {
				continue
			}
			if m.From.IsZero() || w.Start.Before(m.From) {
				m.From = w.Start
			}
			if w.End.After(m.Until) {
				m.Until = w.End
			}
			if w.End.After(w.Start) {
				lengths = append(lengths, w.End.Sub(w.Start))
			}
		}
	}
	if len(lengths) > 0 {
		sort.Slice(lengths, func(i, j int) bool { return lengths[i] < lengths[j] })
		m.Window = baseline.Duration(lengths[len(lengths)/2])
	}
}
