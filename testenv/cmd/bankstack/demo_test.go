package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/services/bank"
)

// TestDemoSummary checks the demo's last lines: the injected run is
// described by its cause, with each profile type's own change beside that
// type's name, and a run that does not name the hot spot fails the demo.
func TestDemoSummary(t *testing.T) {
	hot, _ := bank.HotspotByInject("fraud.rules")
	cause := &diff.Cause{Service: hot.Service, Function: hot.Function, Failing: true, Kind: diff.KindRegression,
		Series: []diff.CauseSeries{
			{Alias: "alloc_objects", Finding: diff.Finding{Function: hot.Function, Change: 0.423, Q: 0.0001}},
			{Alias: "cpu", Finding: diff.Finding{Function: hot.Function, Change: 0.519, Q: 0.0001}},
		}}
	other := &diff.Cause{Service: hot.Service, Function: "regexp.(*Regexp).doExecute", Failing: true, Kind: diff.KindRegression}
	tests := []struct {
		name     string
		aa, ab   *diff.Result
		code     int
		want     []string
		wantNone string
	}{
		{"named", &diff.Result{Verdict: diff.Pass}, &diff.Result{Verdict: diff.Regression, Causes: []*diff.Cause{other, cause}}, 0,
			[]string{"A/A run:        pass", "alloc_objects +42.3%", "cpu +51.9%", hot.Function + " in " + hot.Service}, "expected a regression"},
		{"another cause only", &diff.Result{Verdict: diff.Pass}, &diff.Result{Verdict: diff.Regression, Causes: []*diff.Cause{other}}, 1,
			[]string{"expected a regression naming " + hot.Function}, "as expected:"},
		{"A/A failed", &diff.Result{Verdict: diff.Regression}, &diff.Result{Verdict: diff.Regression, Causes: []*diff.Cause{cause}}, 1,
			[]string{"expected a pass"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := demoSummary(&out, tt.aa, tt.ab, hot); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, out.String())
				}
			}
			if tt.wantNone != "" && strings.Contains(out.String(), tt.wantNone) {
				t.Errorf("summary says %q:\n%s", tt.wantNone, out.String())
			}
		})
	}
}
