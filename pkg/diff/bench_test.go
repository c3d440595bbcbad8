package diff

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
)

var (
	largeOnce      sync.Once
	largeB, largeC *baseline.Snapshot
)

// largePair is two snapshots of one service with a 20,000-function model,
// 8 windows a side of 200,000 samples (enough for most of the long tail to
// appear), and one function +30%.
func largePair() (*baseline.Snapshot, *baseline.Snapshot) {
	largeOnce.Do(func() {
		m := gen.NewModel(42, 20000)
		hot := m.Closest(0.03)
		rng := rand.New(rand.NewPCG(42, 42))
		largeB = snap(m.Series(rng, svc, 8, 200000, 0.02))
		largeC = snap(m.Scale(hot, 1.3).Series(rng, svc, 8, 200000, 0.02))
	})
	return largeB, largeC
}

// BenchmarkCompareLarge compares two large snapshots (≈20k functions, 8
// windows a side): the cost of one series in a big service's gate.
func BenchmarkCompareLarge(b *testing.B) {
	base, cur := largePair()
	present := map[int32]bool{}
	for _, w := range base.Series[0].Windows {
		for _, v := range w.Cum {
			present[v.F] = true
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := Compare(base, cur, Options{})
		if err != nil || r.Verdict != Regression {
			b.Fatalf("verdict %v, %v", r.Verdict, err)
		}
	}
	b.ReportMetric(float64(len(present)), "functions")
}
