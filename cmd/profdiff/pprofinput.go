package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// An input is one side of `profdiff compare BASE CURRENT`: a pprof file (one
// window), a directory of pprof files (one file per window, as `profdiff
// snapshot` takes them), or a snapshot directory.
type input struct {
	path     string
	snapshot bool     // a snapshot directory (it has a manifest)
	files    []string // the pprof files, sorted by name
}

// pprofExts are the names a directory's pprof files go by; other files in
// the directory (a README, a snapshot's manifest) are not profiles.
var pprofExts = []string{".pb.gz", ".pb", ".pprof", ".prof", ".pprof.gz", ".prof.gz"}

func isPprofName(name string) bool {
	lower := strings.ToLower(name)
	for _, e := range pprofExts {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	return false
}

// openInput finds out what path is. Errors name the path and what it
// should have been.
func openInput(side, path string) (*input, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s %s: no such file or directory", side, path)
		}
		return nil, fmt.Errorf("%s %s: %w", side, path, err)
	}
	in := &input{path: path}
	if !st.IsDir() {
		in.files = []string{path}
		return in, nil
	}
	if _, err := os.Stat(filepath.Join(path, baseline.ManifestFile)); err == nil {
		in.snapshot = true
		return in, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", side, path, err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && isPprofName(e.Name()) {
			in.files = append(in.files, filepath.Join(path, e.Name()))
		}
	}
	if len(in.files) == 0 {
		return nil, fmt.Errorf("%s %s: a directory with neither a snapshot (%s) nor pprof files (%s)", side, path, baseline.ManifestFile, strings.Join(pprofExts, ", "))
	}
	sort.Strings(in.files)
	return in, nil
}

// windows is how many windows the input holds: its pprof files, or, for a
// snapshot, the most any series has.
func windows(in *input, snap *baseline.Snapshot) int {
	if !in.snapshot {
		return len(in.files)
	}
	n := 0
	for _, se := range snap.Series {
		n = max(n, len(se.Windows))
	}
	return n
}

// detectTypes names the profile types a pprof profile holds, by its sample
// and period types, as profiletype's IDs: a Go CPU profile is cpu; a heap
// profile the alloc group (what profdiff gates by default; --type inuse
// asks for the rest); a mutex or block profile, which Go writes alike, the
// lock group unless --type block says otherwise; a goroutine profile
// goroutines.
func detectTypes(sampleTypes []baseline.ValueType, period baseline.ValueType) ([]profiletype.ID, error) {
	has := func(t, u string) bool {
		for _, st := range sampleTypes {
			if st.Type == t && st.Unit == u {
				return true
			}
		}
		return false
	}
	var group string
	switch {
	case has("cpu", "nanoseconds"):
		group = "cpu"
	case has("alloc_space", "bytes") || has("alloc_objects", "count"):
		group = "alloc"
	case has("inuse_space", "bytes"):
		group = "inuse"
	case has("delay", "nanoseconds") && has("contentions", "count"):
		group = "lock"
	case has("goroutine", "count") || has("goroutines", "count"):
		group = "goroutines"
	}
	if group == "" {
		var held []string
		for _, st := range sampleTypes {
			held = append(held, st.String())
		}
		return nil, fmt.Errorf("cannot tell its profile type from its sample types (%s); name it with --type (%s, or a full Pyroscope ID)", strings.Join(held, ", "), strings.Join(profiletype.Aliases(), ", "))
	}
	ids, err := profiletype.Parse(group)
	if err != nil {
		return nil, err
	}
	// Keep the types the profile holds (a heap profile without inuse_*
	// values, a CPU profile of counts only).
	var out []profiletype.ID
	for _, id := range ids {
		if has(id.SampleType, id.SampleUnit) && (period.Type == "" || (period.Type == id.PeriodType && period.Unit == id.PeriodUnit)) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("its period type %s matches no %s profile type; name it with --type", period, group)
	}
	return out, nil
}

// fewWindowsWarning says what a comparison of one profile (or a few) a
// side can and cannot see, or "". A single profile has no window-to-window
// variance: the test has only the sampling noise the profile's sample
// count implies, and a machine or a load that varied between the two
// recordings shows as a change.
func fewWindowsWarning(nb, nc int) string {
	switch {
	case nb == 1 && nc == 1:
		return "the baseline and the current side are one profile each: with no window-to-window variance to measure, each function is judged on sampling noise alone, " +
			"so a change of load or machine between the two recordings reads as a change of the code; give several profiles a side (a directory, one per window) for a test that measures the noise"
	case nb == 1 || nc == 1:
		one, other, n := "baseline", "current side", nc
		if nc == 1 {
			one, other, n = "current side", "baseline", nb
		}
		return fmt.Sprintf("the %s is one profile: its window-to-window variance is unknown, and the test takes it from the %s's %d windows and the sampling noise; give several profiles a side (one per window)", one, other, n)
	case nb < diff.DefaultMinWindows || nc < diff.DefaultMinWindows:
		return fmt.Sprintf("only %d+%d windows: the window-to-window variance is estimated from few degrees of freedom (the t test allows for it, and so can detect only larger changes); %d or more a side is the gate's default", nb, nc, diff.DefaultMinWindows)
	}
	return ""
}
