package calibration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/testenv"
)

// TestAccounting checks how a run's result is turned into
// trials and false alarms, without a stack.
func TestAccounting(t *testing.T) {
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
	r := &Run{Kind: "ab", Magnitude: 1.5}
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
	aa := &Run{Kind: "aa"}
	aa.analyze(&diff.Result{Series: res.Series[4:]}, hots, 0)
	c := &Result{Setup: Setup{Hotspots: []string{"fraud.rules", "notification.template"}, Magnitudes: []float64{1.5}}, Runs: []*Run{r, aa}}
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

	// An A/A run whose load failed (2% of its requests) is a failed run,
	// not a trial, whatever its profiles showed; 1% is still a trial.
	for _, tt := range []struct {
		errors       int
		aa, failed   int
		aaFalseAlarm int
	}{{20, 2, 0, 2}, {21, 1, 1, 1}} {
		bad := &Run{Kind: "aa", Requests: 2000, Errors: tt.errors}
		bad.analyze(&diff.Result{Series: res.Series[4:]}, hots, 0)
		c := &Result{Setup: c.Setup, Runs: []*Run{r, aa, bad}}
		if s := c.Summarize(); s.AARuns != tt.aa || s.FailedRuns != tt.failed || s.AARunsFalseAlarm != tt.aaFalseAlarm {
			t.Errorf("%d of 2000 requests failed: A/A runs %d, failed %d, A/A with a false alarm %d; want %d, %d, %d",
				tt.errors, s.AARuns, s.FailedRuns, s.AARunsFalseAlarm, tt.aa, tt.failed, tt.aaFalseAlarm)
		}
	}
}

// TestCalibrateOptionErrors: options that cannot make a calibration are
// refused before anything is built or started.
func TestCalibrateOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown hot spot", Options{Hotspots: []string{"fraud.nope"}}, `unknown hot spot "fraud.nope"`},
		{"two in one service", Options{Hotspots: []string{"fraud.rules", "fraud.score"}}, "both in bank-fraud-service"},
		{"magnitude 1", Options{Magnitudes: []float64{1}}, "magnitude 1"},
		{"negative runs", Options{AA: -1}, "negative run count"},
		{"bad rules", Options{Rules: "defaults:\n  normalization: odds\n"}, "odds"},
		{"duet on docker", Options{DuetPairs: 4, Stack: testenv.Options{Backend: testenv.Docker}}, "local backend only"},
		{"duet of merged runs", Options{DuetPairs: 4, GateRuns: 2}, "leave the gate runs at 1"},
		{"bad duet mode", Options{DuetPairs: 4, DuetMode: "sideways"}, `duet mode "sideways"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Calibrate(t.Context(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
