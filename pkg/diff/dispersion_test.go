package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// ratiosFrom draws n variance ratios with d degrees of freedom around true
// ratios phi(i): phi(i)·χ²_d/d, what one function's K = d+1 run means give.
func ratiosFrom(seed uint64, n int, d float64, phi func(i int, rng *rand.Rand) float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	chi := distuv.ChiSquared{K: d, Src: rng}
	out := make([]float64, n)
	for i := range out {
		out[i] = phi(i, rng) * chi.Rand() / d
	}
	return out
}

func TestEstimateDispersion(t *testing.T) {
	const d = 3 // a 4-run baseline
	tests := []struct {
		name         string
		ratios       []float64
		ok           bool
		phiLo, phiHi float64 // pooled ratio within
		minD0        float64 // prior degrees of freedom at least
		maxD0        float64 // and at most (Inf: unbounded allowed)
		outliers     int     // at least this many
	}{
		{
			// Lumpy allocation windows: runs 3× steadier than windows say.
			name:   "common ratio below one",
			ratios: ratiosFrom(1, 300, d, func(int, *rand.Rand) float64 { return 0.33 }),
			ok:     true, phiLo: 0.27, phiHi: 0.40, minD0: 20, maxD0: math.Inf(1),
		},
		{
			name:   "common ratio above one",
			ratios: ratiosFrom(2, 300, d, func(int, *rand.Rand) float64 { return 4 }),
			ok:     true, phiLo: 3.2, phiHi: 5, minD0: 20, maxD0: math.Inf(1),
		},
		{
			// Functions that truly differ (log-normal, sd 1): the prior
			// lends only a few degrees of freedom.
			name: "functions that disagree",
			ratios: ratiosFrom(3, 400, d, func(_ int, rng *rand.Rand) float64 {
				return math.Exp(rng.NormFloat64())
			}),
			ok: true, phiLo: 0.5, phiHi: 2, minD0: 0.5, maxD0: 12,
		},
		{
			// Two callers that wander 100× more than the rest are set aside
			// and do not drag the pooled ratio up.
			name: "outliers set aside",
			ratios: ratiosFrom(4, 60, d, func(i int, _ *rand.Rand) float64 {
				if i < 2 {
					return 100
				}
				return 1
			}),
			ok: true, phiLo: 0.7, phiHi: 1.4, minD0: 3, maxD0: math.Inf(1), outliers: 2,
		},
		{"too few functions", []float64{1, 2, 0.5}, false, 0, 0, 0, 0, 0},
		{"unknown ratios are not pooled", []float64{-1, -1, -1, -1, -1, -1, -1, -1, -1, 1}, false, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, ok := estimateDispersion(tt.ratios, d)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if rd.phi0 < tt.phiLo || rd.phi0 > tt.phiHi {
				t.Errorf("pooled ratio %.3f, want %.2f..%.2f", rd.phi0, tt.phiLo, tt.phiHi)
			}
			if rd.d0 < tt.minD0 || rd.d0 > tt.maxD0 {
				t.Errorf("prior df %.2f, want %.1f..%.1f", rd.d0, tt.minD0, tt.maxD0)
			}
			if rd.outliers < tt.outliers {
				t.Errorf("%d outliers, want at least %d", rd.outliers, tt.outliers)
			}
		})
	}
}

func TestModerate(t *testing.T) {
	rd := runDispersion{d: 3, phi0: 1, d0: 9, cutoff: 4}
	tests := []struct {
		r       float64
		phi, df float64
		ok      bool
	}{
		{1, 1, 12, true},
		{3, 1.5, 12, true},         // (9·1 + 3·3) / 12
		{0, 0.75, 12, true},        // a function steady across runs still gets most of the prior
		{5, 0, 0, false},           // above the cutoff: its own runs
		{-1, 0, 0, false},          // unknown
		{math.NaN(), 0, 0, false},  // unknown
		{math.Inf(1), 0, 0, false}, // absurd
		{3.99, 1.7475, 12, true},   // just inside
	}
	for _, tt := range tests {
		phi, df, ok := rd.moderate(tt.r)
		if ok != tt.ok || math.Abs(phi-tt.phi) > 1e-9 || df != tt.df {
			t.Errorf("moderate(%v) = %v, %v, %v; want %v, %v, %v", tt.r, phi, df, ok, tt.phi, tt.df, tt.ok)
		}
	}
	inf := runDispersion{d: 3, phi0: 0.4, d0: math.Inf(1), cutoff: 2}
	if phi, df, ok := inf.moderate(1.5); !ok || phi != 0.4 || !math.IsInf(df, 1) {
		t.Errorf("unbounded prior: moderate = %v, %v, %v; want the pooled ratio with unbounded df", phi, df, ok)
	}
}

