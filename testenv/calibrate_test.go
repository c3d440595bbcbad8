package testenv

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/services/bank"
)

// TestCalibrateShort is the calibration in miniature: a baseline, two A/A
// runs and two runs with a CPU, an allocation and a lock hot spot injected at
// +50%. It guards the range docs/verdict-quality.md measured: an A/A run
// with false regressions in more than one series, or a +50% run naming
// fewer than two of the three hot spots, means the gate (or the stack under
// it) changed for the worse. The full calibration is `bankstack calibrate`.
func TestCalibrateShort(t *testing.T) {
	skipShort(t)
	if os.Getenv("PROFDIFF_CALIBRATE_TEST") == "" {
		// The end-to-end tests (e2e_test.go) already gate an A/A run and
		// injected regressions; this adds five more stack runs (~5 min).
		t.Skip("set PROFDIFF_CALIBRATE_TEST=1 to run the calibration in miniature (about 5 minutes)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := Calibrate(ctx, CalibrateOptions{
		AA: 2, Runs: 2, Magnitudes: []float64{1.5},
		Load:     LoadOptions{Duration: 50 * time.Second},
		Progress: testWriter{t},
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
	aa, ab := 0, 0
	for _, r := range c.Runs {
		if r.Err != "" {
			t.Errorf("run %d (%s): %s", r.Index, r.label(), r.Err)
			continue
		}
		switch r.Kind {
		case "aa":
			aa++
			var bad []string
			for _, s := range r.Series {
				if len(s.Regressions) > 0 {
					bad = append(bad, s.Service+" "+s.Alias+": "+shortFunc(s.Regressions[0].Function))
				}
			}
			if len(bad) > 1 {
				t.Errorf("A/A run %d: false regressions in %d series (at most 1 expected): %s", r.Index, len(bad), strings.Join(bad, "; "))
			}
		case "ab":
			ab++
			found := 0
			for _, tr := range r.Trials {
				if tr.Detected || tr.DetectedAlt {
					found++
				} else {
					t.Logf("+50%% run %d: %s missed (change %+.0f%%, stated MDE %.0f%%)", r.Index, tr.Inject, 100*nz(tr.Change), 100*nz(tr.MinDetectable))
				}
			}
			if found < 2 {
				t.Errorf("+50%% run %d: %d of %d hot spots found, want at least 2", r.Index, found, len(r.Trials))
			}
		}
	}
	if aa != 2 || ab != 2 {
		t.Errorf("%d A/A and %d A/B runs completed, want 2 and 2", aa, ab)
	}
}

func nz(f Float) float64 {
	if math.IsNaN(float64(f)) {
		return 0
	}
	return float64(f)
}

// TestCalibrationAccounting checks how a run's result is turned into
// trials and false alarms, without a stack.
func TestCalibrationAccounting(t *testing.T) {
	fraud, _ := bank.HotspotByInject("fraud.rules")
	notif, _ := bank.HotspotByInject("notification.template")
	hots := []bank.Hotspot{fraud, notif}
	// In the fraud service's CPU series, handler → matchFraudRules →
	// regexp.compile; unrelated is on its own stack.
	cur := &baseline.Series{
		Functions: []baseline.Function{{Name: "handler"}, {Name: fraud.Function}, {Name: "regexp.compile"}, {Name: "unrelated"}},
		Stacks:    []baseline.Stack{{Frames: []int32{0, 1, 2}, Value: 10}, {Frames: []int32{0, 3}, Value: 5}},
	}
	reg := func(fn string, m diff.Measure, change float64) diff.Finding {
		return diff.Finding{Function: fn, Measure: m, Kind: diff.KindRegression, Change: change, MinDetectable: 0.2}
	}
	res := &diff.Result{Series: []*diff.SeriesResult{
		{Service: fraud.Service, Alias: "cpu", Verdict: diff.Regression, CurrentWindows: 12, CurrentSamples: 1200, MinDetectable: 0.15, Cur: cur,
			Findings: []diff.Finding{reg(fraud.Function, diff.Cumulative, 0.4), reg("regexp.compile", diff.Self, 0.5), reg("unrelated", diff.Self, 0.3)}},
		{Service: fraud.Service, Alias: "alloc_space", Verdict: diff.Regression, Findings: []diff.Finding{reg(fraud.Function, diff.Cumulative, 0.3)}},
		{Service: notif.Service, Alias: "alloc_space", Verdict: diff.Pass,
			Findings: []diff.Finding{{Function: notif.Function, Measure: diff.Cumulative, Kind: diff.KindUnchanged, Change: 0.05, MinDetectable: 0.3}}},
		{Service: notif.Service, Alias: "alloc_objects", Verdict: diff.Regression, Findings: []diff.Finding{reg(notif.Function, diff.Cumulative, 0.2)}},
		{Service: "bank-loan-service", Alias: "cpu", Verdict: diff.Regression, Findings: []diff.Finding{reg("x", diff.Self, 0.2)}},
	}}
	r := &CalRun{Kind: "ab", Magnitude: 1.5}
	r.analyze(res, hots, 1.5)
	if len(r.Trials) != 2 {
		t.Fatalf("%d trials, want 2", len(r.Trials))
	}
	f, n := r.Trials[0], r.Trials[1]
	if !f.Detected || float64(f.Change) != 0.4 || len(f.Wrong) != 1 || f.Wrong[0] != "unrelated" || len(f.Related) != 1 {
		t.Errorf("fraud trial: %+v", f)
	}
	if n.Detected || !n.DetectedAlt || float64(n.Change) != 0.05 || float64(n.MinDetectable) != 0.3 {
		t.Errorf("notification trial: %+v", n)
	}
	aa := &CalRun{Kind: "aa"}
	aa.analyze(&diff.Result{Series: res.Series[4:]}, hots, 0)
	c := &Calibration{Setup: CalibrationSetup{Hotspots: []string{"fraud.rules", "notification.template"}, Magnitudes: []float64{1.5}}, Runs: []*CalRun{r, aa}}
	s := c.Summarize()
	if s.AARuns != 1 || s.AARunsFalseAlarm != 1 {
		t.Errorf("A/A runs %d, with false alarm %d; want 1, 1", s.AARuns, s.AARunsFalseAlarm)
	}
	for _, ty := range s.ByType {
		switch ty.Profile {
		case "cpu":
			if ty.BystanderSeries != 1 || ty.BystanderFalse != 1 || ty.TargetSeries != 1 || ty.TargetWrong != 1 || ty.TargetOtherStrict != 1 || ty.AASeriesFalse != 1 {
				t.Errorf("cpu: %+v", ty)
			}
		case "alloc_space":
			if ty.SideSeries != 1 || ty.SideRegressed != 1 || ty.TargetSeries != 1 {
				t.Errorf("alloc_space: %+v", ty)
			}
		}
	}
	// Per hot spot: its +50% row, then its A/A row (factor 1), whose
	// trials come from the A/A run, where the hot spot's series here has
	// no finding of its function.
	if len(s.Detection) != 4 {
		t.Fatalf("%d detection rows, want 4: %+v", len(s.Detection), s.Detection)
	}
	d := s.Detection
	if d[0].Magnitude != 1.5 || d[0].Detected != 1 || d[2].Magnitude != 1.5 || d[2].Either != 1 || d[2].Detected != 0 {
		t.Errorf("+50%% rows: %+v / %+v", d[0], d[2])
	}
	if d[1].Magnitude != 1 || d[1].Trials != 1 || d[1].Detected != 0 || d[3].Magnitude != 1 || d[3].Trials != 1 {
		t.Errorf("A/A rows: %+v / %+v", d[1], d[3])
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("JSON: %v", err)
	}
	var b strings.Builder
	c.WriteTable(&b)
	if !strings.Contains(b.String(), "| fraud.rules | cpu (-) | +50% | 1 | 1/1 (100%)") || !strings.Contains(b.String(), "| fraud.rules | cpu (-) | none (A/A) | 1 | 0/1 (0%)") {
		t.Errorf("table:\n%s", b.String())
	}
}
