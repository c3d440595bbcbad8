package testenv_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/testenv"
	"github.com/profdiff/profdiff/testenv/calibration"
)

// TestVerdictQuality is the calibration in miniature, and CI runs it: two
// A/A runs and two runs with a CPU, an allocation and a lock hot spot each
// injected at +50%, gated exactly as `go test ./testenv/...` gates, against
// the end-to-end tests' baseline. Four runs cannot measure a rate; each
// check is one that the measured behaviour (docs/verdict-quality.md) passes
// almost always and a gate gone bad fails:
//
//   - A/A: at most one of the two A/A runs, and at most two of all A/A
//     series trials (the A/A runs' series and the A/B runs' bystanders),
//     report a false regression. Measured: no false regression in 20 A/A
//     runs (900 A/A and bystander series) with uniform arrivals; with the
//     Poisson arrivals and the run-drift floors of the shipped gate, none
//     in 10 (replayed).
//   - +50%: every A/B run fails the gate, and the CPU hot spot
//     (matchFraudRules) is named in a profile of its service in both
//     (measured: 10 of 10, by its allocations).
//   - +50%, measured rather than named, because under this test's
//     conditions (the e2e tests' baseline, recorded while the machine is
//     busier than in a calibration) whether a change of about the stated
//     MDE is named is a coin toss that the full calibration measures: the
//     CPU hot spot's change in its CPU profile is at least +20% in both
//     runs (calibration with Poisson arrivals: +61% to +75%; CI: +32%,
//     +44%; with the old evenly spaced arrivals, whose CPU profiles aliased
//     with the kernel tick, −19% to +63%), and the lock hot spot's in its
//     lock delay at least +25% (calibration: +62% to +75%; CI: +49%,
//     +52%).
//   - The allocation hot spot (renderNotification) is named in an
//     allocation profile in at least one of the two runs (measured: 10 of
//     10), and its measured change is the injected one, +30% to +70% in
//     alloc_space in both runs (measured: +45% to +53%).
//
// The full calibration is `bankstack calibrate` (about 70 minutes).
func TestVerdictQuality(t *testing.T) {
	testenv.SkipShort(t)
	dir := testenv.SharedBaseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c, err := calibration.Calibrate(ctx, calibration.Options{
		AA: 2, Runs: 2, Magnitudes: []float64{1.5},
		Baseline: dir, Load: testenv.E2ELoad, Progress: testenv.LogWriter(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c.WriteTable(&b)
	t.Logf("calibration:\n%s", b.String())
	if c.Stopped != "" {
		t.Fatalf("calibration stopped early: %s", c.Stopped)
	}
	s := c.Summary
	if s.FailedRuns > 0 || s.AARuns != 2 || s.ABRuns["1.5"] != 2 {
		t.Fatalf("%d A/A and %d +50%% runs completed, %d failed; want 2, 2, 0", s.AARuns, s.ABRuns["1.5"], s.FailedRuns)
	}
	if s.AARunsFalseAlarm > 1 {
		t.Errorf("A/A: %d of %d runs reported a false regression, want at most 1", s.AARunsFalseAlarm, s.AARuns)
	}
	// False discoveries are controlled over each run's tests: in an A/B
	// run the true discoveries let Benjamini–Hochberg pass a few
	// bystanders (its promise is a false share of discoveries, not none),
	// so the bar is on the A/A runs' series; bystanders are logged.
	var falseSeries, aaSeries, bystanders, bystanderSeries int
	for _, ty := range s.ByType {
		falseSeries += ty.AASeriesFalse
		aaSeries += ty.AASeries
		bystanders += ty.BystanderFalse
		bystanderSeries += ty.BystanderSeries
	}
	t.Logf("bystander series of the A/B runs with a false regression: %d of %d", bystanders, bystanderSeries)
	if falseSeries > 2 {
		t.Errorf("A/A: %d of %d A/A series trials reported a false regression, want at most 2", falseSeries, aaSeries)
	}
	allocNamed := 0
	for _, r := range c.Runs {
		if r.Kind != "ab" {
			continue
		}
		if r.Verdict != string(diff.Regression) {
			t.Errorf("+50%% run %d: verdict %s, want regression", r.Index, r.Verdict)
		}
		for _, tr := range r.Trials {
			where := namedIn(r, tr)
			t.Logf("+50%% run %d: %s: change %+.0f%% (stated MDE %.0f%%), named in %q", r.Index, tr.Inject, 100*nz(tr.Change), 100*nz(tr.MinDetectable), where)
			switch tr.Inject {
			case "fraud.rules":
				if where == "" {
					t.Errorf("+50%% run %d: %s not named in any profile of %s", r.Index, tr.Function, tr.Service)
				}
				if ch := nz(tr.Change); ch < 0.2 {
					t.Errorf("+50%% run %d: %s measured %+.0f%% in its CPU profile, want at least +20%%", r.Index, tr.Function, 100*ch)
				}
			case "order.batch":
				if ch := nz(tr.Change); ch < 0.25 {
					t.Errorf("+50%% run %d: %s measured %+.0f%% in its lock delay, want at least +25%%", r.Index, tr.Function, 100*ch)
				}
			case "notification.template":
				if ch := float64(tr.Change); !(ch >= 0.3 && ch <= 0.7) {
					t.Errorf("+50%% run %d: %s measured %+.0f%% in %s, want +30%% to +70%%", r.Index, tr.Function, 100*ch, tr.Profile)
				}
				if strings.HasPrefix(where, "alloc_") {
					allocNamed++
				}
			}
		}
	}
	// The full calibration named the allocation hot spot at +50% in 10 of
	// 10 runs (docs/verdict-quality.md); missing it in both runs here means
	// the gate lost that.
	if allocNamed == 0 {
		t.Errorf("+50%%: notification.template not named in an allocation profile in any of %d runs", s.ABRuns["1.5"])
	}
}

// namedIn returns the profile type in which a run names the trial's hot
// spot function as a regression in its own service, or "".
func namedIn(r *calibration.Run, tr *calibration.HotspotTrial) string {
	for _, s := range r.Series {
		if s.Service != tr.Service {
			continue
		}
		for _, f := range s.Regressions {
			if f.Function == tr.Function {
				return s.Alias
			}
		}
	}
	return ""
}

func nz(f calibration.Float) float64 {
	if math.IsNaN(float64(f)) {
		return 0
	}
	return float64(f)
}
