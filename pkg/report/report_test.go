package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is a hand-made result with one of everything a renderer must
// show: a regression explained in a caller, a new hot path, an ignored
// finding, an improvement, an inconclusive series, a plain pass, a series
// without a baseline, and a warning. It is built by hand, not by Compare,
// so statistical tuning does not churn the golden files.
func fixture() *diff.Result {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &diff.Result{
		SchemaVersion: diff.ResultSchemaVersion,
		Verdict:       diff.Regression,
		Normalization: "share",
		Compared:      at,
		Warnings:      []string{`ignore rule ignore[1] ("old template cache", expired 2026-01-31) no longer applies`},
		Summary:       diff.Summary{Series: 5, Regressions: 2, NewHotPaths: 1, Improvements: 1, Inconclusive: 1, Ignored: 1},
		Series: []*diff.SeriesResult{
			{
				Service: "bank-fraud-service", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Alias: "cpu",
				Verdict: diff.Regression, BaselineWindows: 8, CurrentWindows: 8, BaselineSamples: 24000, CurrentSamples: 24012,
				Unit: "nanoseconds", Tested: 41, MinDetectable: 0.112,
				Findings: []diff.Finding{
					{Function: "github.com/profdiff/bank/internal/fraud.(*Engine).matchRules", File: "fraud/engine.go", Line: 88, Measure: diff.Self, Kind: diff.KindRegression,
						Baseline: 0.0498, Current: 0.0688, Change: 0.3815, ChangeLow: 0.291, ChangeHigh: 0.472, P: 2e-7, Q: 8e-6, MinDetectable: 0.14},
					{Function: "github.com/profdiff/bank/internal/fraud.(*Engine).Score", Measure: diff.Cumulative, Kind: diff.KindRegression,
						Baseline: 0.151, Current: 0.170, Change: 0.1258, ChangeLow: 0.07, ChangeHigh: 0.18, P: 0.0004, Q: 0.0081, MinDetectable: 0.1,
						ExplainedBy: "github.com/profdiff/bank/internal/fraud.(*Engine).matchRules"},
					{Function: "regexp.Compile", Measure: diff.Self, Kind: diff.KindNewHotPath,
						Baseline: 0, Current: 0.021, Change: math.Inf(1), ChangeLow: math.Inf(1), ChangeHigh: math.Inf(1), P: 1e-9, Q: 4e-8},
					{Function: "encoding/json.Marshal", Measure: diff.Self, Kind: diff.KindImprovement,
						Baseline: 0.08, Current: 0.05, Change: -0.375, ChangeLow: -0.45, ChangeHigh: -0.3, P: 1e-6, Q: 2e-5, MinDetectable: 0.1},
					{Function: "runtime.mallocgc", Measure: diff.Self, Kind: diff.KindUnchanged,
						Baseline: 0.12, Current: 0.121, Change: 0.0083, ChangeLow: -0.04, ChangeHigh: 0.06, P: 0.41, Q: 0.93, MinDetectable: 0.1},
				},
			},
			{
				Service: "bank-notification-service", ProfileType: "memory:alloc_space:bytes:space:bytes", Alias: "alloc_space",
				Verdict: diff.Pass, BaselineWindows: 6, CurrentWindows: 6, BaselineSamples: 0, CurrentSamples: 0, Unit: "bytes", Tested: 17, MinDetectable: 0.23,
				Findings: []diff.Finding{
					{Function: "text/template.(*state).walk", Measure: diff.Self, Kind: diff.KindIgnored, Rule: "ignore[0]: template rewrite lands next sprint (PAY-123)",
						Baseline: 0.2, Current: 0.26, Change: 0.3, ChangeLow: 0.2, ChangeHigh: 0.4, P: 1e-5, Q: 1e-4, MinDetectable: 0.12},
				},
			},
			{
				Service: "bank-order-service", ProfileType: "mutex:delay:nanoseconds:contentions:count", Alias: "mutex_delay",
				Verdict: diff.Inconclusive, Reason: "no data in the current run for bank-order-service mutex_delay (the baseline has 8 windows); missing data is never a pass",
				BaselineWindows: 8, Unit: "nanoseconds", Findings: []diff.Finding{},
			},
			{
				Service: "bank-loan-service", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Alias: "cpu",
				Verdict: diff.Pass, BaselineWindows: 8, CurrentWindows: 8, BaselineSamples: 16000, CurrentSamples: 15890, Unit: "nanoseconds", Tested: 29, MinDetectable: 0.127,
				Findings: []diff.Finding{},
			},
			{
				Service: "bank-ledger-service", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Alias: "cpu",
				Verdict: diff.Pass, NoBaseline: true, Reason: "not in the baseline, so not compared; accept a new baseline to gate it",
				CurrentWindows: 8, CurrentSamples: 9000, Unit: "nanoseconds", Findings: []diff.Finding{},
			},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./pkg/report -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, f := range []string{"text", "markdown", "json", "junit"} {
		t.Run(f, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Builtin().Render(&buf, f, fixture()); err != nil {
				t.Fatal(err)
			}
			golden(t, "fixture."+f+".golden", buf.Bytes())
		})
	}
}

func TestOutputsParse(t *testing.T) {
	var buf bytes.Buffer
	if err := Builtin().Render(&buf, "json", fixture()); err != nil {
		t.Fatal(err)
	}
	var back diff.Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if back.SchemaVersion != diff.ResultSchemaVersion || len(back.Series) != 5 || !math.IsInf(back.Series[0].Findings[2].Change, 1) {
		t.Errorf("JSON round trip lost data: %+v", back.Series[0].Findings[2])
	}
	buf.Reset()
	if err := Builtin().Render(&buf, "junit", fixture()); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit is not XML: %v", err)
	}
	// One case per cause (2 failing, 1 ignored: skipped, 1 improvement)
	// and one per series without a cause (inconclusive: an error, a pass,
	// no baseline: skipped).
	if suites.Tests != 7 || suites.Failures != 2 || suites.Errors != 1 || suites.Skipped != 2 {
		t.Errorf("JUnit counts tests %d failures %d errors %d skipped %d", suites.Tests, suites.Failures, suites.Errors, suites.Skipped)
	}
	msg := suites.Suites[0].Cases[0].Failure.Message
	if !strings.Contains(msg, "matchRules — cpu self +38.1% [+29.1%, +47.2%]") || !strings.Contains(msg, "raises 1 caller") {
		t.Errorf("failure message does not give the cause: %q", msg)
	}
}

