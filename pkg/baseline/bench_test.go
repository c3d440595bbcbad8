package baseline_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
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

var (
	manyOnce sync.Once
	manyDir  string
	manyErr  error
)

// BenchmarkLoadManySeries loads a snapshot shaped like a whole service
// stack's: 7 services x 3 profile types, 8 windows each, 3,000-function
// models. Series are decoded concurrently, one worker per GOMAXPROCS (run
// with -cpu 1,2 to compare with one at a time).
func BenchmarkLoadManySeries(b *testing.B) {
	manyOnce.Do(func() {
		snap := &baseline.Snapshot{Meta: baseline.Meta{Source: "benchmark"}}
		types := []string{"cpu", "alloc_space", "inuse_space"}
		for s := range 7 {
			for ti, typ := range types {
				m := gen.NewModel(uint64(10*s+ti), 3000)
				rng := rand.New(rand.NewPCG(uint64(s), uint64(ti)))
				se := m.Series(rng, fmt.Sprintf("svc-%d", s), 8, 50000, 0.02)
				pt, err := profiletype.Parse(typ)
				if err != nil {
					manyErr = err
					return
				}
				se.ProfileType = pt[0].String()
				se.SampleType = baseline.ValueType{Type: pt[0].SampleType, Unit: pt[0].SampleUnit}
				se.PeriodType = baseline.ValueType{Type: pt[0].PeriodType, Unit: pt[0].PeriodUnit}
				snap.Put(se)
			}
		}
		manyDir, manyErr = os.MkdirTemp("", "profdiff-bench-many-")
		if manyErr == nil {
			manyErr = baseline.Write(filepath.Join(manyDir, "snap"), snap)
		}
	})
	if manyErr != nil {
		b.Fatal(manyErr)
	}
	dir := filepath.Join(manyDir, "snap")
	b.ReportAllocs()
	for b.Loop() {
		snap, err := baseline.Load(dir)
		if err != nil || len(snap.Series) != 21 {
			b.Fatalf("%v", err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{largeDir, manyDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}
