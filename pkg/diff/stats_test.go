package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

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

// TestPooledRunNoise is the allocation case of the stack: lumpy windows
// over steady runs. Judged by their windows alone (a one-run baseline), the
// lumps hide a +15% change; with the window factor measured over a 4-run
// baseline's functions, it is mostly found, and A/A comparisons stay within
// the per-run alpha.
func TestPooledRunNoise(t *testing.T) {
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1}}
	const seeds = 100
	var aaFalse, found, foundOneRun int
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 11))
		base := lumpySeries(rng, 4, 12, 30, 0.03, 1)
		aa := lumpySeries(rng, 1, 12, 30, 0.03, 1)
		ab := lumpySeries(rng, 1, 12, 30, 0.03, 1.15)
		if r := mustCompare(t, snap(base), snap(aa), opts); r.Verdict != Pass {
			aaFalse++
		}
		r := mustCompare(t, snap(base), snap(ab), opts)
		s := r.Series[0]
		if s.RunNoise == nil || s.RunNoise.WindowFactor >= 0.5 {
			t.Fatalf("seed %d: run noise %+v; lumpy windows over steady runs should give a window factor well below 1", seed, s.RunNoise)
		}
		if named(s, "main.f00") {
			found++
		}
		oneRun := lumpySeries(rng, 1, 48, 30, 0.03, 1)
		if one := mustCompare(t, snap(oneRun), snap(ab), opts); named(one.Series[0], "main.f00") {
			foundOneRun++
		}
	}
	t.Logf("A/A false regressions %d/%d; +15%% found %d/%d with the window factor, %d/%d against a one-run baseline", aaFalse, seeds, found, seeds, foundOneRun, seeds)
	if aaFalse > 9 {
		t.Errorf("%d of %d A/A comparisons failed; want at most 9 (alpha 5%% per run, and chance)", aaFalse, seeds)
	}
	if found < 80 {
		t.Errorf("+15%% found in %d of %d; want at least 80", found, seeds)
	}
	if foundOneRun > found/2 {
		t.Errorf("a one-run baseline found +15%% %d times against %d with the window factor: the test no longer shows what it buys", foundOneRun, found)
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

// TestCurrentRuns is the CPU case: steady windows, whole processes that
// drift together by 10% from one start to the next. A current side merged
// from two runs carries half the drift's variance, and the stated minimum
// detectable change shrinks with it (about sqrt(0.75/1.25) of the drift's
// part, for a 4-run baseline).
func TestCurrentRuns(t *testing.T) {
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, MinRunDrift: 0.05}}
	rng := rand.New(rand.NewPCG(5, 5))
	base := commonDriftSeries(rng, 4, 12, 30, 0.10, 1)
	mde := func(cur *baseline.Series) float64 {
		s := mustCompare(t, snap(base), snap(cur), opts).Series[0]
		if s.RunNoise == nil || s.RunNoise.Measured == nil || s.RunNoise.RunDrift < 0.02 {
			t.Fatalf("run noise %+v: runs drifting 10%% should show a measured drift", s.RunNoise)
		}
		return s.MinDetectable
	}
	// Averaged over draws: one current side's level is itself a draw.
	var one, two float64
	const draws = 40
	for range draws {
		one += mde(commonDriftSeries(rng, 1, 12, 30, 0.10, 1)) / draws
		two += mde(commonDriftSeries(rng, 2, 12, 30, 0.10, 1)) / draws
	}
	t.Logf("min detectable: one current run %.1f%%, two %.1f%%", 100*one, 100*two)
	if two > 0.9*one {
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
// 1%, and the baseline's four processes happened to agree (±2%). The
// measured drift believes them, and the first run outside them fails on
// every function at once; a floor on the drift, measured over many runs,
// keeps A/A quiet and still finds a doubled function.
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
		t.Errorf("with the floor %d of %d A/A comparisons failed; want at most 6 (alpha 5%% per run)", aa, seeds)
	}
	if found < seeds*9/10 {
		t.Errorf("with the floor +100%% found in %d of %d; want at least 90%%", found, seeds)
	}
}

// TestMultiRunBaselineFalseAlarms: an 8-run baseline whose windows scatter
// beyond sampling (5% over-dispersion) and whose runs drift together by 4%,
// against one current run of the same model. With alpha 1% and one series
// a run, at most 1% of 1,000 series may fail: the drift's few degrees of
// freedom are carried into the test rather than the windows' many
// (Welch–Satterthwaite), and the window variance is pooled under "no
// change" rather than taken from the current run's eleven windows alone.
func TestMultiRunBaselineFalseAlarms(t *testing.T) {
	seeds := 1000
	if testing.Short() {
		seeds = 300
	}
	sh := shape{alias: "cpu", service: "bank-fraud-service", level: 4e8, commonSD: 0.04, noise: 0.05}
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, Alpha: 0.01}}
	bad := 0
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 23))
		base := synthSeries(rng, 8, 11, 30, sh, 1)
		cur := synthSeries(rng, 1, 11, 30, sh, 1)
		if r := mustCompare(t, snap(base), snap(cur), opts); r.Verdict == Regression {
			bad++
		}
	}
	t.Logf("false regressions: %d of %d series (alpha 1%%)", bad, seeds)
	if limit := 0.01*float64(seeds) + 2*math.Sqrt(0.0099*float64(seeds)); float64(bad) > limit {
		t.Errorf("%d of %d A/A series failed; want at most %.0f (1%% and chance)", bad, seeds, limit)
	}
}

// TestStatedMinDetectable: a change of the size a pass says it could have
// detected is found about as often as the power it promises (80%), and half
// of it rarely. The MDE is read from an A/A comparison of the same setup.
func TestStatedMinDetectable(t *testing.T) {
	sh := shape{alias: "cpu", service: "bank-fraud-service", level: 4e8, commonSD: 0.03, noise: 0.05}
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, MinRunDrift: 0.03}}
	const seeds = 300
	var mdes []float64
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 31))
		r := mustCompare(t, snap(synthSeries(rng, 8, 11, 30, sh, 1)), snap(synthSeries(rng, 1, 11, 30, sh, 1)), opts)
		mdes = append(mdes, r.Series[0].MinDetectable)
	}
	mde := sorted(mdes)[len(mdes)/2]
	found := func(factor float64) int {
		n := 0
		for seed := range uint64(seeds) {
			rng := rand.New(rand.NewPCG(seed, 37))
			r := mustCompare(t, snap(synthSeries(rng, 8, 11, 30, sh, 1)), snap(synthSeries(rng, 1, 11, 30, sh, factor)), opts)
			if named(r.Series[0], "main.f00") {
				n++
			}
		}
		return n
	}
	at, half := found(1+mde), found(1+mde/2)
	t.Logf("stated MDE %.1f%%: +%.1f%% found %d/%d, +%.1f%% found %d/%d", 100*mde, 100*mde, at, seeds, 50*mde, half, seeds)
	if p := float64(at) / seeds; p < 0.65 || p > 0.95 {
		t.Errorf("at the stated MDE the change was found %.0f%% of the time; want about 80%%", 100*p)
	}
	if p := float64(half) / seeds; p > 0.3 {
		t.Errorf("at half the stated MDE it was found %.0f%% of the time; the MDE overstates the noise", 100*p)
	}
}