// TestFormats: a program's formats are the ones it chose; Add and With
// return new sets and leave the old one alone; misuse panics.
func TestFormats(t *testing.T) {
	builtin := Builtin()
	if got := strings.Join(builtin.Names(), ","); got != "json,junit,markdown,text" {
		t.Errorf("Builtin: %s", got)
	}
	if err := builtin.Render(&bytes.Buffer{}, "nope", fixture()); err == nil || !strings.Contains(err.Error(), "known: json, junit, markdown, text") {
		t.Errorf("unknown format error: %v", err)
	}
	upper := func(w io.Writer, r *diff.Result) error {
		_, err := io.WriteString(w, strings.ToUpper(string(r.Verdict)))
		return err
	}
	more := builtin.Add(Format{Name: "test-upper", Description: "for the test", Render: upper})
	var buf bytes.Buffer
	if err := more.Render(&buf, "test-upper", fixture()); err != nil || buf.String() != "REGRESSION" {
		t.Errorf("added format: %q %v", buf.String(), err)
	}
	if builtin.Known("test-upper") || !more.Known("test-upper") || more.Describe("test-upper") != "for the test" {
		t.Error("Add changed the set it was called on, or lost the format")
	}
	swapped := builtin.With("text", upper)
	buf.Reset()
	if err := swapped.Render(&buf, "text", fixture()); err != nil || buf.String() != "REGRESSION" {
		t.Errorf("With: text renders %q, %v", buf.String(), err)
	}
	if swapped.Describe("text") != builtin.Describe("text") || builtin.Describe("text") == "" {
		t.Error("With lost the description")
	}
	buf.Reset()
	if err := builtin.Render(&buf, "text", fixture()); err != nil || buf.String() == "REGRESSION" {
		t.Error("With changed the set it was called on")
	}
	for name, misuse := range map[string]func(){
		"Add of a taken name":  func() { builtin.Add(Format{Name: "text", Render: Text}) },
		"Add without renderer": func() { builtin.Add(Format{Name: "x"}) },
		"With of no format":    func() { builtin.With("nope", Text) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			misuse()
		}()
	}
}

