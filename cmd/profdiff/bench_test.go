package main

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
)

// BenchmarkCompareProfiles is `profdiff compare base/ cur/` on the pair
// bench/compare-vs-pprof.sh times (bench/genpair's: a 20,000-function
// model, 8 windows a side of 200,000 samples, one function +30%), in
// process, for -cpuprofile: where a direct compare's time goes.
func BenchmarkCompareProfiles(b *testing.B) {
	dir := b.TempDir()
	m := gen.NewModel(42, 20000)
	hot := m.Closest(0.03)
	rng := rand.New(rand.NewPCG(42, 42))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, side := range []struct {
		name  string
		model *gen.Model
	}{{"base", m}, {"cur", m.Scale(hot, 1.3)}} {
		if _, err := side.model.WriteWindows(rng, filepath.Join(dir, side.name), gen.Windows{
			N: 8, Samples: 200000, Jitter: 0.02, Start: start,
		}); err != nil {
			b.Fatal(err)
		}
	}
	base, cur := filepath.Join(dir, "base"), filepath.Join(dir, "cur")
	for b.Loop() {
		if code := run([]string{"compare", base, cur}, io.Discard, io.Discard); code != exitRegression {
			b.Fatalf("exit %d, want 1", code)
		}
	}
}
