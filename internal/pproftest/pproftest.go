// Package pproftest reads the running test's own runtime profiles and
// measures what share of one a function holds: for tests that check that a
// hot spot shows in a real profile under the name a profile gives it.
package pproftest

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/google/pprof/profile"
)

// Lookup returns the process's runtime profile name ("allocs", "mutex",
// "block", ...) as it stands now. For "allocs" and "heap" it collects
// garbage first, since the heap profile is as of the last collection.
// These profiles are cumulative since the process started; Delta gives
// what happened between two lookups.
func Lookup(t testing.TB, name string) *profile.Profile {
	t.Helper()
	if name == "allocs" || name == "heap" {
		runtime.GC()
	}
	var buf bytes.Buffer
	if err := pprof.Lookup(name).WriteTo(&buf, 0); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Delta returns after − before, for two lookups of one cumulative profile.
// It leaves both unchanged.
func Delta(t testing.TB, after, before *profile.Profile) *profile.Profile {
	t.Helper()
	neg := before.Copy()
	neg.Scale(-1)
	p, err := profile.Merge([]*profile.Profile{after, neg})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// InStack reports whether a function named fn is on the sample's stack,
// inlined frames included.
func InStack(s *profile.Sample, fn string) bool {
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function != nil && ln.Function.Name == fn {
				return true
			}
		}
	}
	return false
}

// Share returns the fraction of p's sampleType value held by samples with
// fn on their stack, among the samples keep accepts (all when keep is nil),
// with the total it is a fraction of and whether any such sample was seen.
// A profile without that sample type fails the test.
func Share(t testing.TB, p *profile.Profile, sampleType, fn string, keep func(*profile.Sample) bool) (share float64, total int64, seen bool) {
	t.Helper()
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == sampleType {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("profile has no sample type %q", sampleType)
	}
	var hit int64
	for _, s := range p.Sample {
		if keep != nil && !keep(s) {
			continue
		}
		v := s.Value[idx]
		total += v
		if InStack(s, fn) {
			hit += v
			seen = true
		}
	}
	if total == 0 {
		return 0, 0, seen
	}
	return float64(hit) / float64(total), total, seen
}
