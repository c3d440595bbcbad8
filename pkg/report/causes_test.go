package report

import (
	"bytes"
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
// entry, and with it the same comparison passes: it ignores the cause and
// everything of it that failed, and nothing else.
func TestIgnoreStub(t *testing.T) {
	for _, sc := range []func() (*baseline.Snapshot, *baseline.Snapshot){reporttest.EightCallees, reporttest.CPUAndAlloc} {
		r := compareScenario(t, sc, diff.Options{})
		c := HeadlineCause(r)
		if c == nil {
			t.Fatal("no failing cause")
		}
		stub := IgnoreStub(r, c)
		ru, err := rules.Parse([]byte("version: 1\n"+stub), "stub.yaml")
		if err != nil {
			t.Fatalf("stub does not parse: %v\n%s", err, stub)
		}
		if got := ru.Ignores[0].Expires.Format(time.DateOnly); got != "2026-03-31" {
			t.Errorf("expires %s, want 30 days after the comparison", got)
		}
		again := compareScenario(t, sc, diff.Options{Policy: ru.Policy(at)})
		if again.Verdict != diff.Pass {
			t.Errorf("with the stub the verdict is %s, want pass:\n%s", again.Verdict, stub)
		}
		n := Counts(again)
		if n.Failing != 0 || n.Ignored != 1 {
			t.Errorf("with the stub: %+v, want the one cause ignored", n)
		}
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
