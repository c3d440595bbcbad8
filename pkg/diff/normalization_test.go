package diff

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// lockSeries is a mutex-delay series where one lock holds nearly all the
// delay, as a coarse lock does: its share is ~99% whatever its size.
func lockSeries(delays []int64) *baseline.Series {
	ids, _ := profiletype.Parse("mutex_delay")
	se := baseline.NewSeries("bank-order-service", ids[0])
	se.Functions = []baseline.Function{{Name: "main.processOrders"}, {Name: "main.other"}}
	start := testNow
	for i, d := range delays {
		other := int64(10_000_000) + int64(i%3)*1_000_000
		se.Windows = append(se.Windows, baseline.Window{
			Start: start.Add(time.Duration(i) * 10 * time.Second),
			End:   start.Add(time.Duration(i+1) * 10 * time.Second),
			Total: d + other,
			Self:  baseline.Values{{F: 0, V: d}, {F: 1, V: other}},
			Cum:   baseline.Values{{F: 0, V: d}, {F: 1, V: other}},
		})
	}
	return se
}

func TestTypeNormalizationRateFindsDominantLock(t *testing.T) {
	base := lockSeries([]int64{2.0e9, 2.1e9, 1.9e9, 2.05e9, 1.95e9, 2.0e9})
	cur := lockSeries([]int64{3.0e9, 3.1e9, 2.9e9, 3.05e9, 2.95e9, 3.0e9}) // +50% delay per second
	ids, _ := profiletype.Parse("mutex_delay")
	tests := []struct {
		name    string
		opts    Options
		want    Verdict
		wantNrm string
	}{
		{"share cannot see it", Options{}, Pass, "share"},
		{"rate for lock types finds it", Options{TypeNormalization: map[string]Normalization{ids[0].String(): Rate}}, Regression, "rate"},
		{"a policy's rate wins over the type's share", Options{
			TypeNormalization: map[string]Normalization{ids[0].String(): Share},
			Policy:            fakePolicy{series: func(string, string) Params { return Params{Normalization: Rate} }},
		}, Regression, "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompare(t, snap(base), snap(cur), tt.opts)
			sr := r.Series[0]
			if sr.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s", sr.Verdict, sr.Reason, tt.want)
			}
			if sr.Normalization != tt.wantNrm {
				t.Errorf("series normalization %q, want %q", sr.Normalization, tt.wantNrm)
			}
			if tt.want == Regression {
				f := findingsOf(r, KindRegression)
				if len(f) == 0 || f[0].Function != "main.processOrders" {
					t.Fatalf("regression findings %+v, want main.processOrders", f)
				}
				if f[0].Change < 0.4 || f[0].Change > 0.6 {
					t.Errorf("change %.2f, want about +0.50", f[0].Change)
				}
				if r.Normalization != "mixed" {
					t.Errorf("run normalization %q, want mixed", r.Normalization)
				}
			}
		})
	}
}

