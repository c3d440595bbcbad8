package baseline_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
)

var (
	largeOnce sync.Once
	largeDir  string
	largeErr  error
)

// largeSnapshotDir writes, once per test binary, a snapshot of one service
// with the benchmarks' large model (20,000 functions, 8 windows of 200,000
// samples): the shape of bench/compare-vs-pprof.sh's pair.
func largeSnapshotDir(b *testing.B) string {
	largeOnce.Do(func() {
		m := gen.NewModel(42, 20000)
		rng := rand.New(rand.NewPCG(42, 42))
		snap := &baseline.Snapshot{Meta: baseline.Meta{Source: "benchmark"}}
		snap.Put(m.Series(rng, "big", 8, 200000, 0.02))
		largeDir, largeErr = os.MkdirTemp("", "profdiff-bench-load-")
		if largeErr == nil {
			largeErr = baseline.Write(filepath.Join(largeDir, "snap"), snap)
		}
	})
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	return filepath.Join(largeDir, "snap")
}

// BenchmarkLoadLarge loads and validates one large snapshot: what each side
// of `profdiff compare` costs before the comparison starts.
func BenchmarkLoadLarge(b *testing.B) {
	dir := largeSnapshotDir(b)
	b.ReportAllocs()
	for b.Loop() {
		snap, err := baseline.Load(dir)
		if err != nil || len(snap.Series) != 1 {
			b.Fatalf("%v", err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if largeDir != "" {
		os.RemoveAll(largeDir)
	}
	os.Exit(code)
}
