package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

func init() {
	register(&command{name: "snapshot", summary: "build or extend a snapshot from pprof files, one per time window", run: runSnapshot})
}

// maxProfileBytes bounds a pprof file, so a wrong path (a disk image, a log)
// fails fast instead of eating memory.
const maxProfileBytes = 512 << 20

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
	}
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
// type got. It changes only snap in memory; errors name the file.
func addProfiles(snap *baseline.Snapshot, service string, ids []profiletype.ID, files []string) (map[string]int, error) {
	added := map[string]int{}
	for _, file := range files {
		p, err := readProfile(file)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			se := snap.Lookup(service, id.String())
			if se == nil {
				se = baseline.NewSeries(service, id)
				snap.Put(se)
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

// readProfile reads and parses one pprof file, naming it in every error.
func readProfile(file string) (*profile.Profile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > maxProfileBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a profile?", file, maxProfileBytes>>20)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a pprof profile", file)
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable pprof profile (%v)", file, err)
	}
	if len(p.Sample) == 0 {
		return nil, fmt.Errorf("%s: empty profile (no samples)", file)
	}
	return p, nil
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