// TestRestNormalization is the stack's CPU case as rest normalization sees
// it: every process's level drifts by ±10% from one start to the next, and
// function 0 holds about a quarter of the profile. Against the rest of the
// profile the drift cancels, as it does for shares, but a +50% function
// still reads +50%, where its share rises by only a third; rates carry the
// drift in full and must be judged with it.
func TestRestNormalization(t *testing.T) {
	const seeds = 100
	type tally struct {
		aaFalse, found int
		changes        []float64
	}
	run := func(norm Normalization) tally {
		var tl tally
		opts := Options{Normalization: norm, TopUnchanged: 100, Params: Params{MinSamples: 1}}
		for seed := range uint64(seeds) {
			rng := rand.New(rand.NewPCG(seed, 23))
			base := commonDriftSeries(rng, 4, 12, 30, 0.10, 1)
			aa := commonDriftSeries(rng, 1, 12, 30, 0.10, 1)
			ab := commonDriftSeries(rng, 1, 12, 30, 0.10, 1.5)
			if r := mustCompare(t, snap(base), snap(aa), opts); r.Verdict != Pass {
				tl.aaFalse++
			}
			r := mustCompare(t, snap(base), snap(ab), opts)
			if named(r.Series[0], "main.f00") {
				tl.found++
			}
			for _, f := range r.Series[0].Findings {
				if f.Function == "main.f00" && f.Measure == Self {
					tl.changes = append(tl.changes, f.Change)
				}
			}
			if uint64(len(tl.changes)) != seed+1 {
				t.Fatalf("%s seed %d: no finding for main.f00", norm, seed)
			}
		}
		return tl
	}
	res := map[Normalization]tally{}
	for _, norm := range []Normalization{Rest, Share, Rate} {
		tl := run(norm)
		res[norm] = tl
		t.Logf("%-5s A/A false regressions %d/%d, +50%% found %d/%d, median change %+.0f%%", norm, tl.aaFalse, seeds, tl.found, seeds, 100*stat.Quantile(0.5, stat.Empirical, sorted(tl.changes), nil))
	}
	rest := res[Rest]
	if med := stat.Quantile(0.5, stat.Empirical, sorted(rest.changes), nil); med < 0.45 || med > 0.55 {
		t.Errorf("rest: median change %+.0f%%, want about +50%%", 100*med)
	}
	if med := stat.Quantile(0.5, stat.Empirical, sorted(res[Share].changes), nil); med > 0.40 {
		t.Errorf("share: median change %+.0f%%; the case no longer shows a diluted share (want about +33%%)", 100*med)
	}
	if rest.aaFalse > 3 {
		t.Errorf("rest: %d of %d A/A comparisons failed; want at most 3", rest.aaFalse, seeds)
	}
	if rest.found < seeds*95/100 {
		t.Errorf("rest: +50%% found in %d of %d; want at least 95%%", rest.found, seeds)
	}
	if rate := res[Rate]; rate.found >= rest.found {
		t.Errorf("rate found +50%% in %d of %d, rest in %d; the case no longer shows the drift rates carry", rate.found, seeds, rest.found)
	}
}

func sorted(xs []float64) []float64 {
	out := append([]float64(nil), xs...)
	sort.Float64s(out)
	return out
}

// TestRestRootIsFinite: a root of every stack is its whole window and has
// no rest to be weighed against; rest normalization caps its ratio instead
// of dividing by zero, and a root that did not change is not a finding.
func TestRestRootIsFinite(t *testing.T) {
	mk := func(leaf0 []int64) *baseline.Series {
		ids, _ := profiletype.Parse("cpu")
		se := baseline.NewSeries("bank-fraud-service", ids[0])
		se.Functions = []baseline.Function{{Name: "main.main"}, {Name: "main.a"}, {Name: "main.b"}}
		for i, a := range leaf0 {
			b := int64(600e6) + int64(i%3)*10e6
			se.Windows = append(se.Windows, baseline.Window{
				Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
				Total: a + b, Samples: (a + b) / 1e6,
				Self: baseline.Values{{F: 1, V: a}, {F: 2, V: b}},
				Cum:  baseline.Values{{F: 0, V: a + b}, {F: 1, V: a}, {F: 2, V: b}},
			})
		}
		return se
	}
	base := mk([]int64{400e6, 410e6, 390e6, 400e6, 405e6, 395e6})
	cur := mk([]int64{600e6, 610e6, 590e6, 600e6, 605e6, 595e6})
	r := mustCompare(t, snap(base), snap(cur), Options{Normalization: Rest, TopUnchanged: 10})
	sr := r.Series[0]
	var sawRoot bool
	for _, f := range sr.Findings {
		for _, v := range []float64{f.Baseline, f.Current, f.Change, f.P, f.Q} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s %s: non-finite value in %+v", f.Function, f.Measure, f)
			}
		}
		if f.Function == "main.main" {
			sawRoot = true
			if f.Kind != KindUnchanged {
				t.Errorf("root: %s, want unchanged", f.Kind)
			}
		}
	}
	if !sawRoot {
		t.Errorf("root not among the findings %+v", sr.Findings)
	}
	if !named(sr, "main.a") {
		t.Errorf("main.a (+50%%) not a regression: %+v", sr.Findings)
	}
}
