package reduce_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// BenchmarkAddProfileFiles reduces one side of bench/compare-vs-pprof.sh's
// pair (a 20,000-function model, 8 window files of 200,000 samples) to a
// series, as `profdiff snapshot` does: reading, decoding and building the
// windows with one index kept across them.
func BenchmarkAddProfileFiles(b *testing.B) {
	m := gen.NewModel(42, 20000)
	rng := rand.New(rand.NewPCG(42, 42))
	files, err := m.WriteWindows(rng, b.TempDir(), gen.Windows{N: 8, Samples: 200000, Jitter: 0.02, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	ids, _ := profiletype.Parse("cpu")
	limit := inputfile.Limit{What: "a profile", Max: 256 << 20}
	for b.Loop() {
		snap := &baseline.Snapshot{}
		if _, err := reduce.AddProfileFiles(snap, "s", ids, files, limit); err != nil {
			b.Fatal(err)
		}
	}
}
