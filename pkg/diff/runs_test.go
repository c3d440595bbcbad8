package diff

import (
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// runSeries builds a CPU series whose hot function holds the given share in
// each window, windows numbered by run.
func runSeries(runs [][]float64) *baseline.Series {
	ids, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries("bank-fraud-service", ids[0])
	se.Functions = []baseline.Function{{Name: "main.hot"}, {Name: "main.rest"}}
	i := 0
	for r, shares := range runs {
		for _, sh := range shares {
			const total = 100_000
			hot := int64(sh * total)
			se.Windows = append(se.Windows, baseline.Window{
				Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
				Total: total, Samples: 10_000, Run: int32(r),
				Self: baseline.Values{{F: 0, V: hot}, {F: 1, V: total - hot}},
				Cum:  baseline.Values{{F: 0, V: hot}, {F: 1, V: total - hot}},
			})
			i++
		}
	}
	return se
}

func jitter(center float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = center * (1 + 0.02*float64(i%3-1))
	}
	return out
}

func TestRunToRunVariation(t *testing.T) {
	tests := []struct {
		name string
		base [][]float64
		cur  float64
		want Verdict
	}{
		// One run: windows agree tightly, so 10% → 14% looks certain.
		{"single-run baseline flags a run-level shift", [][]float64{jitter(0.10, 10)}, 0.14, Regression},
		// Two runs that disagree by as much show the shift is run noise.
		{"multi-run baseline absorbs it", [][]float64{jitter(0.10, 10), jitter(0.15, 10)}, 0.14, Pass},
		// A change far beyond the runs' spread is still found.
		{"multi-run baseline still finds a large change", [][]float64{jitter(0.10, 10), jitter(0.11, 10), jitter(0.105, 10)}, 0.20, Regression},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompare(t, snap(runSeries(tt.base)), snap(runSeries([][]float64{jitter(tt.cur, 10)})), Options{})
			if got := r.Series[0].Verdict; got != tt.want {
				t.Fatalf("verdict %s, want %s (%+v)", got, tt.want, r.Series[0].Findings)
			}
		})
	}
}

func TestSatterthwaite(t *testing.T) {
	tests := []struct {
		name   string
		v, df  []float64
		lo, hi float64
	}{
		{"one estimated term: its own df", []float64{1, 0}, []float64{20, 3}, 20, 20},
		{"a known term adds no error", []float64{1, 1}, []float64{20, infDF}, 20, 80.01},
		{"estimated run term dominates: the runs' df", []float64{0.01, 100}, []float64{20, 3}, 3, 3.01},
		{"run term negligible: the windows'", []float64{1, 1e-6}, []float64{20, 3}, 19.9, 20.01},
		{"in between", []float64{1, 2}, []float64{20, 3}, 3.01, 19.9},
		{"nothing estimated: known exactly", []float64{1, 1}, []float64{infDF, infDF}, infDF - 1, infDF},
	}
	for _, tt := range tests {
		got := satterthwaite(tt.v, tt.df)
		if got < tt.lo || got > tt.hi {
			t.Errorf("%s: df %.3f, want in [%g, %g]", tt.name, got, tt.lo, tt.hi)
		}
	}
}
