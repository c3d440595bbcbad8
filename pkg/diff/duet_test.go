package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// duetSeries draws a duet of CPU series: P pairs of runs of nw windows,
// nf functions (f00 about a quarter of the total). In pair k the machine
// moves both sides' levels by the same factor 1+δ_k (sd shared); each
// process start adds its own offset (sd own); windows carry noise of
// relative size noise. scale multiplies the candidate's f00.
func duetSeries(rng *rand.Rand, pairs, nw, nf int, shared, own, noise, scale float64) (b, c *baseline.Series) {
	return duetDraw(rng, duetModel{pairs: pairs, windows: nw, funcs: nf, shared: shared, own: own, noise: noise}, scale)
}

// duetModel is what duetDraw draws: see duetSeries. winShared is window
// noise that a pair's simultaneous windows share (the same requests
// arrived at both); shift moves the candidate's windows off the base's
// clock by that much, so that none pair. With lockEvents > 0 the series is
// a mutex delay profile of that many contention events a window, recorded
// at fraction lockPeriod: each function's events weigh its window value
// over its share of them, so its Poisson floor is known to the test.
type duetModel struct {
	pairs, windows, funcs int
	shared, own, noise    float64
	winShared             float64
	shift                 time.Duration
	lockEvents            float64
	lockPeriod            int64
}

func duetDraw(rng *rand.Rand, m duetModel, scale float64) (b, c *baseline.Series) {
	typ, service, samples := "cpu", "bank-fraud-service", int64(20_000)
	if m.lockEvents > 0 {
		typ, service, samples = "mutex_delay", "bank-order-service", int64(m.lockEvents)
	}
	ids, _ := profiletype.Parse(typ)
	var hsum float64 // the functions' weights sum, for their shares of the events
	for f := range m.funcs {
		hsum += 1 / float64(f+1)
	}
	mk := func() *baseline.Series {
		se := baseline.NewSeries(service, ids[0])
		if m.lockEvents > 0 {
			se.Period = m.lockPeriod
		}
		for f := range m.funcs {
			se.Functions = append(se.Functions, baseline.Function{Name: fmt.Sprintf("main.f%02d", f)})
		}
		return se
	}
	b, c = mk(), mk()
	common := make([]float64, m.windows*m.funcs)
	for k := range m.pairs {
		delta := 1 + m.shared*rng.NormFloat64()
		for i := range common {
			common[i] = m.winShared * rng.NormFloat64()
		}
		for side, se := range []*baseline.Series{b, c} {
			level := delta * (1 + m.own*rng.NormFloat64())
			start := testNow
			if side == 1 {
				start = start.Add(m.shift)
			}
			for w := range m.windows {
				i := k*m.windows + w
				win := baseline.Window{Start: start.Add(time.Duration(i) * 5 * time.Second), End: start.Add(time.Duration(i+1) * 5 * time.Second),
					Samples: samples, Period: m.lockPeriod, Run: int32(k)}
				for f := range m.funcs {
					x := 4e8 / float64(f+1) * level * (1 + common[w*m.funcs+f] + m.noise*rng.NormFloat64())
					if f == 0 && side == 1 {
						x *= scale
					}
					v := int64(5 * x)
					if m.lockEvents > 0 {
						events := m.lockEvents / float64(f+1) / hsum
						vw := float64(v) * float64(v) / events
						se.Functions[f].SelfVW += vw
						se.Functions[f].CumVW += vw
					}
					win.Self = append(win.Self, baseline.Value{F: int32(f), V: v})
					win.Cum = append(win.Cum, baseline.Value{F: int32(f), V: v})
					win.Total += v
				}
				se.Windows = append(se.Windows, win)
			}
		}
	}
	return b, c
}

func duetSnap(paired bool, se *baseline.Series) *baseline.Snapshot {
	s := snap(se)
	s.Meta.Labels = map[string]string{}
	if paired {
		s.Meta.Labels[PairingLabel] = "runs"
	}
	return s
}

// duetTrials compares n duets drawn by draw (seed by seed), paired or not,
// and returns how many failed, how many named main.f00 and their mean
// stated MDE.
func duetTrials(t *testing.T, n int, paired bool, opts Options, draw func(seed uint64) (b, c *baseline.Series)) (failed, found int, mde float64) {
	t.Helper()
	for seed := range uint64(n) {
		b, c := draw(seed)
		r := mustCompare(t, duetSnap(paired, b), duetSnap(paired, c), opts)
		if r.Paired != paired {
			t.Fatalf("compared paired=%v, want %v", r.Paired, paired)
		}
		if r.Verdict != Pass {
			failed++
		}
		if named(r.Series[0], "main.f00") {
			found++
		}
		mde += r.Series[0].MinDetectable / float64(n)
	}
	return failed, found, mde
}

