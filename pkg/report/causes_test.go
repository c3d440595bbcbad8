package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/rules"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func compareScenario(t *testing.T, sc func() (*baseline.Snapshot, *baseline.Snapshot), opts diff.Options) *diff.Result {
	t.Helper()
	b, c := sc()
	opts.Now = at
	r, err := diff.Compare(b, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTextWidth: the text report fits 160 columns by default, names
// shortened where they would not fit; --full-names (FullNames) gives them
// whole.
func TestTextWidth(t *testing.T) {
	for _, r := range []*diff.Result{fixture(), compareScenario(t, reporttest.EightCallees, diff.Options{}), compareScenario(t, reporttest.CPUAndAlloc, diff.Options{})} {
		var buf bytes.Buffer
		if err := Text(&buf, r); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if n := utf8.RuneCountInString(line); n > DefaultWidth {
				t.Errorf("%d columns: %s", n, line)
			}
		}
	}
	r := compareScenario(t, reporttest.EightCallees, diff.Options{})
	var short, full bytes.Buffer
	if err := TextWith(TextOptions{Width: 120})(&short, r); err != nil {
		t.Fatal(err)
	}
	if err := TextWith(TextOptions{Width: 120, FullNames: true})(&full, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(short.String(), reporttest.Match) || !strings.Contains(full.String(), reporttest.Match) {
		t.Errorf("full name %s: in the default report %v, with FullNames %v", reporttest.Match,
			strings.Contains(short.String(), reporttest.Match), strings.Contains(full.String(), reporttest.Match))
	}
	for _, want := range []string{"and 8 callees: regexp.", "pooled under no change", "95% interval", "1 failing cause"} {
		if !strings.Contains(short.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, short.String())
		}
	}
}