func TestTrigammaInverse(t *testing.T) {
	for _, y := range []float64{1e-3, 0.05, 0.5, 0.935, 2, 50, 1e4} {
		x := trigammaInverse(y)
		if got := trigamma(x); math.Abs(got-y)/y > 1e-6 {
			t.Errorf("trigamma(trigammaInverse(%g)) = %g", y, got)
		}
	}
	// ψ'(1) = π²/6.
	if got := trigamma(1); math.Abs(got-math.Pi*math.Pi/6) > 1e-12 {
		t.Errorf("trigamma(1) = %v", got)
	}
}

// lumpySeries builds an allocation series of nf functions over runs of
// nw windows each. Allocations are published in lumps (a GC cycle's worth
// at once), so consecutive windows share a lump: window pairs carry
// (1+u, 1-u) of every function's value. Whole runs are steady: each
// function's run level moves by runSD. scale multiplies function 0.
func lumpySeries(rng *rand.Rand, runs, nw, nf int, runSD, scale float64) *baseline.Series {
	ids, _ := profiletype.Parse("alloc_space")
	se := baseline.NewSeries("bank-notification-service", ids[0])
	for f := range nf {
		se.Functions = append(se.Functions, baseline.Function{Name: fmt.Sprintf("main.f%02d", f)})
	}
	i := 0
	for r := range runs {
		level := make([]float64, nf)
		for f := range level {
			// A heavy head: f00 holds about a quarter of the bytes.
			level[f] = 4e6 / float64(f+1) * (1 + runSD*rng.NormFloat64())
		}
		level[0] *= scale
		var u float64
		for w := range nw {
			if w%2 == 0 {
				u = 0.8 * (rng.Float64() - 0.5)
			} else {
				u = -u
			}
			win := baseline.Window{
				Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
				Samples: 20_000, Run: int32(r),
			}
			for f := range nf {
				v := int64(level[f] * 5 * (1 + u))
				win.Self = append(win.Self, baseline.Value{F: int32(f), V: v})
				win.Cum = append(win.Cum, baseline.Value{F: int32(f), V: v})
				win.Total += v
			}
			se.Windows = append(se.Windows, win)
			i++
		}
	}
	return se
}

// TestPooledRunNoise is the allocation case of the stack (issue 8): lumpy
// windows over steady runs. Judged by their windows alone (a one-run
// baseline), the lumps hide a +40% change; with the ratio pooled over a
// 4-run baseline's functions, it is found, and A/A comparisons stay quiet.
func TestPooledRunNoise(t *testing.T) {
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1}}
	const seeds = 100
	var aaFalse, found, foundOneRun int
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 11))
		base := lumpySeries(rng, 4, 12, 30, 0.03, 1)
		aa := lumpySeries(rng, 1, 12, 30, 0.03, 1)
		ab := lumpySeries(rng, 1, 12, 30, 0.03, 1.4)
		if r := mustCompare(t, snap(base), snap(aa), opts); r.Verdict != Pass {
			aaFalse++
		}
		r := mustCompare(t, snap(base), snap(ab), opts)
		s := r.Series[0]
		if s.RunNoise == nil {
			t.Fatalf("seed %d: no pooled run noise for a 4-run baseline", seed)
		}
		if s.RunNoise.Ratio >= 0.5 {
			t.Fatalf("seed %d: pooled ratio %.2f; lumpy windows over steady runs should give well below 1", seed, s.RunNoise.Ratio)
		}
		if named(s, "main.f00") {
			found++
		}
		oneRun := lumpySeries(rng, 1, 48, 30, 0.03, 1)
		if one := mustCompare(t, snap(oneRun), snap(ab), opts); named(one.Series[0], "main.f00") {
			foundOneRun++
		}
	}
	t.Logf("A/A false regressions %d/%d; +40%% found %d/%d pooled, %d/%d against a one-run baseline", aaFalse, seeds, found, seeds, foundOneRun, seeds)
	if aaFalse > 3 {
		t.Errorf("%d of %d A/A comparisons failed; want at most 3 (alpha 1%%)", aaFalse, seeds)
	}
	if found < 95 {
		t.Errorf("+40%% found in %d of %d; want at least 95", found, seeds)
	}
	if foundOneRun >= found {
		t.Errorf("a one-run baseline found +40%% as often (%d) as the pooled 4-run one (%d): the test no longer shows what pooling buys", foundOneRun, found)
	}
}

// named reports whether the series fails on fn.
func named(s *SeriesResult, fn string) bool {
	for _, f := range s.Findings {
		if f.Function == fn && f.Kind == KindRegression {
			return true
		}
	}
	return false
}