// TestDuet: the machine moves both sides of a pair by ±10% while each
// process start adds ±2% of its own. Paired, the shared move cancels: A/A
// duets stay within the per-run alpha, +25% in the hottest function is
// found nearly always, and the stated MDE is a fraction of what the same
// runs compared unpaired state (where the shared move is noise, floored at
// ±5% as against a stored baseline). The threshold is set low (2%) so that
// the MDE shows the noise, not the threshold.
func TestDuet(t *testing.T) {
	const seeds = 200
	paired := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, Threshold: 0.02}}
	unpaired := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, Threshold: 0.02, MinRunDrift: 0.05}}
	draw := func(scale float64) func(uint64) (b, c *baseline.Series) {
		return func(seed uint64) (b, c *baseline.Series) {
			return duetSeries(rand.New(rand.NewPCG(seed, 41)), 6, 6, 30, 0.10, 0.02, 0.03, scale)
		}
	}
	aaFalse, _, _ := duetTrials(t, seeds, true, paired, draw(1))
	_, found, mde := duetTrials(t, seeds, true, paired, draw(1.25))
	_, foundUnpaired, mdeUnpaired := duetTrials(t, seeds, false, unpaired, draw(1.25))
	t.Logf("A/A false %d/%d; +25%% found %d/%d paired (MDE %.1f%%), %d/%d unpaired (MDE %.1f%%)", aaFalse, seeds, found, seeds, 100*mde, foundUnpaired, seeds, 100*mdeUnpaired)
	if aaFalse > seeds/20+6 {
		t.Errorf("%d of %d A/A duets failed; want about 5%% at most", aaFalse, seeds)
	}
	if found < seeds*9/10 {
		t.Errorf("+25%% found in %d of %d duets; want at least 90%%", found, seeds)
	}
	if mde > mdeUnpaired/2 {
		t.Errorf("paired MDE %.1f%% against %.1f%% unpaired: the pairing should cancel the shared drift", 100*mde, 100*mdeUnpaired)
	}
}

// TestDuetPairsFoldedNames: a series whose function table holds one
// function under two entries (two raw names that normalize to one, such as
// pkg.F.func1 and pkg.F.func2, or a name seen in two files) must compare
// exactly as the series with the entries merged: the paired windows'
// covariance sums the entries of a window before it multiplies, so
// splitting the values cannot change the variance.
func TestDuetPairsFoldedNames(t *testing.T) {
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, Threshold: 0.02}}
	model := duetModel{pairs: 4, windows: 6, funcs: 8, shared: 0.10, own: 0.01, noise: 0.03, winShared: 0.10}
	findings := 0
	for seed := range uint64(20) {
		b, c := duetDraw(rand.New(rand.NewPCG(seed, 45)), model, 1.15) // +15%: a finding in most seeds, paired or not
		split := func(se *baseline.Series) *baseline.Series {
			out := *se
			out.Functions = append(slices.Clone(se.Functions), baseline.Function{Name: "main.f00", RawName: "main.f00.func2", File: "other.go"})
			extra := int32(len(se.Functions))
			out.Windows = make([]baseline.Window, len(se.Windows))
			for i, w := range se.Windows {
				halve := func(vs []baseline.Value) []baseline.Value {
					var out []baseline.Value
					for _, v := range vs {
						if v.F == 0 {
							out = append(out, baseline.Value{F: 0, V: v.V / 3}, baseline.Value{F: extra, V: v.V - v.V/3})
							continue
						}
						out = append(out, v)
					}
					return out
				}
				w.Self, w.Cum = halve(w.Self), halve(w.Cum)
				out.Windows[i] = w
			}
			return &out
		}
		paired := seed%2 == 0 // the unpaired path sums the same way
		whole := mustCompare(t, duetSnap(paired, b), duetSnap(paired, c), opts)
		folded := mustCompare(t, duetSnap(paired, split(b)), duetSnap(paired, split(c)), opts)
		find := func(r *Result) (Finding, bool) {
			for _, f := range r.Series[0].Findings {
				if f.Function == "main.f00" {
					return f, true
				}
			}
			return Finding{}, false
		}
		w, okW := find(whole)
		f, okF := find(folded)
		if okW != okF {
			t.Fatalf("seed %d: main.f00 is a finding merged (%v) or split (%v), not both", seed, okW, okF)
		}
		if okW {
			findings++
		}
		close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }
		if w.Kind != f.Kind || !close(w.Change, f.Change) || !close(w.P, f.P) || !close(w.ChangeLow, f.ChangeLow) || !close(w.MinDetectable, f.MinDetectable) {
			t.Fatalf("seed %d: merged entries gave %s %+.4f [%+.4f] p=%.3g MDE %.4f; split %s %+.4f [%+.4f] p=%.3g MDE %.4f",
				seed, w.Kind, w.Change, w.ChangeLow, w.P, w.MinDetectable, f.Kind, f.Change, f.ChangeLow, f.P, f.MinDetectable)
		}
	}
	if findings < 10 {
		t.Errorf("main.f00 was a finding in %d of 20 seeds: too few to compare the two forms", findings)
	}
}

