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

// drawObs draws n functions' run evidence with d degrees of freedom: sizes
// spread over two decades, windows predicting a variance proportional to
// the size (sampling), true run variance phi·e + tau²·m² times extra(i),
// observed as a scaled χ²_d/d.
func drawObs(seed uint64, n int, d, phi, tau float64, extra func(i int, rng *rand.Rand) float64) []runObs {
	rng := rand.New(rand.NewPCG(seed, 7))
	chi := distuv.ChiSquared{K: d, Src: rng}
	out := make([]runObs, n)
	for i := range out {
		m := math.Pow(100, rng.Float64()) // 1..100
		e := 0.002 * m
		v := (phi*e + tau*tau*m*m) * extra(i, rng)
		out[i] = runObs{v: v * chi.Rand() / d, e: e, m2: m * m}
	}
	return out
}

func one(int, *rand.Rand) float64 { return 1 }

func TestEstimateDispersion(t *testing.T) {
	const d = 3 // a 4-run baseline
	tests := []struct {
		name         string
		obs          []runObs
		ok           bool
		phiLo, phiHi float64 // fitted window factor within
		tauLo, tauHi float64 // fitted drift within
		minD0, maxD0 float64 // prior degrees of freedom within (Inf: unbounded allowed)
		outliers     int     // at least this many
	}{
		{
			// Lumpy allocation windows over steady runs.
			name: "windows wider than runs",
			obs:  drawObs(1, 200, d, 0.3, 0.005, one),
			ok:   true, phiLo: 0.2, phiHi: 0.45, tauLo: 0, tauHi: 0.012, minD0: 20, maxD0: math.Inf(1),
		},
		{
			// A process whose cost drifts 10% from one start to the next.
			name: "runs that drift",
			obs:  drawObs(2, 200, d, 1, 0.10, one),
			ok:   true, phiLo: 0.5, phiHi: 1.6, tauLo: 0.08, tauHi: 0.125, minD0: 20, maxD0: math.Inf(1),
		},
		{
			// Functions that truly differ from the trend (log-normal, sd
			// 1): the prior lends only a few degrees of freedom.
			name: "functions that disagree",
			obs: drawObs(3, 400, d, 1, 0.05, func(_ int, rng *rand.Rand) float64 {
				return math.Exp(rng.NormFloat64() - 0.5)
			}),
			// Here the drift dominates every function's run variance, so
			// the window factor is barely identified: only the drift is
			// checked.
			ok: true, phiLo: 0, phiHi: 3, tauLo: 0.02, tauHi: 0.08, minD0: 0.5, maxD0: 12,
		},
		{
			// Two callers that wander 100× more than the rest are set aside
			// and do not drag the fit up.
			name: "outliers set aside",
			obs: drawObs(4, 80, d, 1, 0.05, func(i int, _ *rand.Rand) float64 {
				if i < 2 {
					return 100
				}
				return 1
			}),
			ok: true, phiLo: 0, phiHi: 2, tauLo: 0.035, tauHi: 0.07, minD0: 3, maxD0: math.Inf(1), outliers: 2,
		},
		{"too few functions", drawObs(5, 5, d, 1, 0.1, one), false, 0, 0, 0, 0, 0, 0, 0},
		{"unusable observations are not pooled", []runObs{{v: -1, e: 1, m2: 1}, {v: 1, e: 0, m2: 1}, {v: math.NaN(), e: 1, m2: 1}}, false, 0, 0, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, ok := estimateDispersion(tt.obs, d)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			tau := math.Sqrt(rd.tau2)
			t.Logf("phi %.3f tau %.4f d0 %.2f outliers %d", rd.phi, tau, rd.d0, rd.outliers)
			if rd.phi < tt.phiLo || rd.phi > tt.phiHi {
				t.Errorf("window factor %.3f, want %.2f..%.2f", rd.phi, tt.phiLo, tt.phiHi)
			}
			if tau < tt.tauLo || tau > tt.tauHi {
				t.Errorf("drift %.4f, want %.3f..%.3f", tau, tt.tauLo, tt.tauHi)
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
	rd := runDispersion{d: 3, phi: 1, tau2: 0.01, d0: 9, cutoff: 4}
	o := func(v float64) runObs { return runObs{v: v, e: 1, m2: 100} } // prior 1 + 0.01·100 = 2
	tests := []struct {
		o     runObs
		v, df float64
		ok    bool
	}{
		{o(2), 2, 12, true},
		{o(6), 3, 12, true},   // (9·2 + 3·6) / 12
		{o(0), 1.5, 12, true}, // a function steady across runs still gets most of the prior
		{o(8.1), 0, 0, false}, // above the cutoff (4 × 2): its own runs
		{o(-1), 0, 0, false},  // unknown
		{o(math.NaN()), 0, 0, false},
		{runObs{v: 1, e: 0, m2: 0}, 0, 0, false}, // no prior
	}
	for _, tt := range tests {
		v, df, ok := rd.moderate(tt.o)
		if ok != tt.ok || math.Abs(v-tt.v) > 1e-9 || df != tt.df {
			t.Errorf("moderate(%+v) = %v, %v, %v; want %v, %v, %v", tt.o, v, df, ok, tt.v, tt.df, tt.ok)
		}
	}
	inf := runDispersion{d: 3, phi: 0.5, d0: math.Inf(1), cutoff: 4}
	if v, df, ok := inf.moderate(runObs{v: 3, e: 2, m2: 1}); !ok || v != 1 || !math.IsInf(df, 1) {
		t.Errorf("unbounded prior: moderate = %v, %v, %v; want the prior with unbounded df", v, df, ok)
	}
}

// lumpySeries builds an allocation series of nf functions over runs of
// nw windows each. Allocations are published in lumps (a GC cycle's worth
// at once), so consecutive windows share a lump: window pairs carry
// (1+u, 1-u) of every function's value. Whole runs are steady: each
// function's run level moves by runSD. scale multiplies function 0.
func lumpySeries(rng *rand.Rand, runs, nw, nf int, runSD, scale float64) *baseline.Series {
	return driftSeries(rng, runs, nw, nf, 0.8, runSD, scale)
}

// driftSeries is lumpySeries with lumps of the given width (u uniform in
// ±lump/2).
func driftSeries(rng *rand.Rand, runs, nw, nf int, lump, runSD, scale float64) *baseline.Series {
	return synthSeries(rng, runs, nw, nf, shape{alias: "alloc_space", service: "bank-notification-service", level: 4e6, lump: lump, runSD: runSD}, scale)
}

// shape is how a synthetic series moves: each function's level (level/(f+1)
// per second) drifts by runSD per run on its own and by commonSD per run
// with all the others; windows come in lump pairs (1+u, 1-u) and carry
// independent noise of relative size noise.
type shape struct {
	alias, service               string
	level, lump, runSD, commonSD float64
	noise                        float64
}

// synthSeries builds a series of nf functions over runs of nw windows of
// the given shape; scale multiplies function 0.
func synthSeries(rng *rand.Rand, runs, nw, nf int, sh shape, scale float64) *baseline.Series {
	ids, _ := profiletype.Parse(sh.alias)
	se := baseline.NewSeries(sh.service, ids[0])
	for f := range nf {
		se.Functions = append(se.Functions, baseline.Function{Name: fmt.Sprintf("main.f%02d", f)})
	}
	i := 0
	for r := range runs {
		c := 1.0
		if sh.commonSD > 0 {
			c += sh.commonSD * rng.NormFloat64()
		}
		level := make([]float64, nf)
		for f := range level {
			// A heavy head: f00 holds about a quarter of the total.
			level[f] = sh.level / float64(f+1) * c
			if sh.runSD > 0 {
				level[f] *= 1 + sh.runSD*rng.NormFloat64()
			}
		}
		level[0] *= scale
		var u float64
		for w := range nw {
			if sh.lump > 0 {
				if w%2 == 0 {
					u = sh.lump * (rng.Float64() - 0.5)
				} else {
					u = -u
				}
			}
			win := baseline.Window{
				Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
				Samples: 20_000, Run: int32(r),
			}
			for f := range nf {
				x := 1 + u
				if sh.noise > 0 {
					x += sh.noise * rng.NormFloat64()
				}
				v := int64(level[f] * 5 * x)
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
		if s.RunNoise.WindowFactor >= 0.5 {
			t.Fatalf("seed %d: window factor %.2f; lumpy windows over steady runs should give well below 1", seed, s.RunNoise.WindowFactor)
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

// TestCurrentRuns is the CPU case: steady windows, runs that drift by 10%.
// A current side merged from two runs carries half the drift's variance,
// and the stated minimum detectable change shrinks with it (by about
// sqrt(0.75/1.25) for a 4-run baseline).
func TestCurrentRuns(t *testing.T) {
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1}}
	rng := rand.New(rand.NewPCG(5, 5))
	base := driftSeries(rng, 4, 12, 30, 0.05, 0.10, 1)
	mde := func(cur *baseline.Series) float64 {
		s := mustCompare(t, snap(base), snap(cur), opts).Series[0]
		if s.RunNoise == nil || s.RunNoise.RunDrift < 0.05 {
			t.Fatalf("run noise %+v: runs drifting 10%% should show a drift", s.RunNoise)
		}
		return s.MinDetectable
	}
	// Averaged over draws: one current side's level is itself a draw.
	var one, two float64
	const draws = 40
	for range draws {
		one += mde(driftSeries(rng, 1, 12, 30, 0.05, 0.10, 1)) / draws
		two += mde(driftSeries(rng, 2, 12, 30, 0.05, 0.10, 1)) / draws
	}
	t.Logf("min detectable: one current run %.1f%%, two %.1f%%", 100*one, 100*two)
	if two > 0.85*one {
		t.Errorf("two current runs state a min detectable change of %.1f%%, one run %.1f%%; want the pair clearly smaller", 100*two, 100*one)
	}
}

// commonDriftSeries is a CPU-like series whose runs move together: every
// function's level in run r is scaled by the same factor 1+c_r, c_r normal
// with standard deviation commonSD (a process's cost per request moving
// from one start to the next), over windows with sampling noise of about
// 1%. scale multiplies function 0.
func commonDriftSeries(rng *rand.Rand, runs, nw, nf int, commonSD, scale float64) *baseline.Series {
	return synthSeries(rng, runs, nw, nf, shape{alias: "cpu", service: "bank-fraud-service", level: 4e9, commonSD: commonSD, noise: 0.01}, scale)
}

// TestMinRunDrift is the CPU case of the stack: whole processes drift
// together by ±10% from one start to the next while their windows agree to
// 1%, and the baseline's four processes happened to agree (±2%). The fit
// believes them, and the first run outside them fails on every function at
// once; a floor on the drift, measured over many runs, keeps A/A quiet and
// still finds a doubled function.
func TestMinRunDrift(t *testing.T) {
	const seeds = 200
	run := func(floor float64) (aaFalse, found int, floored bool) {
		opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, MinRunDrift: floor}}
		for seed := range uint64(seeds) {
			rng := rand.New(rand.NewPCG(seed, 17))
			base := commonDriftSeries(rng, 4, 12, 30, 0.02, 1)
			aa := commonDriftSeries(rng, 1, 12, 30, 0.10, 1)
			ab := commonDriftSeries(rng, 1, 12, 30, 0.10, 2)
			if r := mustCompare(t, snap(base), snap(aa), opts); r.Verdict != Pass {
				aaFalse++
			}
			r := mustCompare(t, snap(base), snap(ab), opts)
			if named(r.Series[0], "main.f00") {
				found++
			}
			if rn := r.Series[0].RunNoise; rn != nil && rn.RunDriftFloored {
				floored = true
			}
		}
		return aaFalse, found, floored
	}
	aa0, found0, floored0 := run(0)
	aa, found, floored := run(0.10)
	t.Logf("no floor: A/A false regressions %d/%d, +100%% found %d/%d; floor 10%%: %d/%d and %d/%d", aa0, seeds, found0, seeds, aa, seeds, found, seeds)
	if aa0 < seeds/10 {
		t.Errorf("without a floor %d of %d A/A comparisons failed; the case no longer shows what the floor is for", aa0, seeds)
	}
	if floored0 || !floored {
		t.Errorf("RunDriftFloored: %v without a floor, %v with one; want false, true", floored0, floored)
	}
	if aa > 6 {
		t.Errorf("with the floor %d of %d A/A comparisons failed; want at most 6 (alpha 1%%)", aa, seeds)
	}
	if found < seeds*9/10 {
		t.Errorf("with the floor +100%% found in %d of %d; want at least 90%%", found, seeds)
	}
}