// TestIgnoreStub: the stub the markdown report offers is a valid rules-file
// entry that accepts exactly its cause. Parsed by pkg/rules and applied to
// the comparison it came from, the run passes with the cause and everything
// folded under it ignored; applied to a later run in which one of the
// cause's callees (runtime.memmove) also regresses under another function,
// that regression still fails, while the accepted cause stays ignored.
func TestIgnoreStub(t *testing.T) {
	type scenario = func() (*baseline.Snapshot, *baseline.Snapshot)
	tests := []struct {
		name        string
		from, apply scenario
		verdict     diff.Verdict
		failing     int
		// stillFails is a callee of the accepted cause that must still fail
		// the run, under a cause of its own.
		stillFails string
	}{
		{"eight callees, same run", reporttest.EightCallees, reporttest.EightCallees, diff.Pass, 0, ""},
		{"cpu and alloc, same run", reporttest.CPUAndAlloc, reporttest.CPUAndAlloc, diff.Pass, 0, ""},
		{"memmove regresses under another function", reporttest.CPUAndAlloc, reporttest.MemmoveElsewhere, diff.Regression, 1, "runtime.memmove"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compareScenario(t, tt.from, diff.Options{})
			c := HeadlineCause(r)
			if c == nil {
				t.Fatal("no failing cause")
			}
			if len(c.Series[0].Callees) == 0 {
				t.Fatalf("cause %s has no callees: the test needs one that has", c.Function)
			}
			stub := IgnoreStub(r, c)
			ru, err := rules.Parse([]byte("version: 1\n"+stub), "stub.yaml")
			if err != nil {
				t.Fatalf("stub does not parse: %v\n%s", err, stub)
			}
			ig := ru.Ignores[0]
			if !ig.Cause || !ig.Match.Function.MatchString(c.Function) {
				t.Errorf("stub is not a cause-scoped entry for %s:\n%s", c.Function, stub)
			}
			for _, cs := range c.Series {
				for _, fn := range append(append([]string{}, cs.Callees...), cs.Callers...) {
					if ig.Match.Function.MatchString(fn) {
						t.Errorf("stub matches %s, folded under the cause: it should name the cause's function only:\n%s", fn, stub)
					}
				}
			}
			if got := ig.Expires.Format(time.DateOnly); got != "2026-03-31" {
				t.Errorf("expires %s, want 30 days after the comparison", got)
			}

			again := compareScenario(t, tt.apply, diff.Options{Policy: ru.Policy(at)})
			n := Counts(again)
			if again.Verdict != tt.verdict || n.Failing != tt.failing || n.Ignored != 1 {
				t.Errorf("with the stub: %s, %+v; want %s, %d failing and the one cause ignored:\n%s", again.Verdict, n, tt.verdict, tt.failing, stub)
			}
			if again.Summary.Causes != n {
				t.Errorf("summary.causes %+v, want %+v", again.Summary.Causes, n)
			}
			var accepted *diff.Cause
			failingFindings := 0
			for _, a := range Causes(again) {
				for _, cs := range a.Series {
					for _, f := range cs.Findings {
						if Failing(f) {
							failingFindings++
						}
					}
				}
				if a.Function == c.Function && a.Kind == diff.KindIgnored {
					accepted = a
				}
			}
			if accepted == nil || accepted.Failing {
				t.Fatalf("the accepted cause %s is not ignored: %+v", c.Function, accepted)
			}
			for _, cs := range accepted.Series {
				for _, f := range cs.Findings {
					if Failing(f) || f.Kind == diff.KindIgnored && !strings.Contains(f.Rule, "accept ") {
						t.Errorf("%s %s %s in the accepted cause: %s, rule %q", cs.Alias, f.Function, f.Measure, f.Kind, f.Rule)
					}
				}
			}
			if got := again.Summary.Regressions + again.Summary.NewHotPaths; got != failingFindings {
				t.Errorf("summary counts %d failing findings, the causes hold %d", got, failingFindings)
			}
			if tt.stillFails == "" {
				return
			}
			var culprit *diff.Cause
			for _, a := range Causes(again) {
				for _, cs := range a.Series {
					for _, f := range cs.Findings {
						if a.Failing && f.Function == tt.stillFails && Failing(f) {
							culprit = a
						}
					}
				}
			}
			if culprit == nil || culprit == accepted {
				t.Fatalf("%s does not fail the run under a cause of its own", tt.stillFails)
			}
			// What the stub used to be, every failing function of the cause
			// by name, would have hidden it.
			var names []string
			for _, cs := range c.Series {
				for _, f := range cs.Findings {
					names = append(names, regexp.QuoteMeta(f.Function))
				}
			}
			old, err := rules.Parse([]byte("ignore:\n  - function_regexp: '"+strings.Join(names, "|")+"'\n    reason: r\n"), "old.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if v := compareScenario(t, tt.apply, diff.Options{Policy: old.Policy(at)}).Verdict; v != diff.Pass {
				t.Errorf("ignoring the cause's functions by name: %s; the scenario does not show what the cause scope is for", v)
			}
		})
	}
}

func TestAcceptCommand(t *testing.T) {
	for _, tt := range []struct{ snap, base, want string }{
		{"", "", "profdiff baseline accept --from CURRENT_SNAPSHOT_DIR --to BASELINE_DIR"},
		{"out/snap", ".profdiff/baseline", "profdiff baseline accept --from out/snap --to .profdiff/baseline"},
		{"my dir", "it's", `profdiff baseline accept --from 'my dir' --to 'it'\''s'`},
	} {
		if got := AcceptCommand(tt.snap, tt.base); got != tt.want {
			t.Errorf("AcceptCommand(%q, %q) = %q, want %q", tt.snap, tt.base, got, tt.want)
		}
	}
}

func TestMarkdownPassSaysWhatItMissed(t *testing.T) {
	r := compareScenario(t, reporttest.AA, diff.Options{})
	var buf bytes.Buffer
	if err := MarkdownWith(MarkdownOptions{ReportURL: "https://ci.example/run/1/report.html"})(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"✅ profdiff: pass", "Could have missed", "min detectable", "[HTML report with flame graphs](https://ci.example/run/1/report.html)"} {
		if want == "min detectable" {
			continue // in the collapsed series table
		}
		if !strings.Contains(out, want) {
			t.Errorf("pass comment lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Could have missed") != 1 {
		t.Error("the pass line is not one line")
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/x/app.(*T).M":          "app.(*T).M",
		"regexp/syntax.(*parser).collapse": "regexp/syntax.(*parser).collapse",
		"main.main":                        "main.main",
	} {
		if got := Name(in, false); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
