package all

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/github"
	"github.com/profdiff/profdiff/pkg/report/html"
	"github.com/profdiff/profdiff/pkg/report/sarif"
	"github.com/profdiff/profdiff/pkg/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// scenarios are synthetic snapshots run through diff.Compare, so the golden
// files show what the engine and the renderers make of them together. When
// the statistics change, regenerate with: go test ./pkg/report/... -update
var scenarios = []struct {
	name string
	make func() (*baseline.Snapshot, *baseline.Snapshot)
	// rules, when set, is the rules file the comparison applies.
	rules string
}{
	{"eight-callees", reporttest.EightCallees, ""},
	{"cpu-and-alloc", reporttest.CPUAndAlloc, ""},
	{"aa", reporttest.AA, ""},
	{"memmove-elsewhere-accepted", reporttest.MemmoveElsewhere, acceptMatcher},
}

// acceptMatcher accepts cpu-and-alloc's cause the way the markdown report's
// ignore stub for it does; memmove-elsewhere-accepted applies it to a run in
// which runtime.memmove, one of that cause's callees, also regresses under
// another function, and still fails on that.
const acceptMatcher = `version: 1
ignore:
  - name: accept bank.matchFraudRules
    service: bank-fraud-service
    type: [cpu, alloc_objects]
    function_regexp: 'github\.com/profdiff/profdiff/services/bank\.matchFraudRules'
    scope: cause
    reason: rules engine v2 matches more patterns (FRAUD-88)
    expires: 2026-03-31
`

// renderers are every format, with the options a CI run in the fixture's
// repository would have.
func renderers() map[string]report.RenderFunc {
	loc := report.Locator{Root: reporttest.Repo, Module: reporttest.Module}
	return map[string]report.RenderFunc{
		"text": report.Text,
		"markdown": report.MarkdownWith(report.MarkdownOptions{
			ReportURL: "https://github.com/acme/bank/actions/runs/42/artifacts/7", SnapshotDir: "out/snapshot", BaselineDir: ".profdiff/baseline", Locator: loc}),
		"json":   report.JSON,
		"junit":  report.JUnit,
		"sarif":  sarif.Renderer(sarif.Options{RepoRoot: loc.Root, ModulePath: loc.Module, ToolVersion: "v0.0.0-test"}),
		"github": github.Renderer(github.Options{RepoRoot: loc.Root, ModulePath: loc.Module}),
		"html":   html.Renderer(html.Options{RepoRoot: loc.Root, ModulePath: loc.Module, ToolVersion: "v0.0.0-test"}),
	}
}

var ext = map[string]string{"text": "txt", "markdown": "md", "json": "json", "junit": "xml", "sarif": "sarif", "github": "txt", "html": "html"}