func TestWording(t *testing.T) {
	tests := []struct{ got, want string }{
		{Change(0.342), "+34.2%"},
		{Change(-0.05), "-5.0%"},
		{Change(math.Inf(1)), "new"},
		{Change(12.5), "+1250%"},
		{PValue("p", 0.0004), "p<0.001"},
		{PValue("q", 0.0123), "q=0.012"},
		{Percent(0.0512), "5.12%"},
		{Percent(0.5), "50.0%"},
		{Value(0.35e9, "rate", "nanoseconds"), "0.35 cores"},
		{Value(2.5e6, "rate", "bytes"), "2.5 MB/s"},
		{Value(12, "rate", "count"), "12/s"},
		{ShortName("github.com/x/fraud.(*E).m"), "fraud.(*E).m"},
		{ShortName("net/http.HandlerFunc.ServeHTTP"), "http.HandlerFunc.ServeHTTP"},
		{ShortName("main.main"), "main.main"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestWorst: the headline is the failing cause that credibly added the
// most, the program's own code first.
func TestWorst(t *testing.T) {
	const match = "example.com/fraud.match"
	reg := func(fn string, m diff.Measure, change, low float64, by string) diff.Finding {
		return diff.Finding{Function: fn, Measure: m, Kind: diff.KindRegression, Baseline: 0.1, Current: 0.1 * (1 + change), Change: change,
			ChangeLow: low, ChangeHigh: 2*change - low, ExplainedBy: by}
	}
	newHot := diff.Finding{Function: "example.com/rules.compile", Measure: diff.Self, Kind: diff.KindNewHotPath,
		Current: 0.02, Change: math.Inf(1), ChangeLow: math.Inf(1), ChangeHigh: math.Inf(1)}
	tests := []struct {
		name   string
		series [][]diff.Finding
		want   string
	}{
		{"the certain change beats the big uncertain one",
			[][]diff.Finding{{reg("example.com/re.onepass", diff.Self, 0.9, 0.05, "")}, {reg(match, diff.Self, 0.5, 0.35, "")}},
			match},
		{"a cause beats the caller it explains, however big",
			[][]diff.Finding{{reg("net/http.serve", diff.Cumulative, 0.6, 0.5, match), reg(match, diff.Self, 0.5, 0.2, "")}},
			match},
		{"the program's code beats the standard library's",
			[][]diff.Finding{{reg("regexp.onepass", diff.Self, 0.9, 0.8, ""), reg(match, diff.Self, 0.2, 0.1, "")}},
			match},
		{"a regression that added more beats a new hot path",
			[][]diff.Finding{{newHot, reg(match, diff.Self, 0.5, 0.3, "")}},
			match},
		{"a new hot path that added more beats a regression",
			[][]diff.Finding{{newHot, reg(match, diff.Self, 0.2, 0.1, "")}},
			newHot.Function},
		{"a new hot path alone is named",
			[][]diff.Finding{{newHot}},
			newHot.Function},
		{"nothing failing",
			[][]diff.Finding{{{Function: "x", Kind: diff.KindImprovement, Change: -0.5, ChangeLow: -0.6}}},
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &diff.Result{}
			for i, fs := range tt.series {
				r.Series = append(r.Series, &diff.SeriesResult{Service: fmt.Sprint("svc", i), Alias: "cpu", Findings: fs})
			}
			f, se := Worst(r)
			got := ""
			if se != nil {
				got = f.Function
			}
			if got != tt.want {
				t.Errorf("Worst = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCallersNote(t *testing.T) {
	self := diff.Finding{Function: "a/fraud.match", Measure: diff.Self}
	c := func(fn string) diff.Finding { return diff.Finding{Function: fn, Measure: diff.Cumulative} }
	tests := []struct {
		callers []diff.Finding
		want    string
	}{
		{nil, ""},
		{[]diff.Finding{c("a/fraud.match")}, "(and its cumulative value)"},
		{[]diff.Finding{c("a/fraud.match"), c("a/fraud.Score")}, "(raises 1 caller: fraud.Score)"},
		{[]diff.Finding{c("a/fraud.Score"), c("x/bank.handle"), c("net/http.(*conn).serve")}, "(raises 3 callers: fraud.Score, bank.handle, …)"},
	}
	for _, tt := range tests {
		if got := CallersNote(self, tt.callers); got != tt.want {
			t.Errorf("CallersNote(%d callers) = %q, want %q", len(tt.callers), got, tt.want)
		}
	}
}
