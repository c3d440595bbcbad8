package diff

import (
	"fmt"
	"math"
	"testing"

	"github.com/profdiff/profdiff/pkg/baseline"

	"github.com/profdiff/profdiff/bench/gen"
)

// aaCase is one A/A setting: both sides drawn from the same model.
type aaCase struct {
	windows, samples int
	jitter           float64
}

// aaCases span what a CI run gives: 6-8 windows of a few thousand samples,
// with pure multinomial sampling noise, and with 5% log-normal
// window-to-window variation on top (real services are burstier than a
// sampler alone).
var aaCases = []aaCase{
	{6, 2000, 0}, {8, 3000, 0}, {8, 5000, 0}, {6, 3000, 0.05}, {8, 3000, 0.05},
}

// TestAAFalseAlarmRate is the A/A target: with the same build on both sides,
// at most Alpha (5%) of runs may raise any false alarm, regression or
// improvement, and at most 1% of series. Each run gates one series per A/A
// case (five services), each side drawn by multinomial sampling of a fixed
// 200-function distribution (a realistic heavy tail and call tree), over
// many seeds. The nominal alpha is not trusted; this measures. Every
// interval stays at or above -100%.
func TestAAFalseAlarmRate(t *testing.T) {
	runs := 200
	if testing.Short() {
		runs = 60
	}
	var badRuns, badSeries, series, improvements int
	perCase := make([]int, len(aaCases))
	for seed := range runs {
		base, cur := &baseline.Snapshot{}, &baseline.Snapshot{}
		for i, c := range aaCases {
			m := gen.NewModel(uint64(1000+seed*len(aaCases)+i), 200)
			b, cu := pair(uint64(seed*len(aaCases)+i), fmt.Sprintf("svc-%d", i), m, m, c.windows, c.samples, c.jitter)
			base.Put(b)
			cur.Put(cu)
		}
		r := mustCompare(t, base, cur, Options{TopUnchanged: -1})
		bad := false
		for _, sr := range r.Series {
			series++
			for _, f := range sr.Findings {
				if f.ChangeLow < -1 || f.ChangeHigh < f.ChangeLow {
					t.Fatalf("interval [%g, %g] of %s", f.ChangeLow, f.ChangeHigh, f.Function)
				}
			}
			if sr.Verdict == Regression || len(findingsOf(&Result{Series: []*SeriesResult{sr}}, KindImprovement)) > 0 {
				badSeries++
				bad = true
				var i int
				fmt.Sscanf(sr.Service, "svc-%d", &i)
				perCase[i]++
			}
		}
		improvements += r.Summary.Improvements
		if bad {
			badRuns++
		}
	}
	for i, c := range aaCases {
		t.Logf("A/A %d windows × %d samples, jitter %.2f: %d/%d series with a false finding", c.windows, c.samples, c.jitter, perCase[i], runs)
	}
	t.Logf("A/A overall: %d/%d runs (target ≤ 5%%), %d/%d series (target ≤ 1%%) with a false finding; %d false improvements", badRuns, runs, badSeries, series, improvements)
	// The 5% target with room for chance: the 97.5% point of
	// Binomial(runs, 0.05) is about runs/20 + 2·sqrt(runs·0.0475).
	if limit := float64(runs)/20 + 2*math.Sqrt(float64(runs)*0.0475); float64(badRuns) > limit {
		t.Errorf("%d of %d A/A runs raised a false finding; want at most %.0f (5%% per run)", badRuns, runs, limit)
	}
	if float64(badSeries) > 0.01*float64(series)+2*math.Sqrt(float64(series)*0.0099) {
		t.Errorf("%d of %d A/A series raised a false finding; want about 1%% at most", badSeries, series)
	}
}

// TestPower is the A/A test's companion: a change the gate promises to catch
// is caught. Samples are the budget (docs/own-services.md, "How long to drive
// load"): +50% of a 10% function is plain at a few thousand samples a window,
// while +25% of a 3% function is at the edge of what the test can see.
func TestPower(t *testing.T) {
	tests := []struct {
		share, factor    float64
		windows, samples int
		jitter           float64
		minPower         float64
	}{
		{0.10, 1.5, 8, 3000, 0, 1.0},
		{0.10, 1.5, 6, 2000, 0.05, 0.95},
		{0.05, 1.4, 8, 3000, 0, 0.95},
		// Logged, not asserted: +25% of a 3% function, found in about two
		// runs of three at 8 windows of 3,000 samples and almost never
		// when a short run gives the service 3,000 samples in all. They
		// document the limit the minimum detectable change reports.
		{0.03, 1.25, 8, 3000, 0, 0},
		{0.03, 1.25, 6, 500, 0, 0},
	}
	seeds := 100
	if testing.Short() {
		seeds = 40
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+.0f%% of a %.0f%% function, %d×%d", 100*(tt.factor-1), 100*tt.share, tt.windows, tt.samples), func(t *testing.T) {
			found := 0
			for seed := range seeds {
				m := gen.NewModel(uint64(5000+seed), 200)
				hot := m.Closest(tt.share)
				name := m.Funcs[hot].Name
				b, c := pair(uint64(seed), svc, m, m.Scale(hot, tt.factor), tt.windows, tt.samples, tt.jitter)
				r := mustCompare(t, snap(b), snap(c), Options{TopUnchanged: -1})
				for _, f := range r.Series[0].Findings {
					if f.Kind == KindRegression && f.Measure == Self && (f.Function == name || f.RawName == name) {
						found++
						break
					}
				}
			}
			power := float64(found) / float64(seeds)
			t.Logf("power %.2f (%d/%d)", power, found, seeds)
			if power < tt.minPower {
				t.Errorf("power %.2f, want ≥ %.2f", power, tt.minPower)
			}
		})
	}
}