func compare(t *testing.T, make func() (*baseline.Snapshot, *baseline.Snapshot), rulesFile string) *diff.Result {
	t.Helper()
	b, c := make()
	opts := diff.Options{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if rulesFile != "" {
		ru, err := rules.Parse([]byte(rulesFile), "profdiff.yaml")
		if err != nil {
			t.Fatal(err)
		}
		opts.Policy = ru.Policy(opts.Now)
	}
	r, err := diff.Compare(b, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGolden(t *testing.T) {
	for _, sc := range scenarios {
		r := compare(t, sc.make, sc.rules)
		for name, render := range renderers() {
			t.Run(sc.name+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := render(&buf, r); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", sc.name+"."+name+"."+ext[name])
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./pkg/report/... -update creates it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s differs from the golden file; if the change is intended, go test ./pkg/report/... -update\n--- got\n%s", path, buf.Bytes())
				}
			})
		}
	}
}

// TestFormatsAgree: every format shows the same number of failing causes,
// and the ones that state the counts state the same counts.
func TestFormatsAgree(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := compare(t, sc.make, sc.rules)
			want := report.Counts(r)
			out := map[string]string{}
			for name, render := range renderers() {
				var buf bytes.Buffer
				if err := render(&buf, r); err != nil {
					t.Fatal(err)
				}
				out[name] = buf.String()
			}
			got := map[string]int{}
			// text: one row per cause and type, the first with the
			// verdict, the others with a ditto mark.
			for _, line := range strings.Split(out["text"], "\n") {
				if strings.HasSuffix(line, "  regression") || strings.HasSuffix(line, "  new hot path") {
					got["text"]++
				}
			}
			got["markdown"] = len(regexp.MustCompile(`(?m)^### \d+\. ❌`).FindAllString(out["markdown"], -1))
			var j struct {
				Causes []struct {
					Failing bool `json:"failing"`
					Series  []struct {
						Findings []json.RawMessage `json:"findings"`
					} `json:"series"`
				} `json:"causes"`
				Summary struct {
					Causes diff.CauseCounts `json:"causes"`
				} `json:"summary"`
			}
			if err := json.Unmarshal([]byte(out["json"]), &j); err != nil {
				t.Fatal(err)
			}
			for _, c := range j.Causes {
				if c.Failing {
					got["json"]++
				}
			}
			if j.Summary.Causes != want {
				t.Errorf("json summary.causes %+v, want %+v", j.Summary.Causes, want)
			}
			var ju struct {
				Failures int `xml:"failures,attr"`
			}
			if err := xml.Unmarshal([]byte(out["junit"]), &ju); err != nil {
				t.Fatal(err)
			}
			got["junit"] = ju.Failures
			var sa struct {
				Runs []struct {
					Results    []json.RawMessage `json:"results"`
					Properties struct {
						Causes diff.CauseCounts `json:"causes"`
					} `json:"properties"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out["sarif"]), &sa); err != nil {
				t.Fatal(err)
			}
			got["sarif"] = len(sa.Runs[0].Results)
			if sa.Runs[0].Properties.Causes != want {
				t.Errorf("sarif properties.causes %+v, want %+v", sa.Runs[0].Properties.Causes, want)
			}
			got["github"] = strings.Count(out["github"], "::error ")
			failingRows := map[string]bool{}
			for _, m := range regexp.MustCompile(`<tr class="cause k-(regression|new_hot_path)" data-cause="(\d+)"`).FindAllStringSubmatch(out["html"], -1) {
				failingRows[m[2]] = true
			}
			got["html"] = len(failingRows)
			for name, n := range got {
				if n != want.Failing {
					t.Errorf("%s shows %d failing causes, want %d", name, n, want.Failing)
				}
			}
			phrase := report.CountsPhrase(want)
			for _, name := range []string{"text", "markdown", "html"} {
				if !strings.Contains(out[name], phrase) {
					t.Errorf("%s does not state the counts %q", name, phrase)
				}
			}
		})
	}
}

// TestFromJSON: a result written as JSON and read back renders as the
// result itself does, in every format — the flame graph included, drawn
// from the call trees the JSON carries (the series' stacks are not in it).
func TestFromJSON(t *testing.T) {
	for _, sc := range scenarios {
		r := compare(t, sc.make, sc.rules)
		var js bytes.Buffer
		if err := report.JSON(&js, r); err != nil {
			t.Fatal(err)
		}
		back, err := diff.ReadResult(bytes.NewReader(js.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range back.Series {
			if s.Base != nil || s.Cur != nil {
				t.Fatal("a result read from JSON has the series' snapshots")
			}
		}
		for name, render := range renderers() {
			t.Run(sc.name+"/"+name, func(t *testing.T) {
				var want, got bytes.Buffer
				if err := render(&want, r); err != nil {
					t.Fatal(err)
				}
				if err := render(&got, back); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("rendered from its JSON, the %s report differs:\n--- from JSON\n%s\n--- from the result\n%s", name, got.Bytes(), want.Bytes())
				}
			})
		}
	}
}