// TestDuetWindowsPair: a duet's simultaneous windows saw the same requests,
// so most of their noise (here ±10% a window, against ±3% of each
// process's own) is in both. With the windows on one clock the test pairs
// them and that noise cancels; the same draws with the candidate's windows
// shifted off the base's clock cannot pair. Paired, A/A duets stay within
// the per-run alpha and the stated MDE is at most two thirds of the
// unpaired one, with +8% (above the paired MDE, below the unpaired one)
// found at least 80% of the time.
func TestDuetWindowsPair(t *testing.T) {
	model := duetModel{pairs: 4, windows: 6, funcs: 30, shared: 0.10, own: 0.01, noise: 0.03, winShared: 0.10}
	shifted := model
	shifted.shift = time.Second
	duetContrast(t, 44, model, shifted, 1.08, "with the windows paired", "with the windows shifted off")
}

// TestDuetLockEvents: a mutex profile at fraction 1 records every
// contention, so it carries no sampling noise, and in a duet the matched
// windows cancel what the shared load puts in both. Here the hottest lock
// caller's 50 contentions a window imply a Poisson floor of ±14% a window
// (as on the bank stack, where the order service's lock delay scattered far
// less than its floor), the shared load moves both sides' windows by ±10%
// and each process adds ±3% of its own. Recorded in full, the paired windows'
// own variance stands: A/A duets stay within the per-run alpha, +15% is
// found in at least 80%, and the stated MDE is at most two thirds of the
// same draws' recorded at fraction 5, where the floor is sampling noise,
// which never pairs, and stands.
func TestDuetLockEvents(t *testing.T) {
	model := duetModel{pairs: 4, windows: 5, funcs: 30, shared: 0.10, own: 0.01, noise: 0.03, winShared: 0.10, lockEvents: 200, lockPeriod: 1}
	sampled := model
	sampled.lockPeriod = 5
	duetContrast(t, 46, model, sampled, 1.15, "recorded in full", "sampled at fraction 5")
}

// duetContrast is the check two duet simulations share: 200 A/A duets drawn
// from model stay within the per-run alpha; a change of scale in main.f00 is
// found in at least 80% of them, more often than in the same draws from
// other (the model with the one difference the test is about), and with a
// stated MDE at most two thirds of other's.
func duetContrast(t *testing.T, stream uint64, model, other duetModel, scale float64, what, otherWhat string) {
	t.Helper()
	const seeds = 200
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1, Threshold: 0.02}}
	draw := func(m duetModel, scale float64) func(uint64) (b, c *baseline.Series) {
		return func(seed uint64) (b, c *baseline.Series) {
			return duetDraw(rand.New(rand.NewPCG(seed, stream)), m, scale)
		}
	}
	change := fmt.Sprintf("%+.0f%%", 100*(scale-1))
	aaFalse, _, _ := duetTrials(t, seeds, true, opts, draw(model, 1))
	_, found, mde := duetTrials(t, seeds, true, opts, draw(model, scale))
	_, foundOther, mdeOther := duetTrials(t, seeds, true, opts, draw(other, scale))
	t.Logf("A/A false %d/%d; %s found %d/%d %s (MDE %.1f%%), %d/%d %s (MDE %.1f%%)", aaFalse, seeds, change, found, seeds, what, 100*mde, foundOther, seeds, otherWhat, 100*mdeOther)
	if aaFalse > seeds/20+6 {
		t.Errorf("%d of %d A/A duets failed; want about 5%% at most", aaFalse, seeds)
	}
	if found < seeds*8/10 {
		t.Errorf("%s found in %d of %d duets %s; want at least 80%%", change, found, seeds, what)
	}
	if foundOther >= found {
		t.Errorf("%s found in %d of %d duets %s, %d %s: want more %s", change, foundOther, seeds, otherWhat, found, what, what)
	}
	if mde > mdeOther*2/3 {
		t.Errorf("MDE %.1f%% %s against %.1f%% %s: want at most two thirds", 100*mde, what, 100*mdeOther, otherWhat)
	}
}
