package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
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
// service's series of each profile type (see reduce.AddProfileFiles),
// within profileLimit.
func addProfiles(snap *baseline.Snapshot, service string, ids []profiletype.ID, files []string) (map[string]int, error) {
	return reduce.AddProfileFiles(snap, service, ids, files, profileLimit)
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

// profileLimit is the bound on each pprof file; --max-profile-mib sets it.
var profileLimit = inputfile.Limit{What: "a pprof profile (raise it with --max-profile-mib)", Max: defaultMaxProfileMiB << 20}

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
