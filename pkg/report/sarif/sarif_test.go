package sarif

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testOpts = Options{
	ToolVersion: "v0.0.0-test",
	RepoRoot:    reporttest.Repo,
	ModulePath:  reporttest.Module,
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, reporttest.Result(), testOpts); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
	golden := filepath.Join("testdata", "regression.sarif")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("SARIF differs from %s (run go test -update and review the diff):\n%s", golden, buf.String())
	}
}

// TestWriteShape checks the facts a reader of the log relies on, beyond the
// golden file: which causes became results, under which rule, at which
// level, pointing where — only ever inside the repository.
func TestWriteShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, reporttest.Result(), testOpts); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	type want struct{ rule, level, uri string }
	wants := map[string]want{
		// regexp.(*Regexp).doExecute grew under match: folded into it.
		"github.com/profdiff/profdiff/services/bank.(*fraudRules).match":              {"profdiff/cpu-regression", "error", "services/bank/fraud.go"},
		"github.com/profdiff/profdiff/services/bank.(*orderBook).processOrders.func1": {"profdiff/lock-regression", "error", "services/bank/order.go"},
		// runtime.mallocgc grew under renderTemplate: folded into it.
		"github.com/profdiff/profdiff/services/bank.renderTemplate": {"profdiff/new-hot-path", "error", "services/bank/notification.go"},
		// No file and no stacks: a logical location only.
		"main.main.gowrap1": {"profdiff/alloc-regression", "error", ""},
	}
	res := log.Runs[0].Results
	if len(res) != len(wants) {
		t.Fatalf("%d results, want %d (one per failing cause; improvements and ignored causes are not results)", len(res), len(wants))
	}
	for _, r := range res {
		fn := r.Locations[0].LogicalLocations[0].FullyQualifiedName
		w, ok := wants[fn]
		if !ok {
			t.Errorf("unexpected result for %q", fn)
			continue
		}
		uri := ""
		if pl := r.Locations[0].PhysicalLocation; pl != nil {
			uri = pl.ArtifactLocation.URI
			if pl.ArtifactLocation.URIBaseID != "" || strings.Contains(uri, ":") {
				t.Errorf("%s: location %q is not a repository path", fn, uri)
			}
		}
		got := want{r.RuleID, r.Level, uri}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", fn, got, w)
		}
		if !strings.Contains(r.Message.Text, "bank-") {
			t.Errorf("%s: message %q does not name the service", fn, r.Message.Text)
		}
		if r.PartialFingerprints[FingerprintKey] == "" {
			t.Errorf("%s: no %s fingerprint", fn, FingerprintKey)
		}
	}
	if n := len(log.Runs[0].Invocations[0].ToolExecutionNotifications); n != 1 {
		t.Errorf("%d execution notifications, want 1 for the inconclusive series", n)
	}
	if n := len(log.Runs[0].Invocations[0].ToolConfigurationNotifications); n != 1 {
		t.Errorf("%d configuration notifications, want 1 for the expired ignore", n)
	}
}

// TestPlaceNearestCaller: a cause whose function is outside the repository
// is placed at the nearest caller on its path that is inside; with none, it
// has no physical location at all.
func TestPlaceNearestCaller(t *testing.T) {
	loc := Locator{Root: reporttest.Repo, Module: reporttest.Module}
	c := &diff.Cause{Function: "regexp.Compile", File: "/usr/local/go/src/regexp/regexp.go", Line: 133, Stack: []diff.Frame{
		{Function: "regexp.MustCompile", File: "/usr/local/go/src/regexp/regexp.go", Line: 313},
		{Function: reporttest.Module + "/services/bank.matchFraudRules", File: reporttest.Repo + "/services/bank/fraud.go", Line: 77},
		{Function: reporttest.Module + "/services/bank.score", File: reporttest.Repo + "/services/bank/fraud.go", Line: 20},
	}}
	file, line, at := InRepo(loc, c)
	if file != "services/bank/fraud.go" || line != 77 || at != reporttest.Module+"/services/bank.matchFraudRules" {
		t.Errorf("placed at %s:%d (%s), want the nearest caller in the repository", file, line, at)
	}
	c.Stack = c.Stack[:1]
	if l, _ := Place(loc, c); l.PhysicalLocation != nil {
		t.Errorf("a cause with nothing in the repository got a physical location %+v", l.PhysicalLocation)
	}
}

// TestEveryScenarioValid: the logs of the synthetic comparisons are valid
// SARIF, one error result per failing cause.
func TestEveryScenarioValid(t *testing.T) {
	for name, sc := range map[string]func() (*baseline.Snapshot, *baseline.Snapshot){"eight callees": reporttest.EightCallees, "cpu and alloc": reporttest.CPUAndAlloc, "aa": reporttest.AA} {
		b, c := sc()
		r, err := diff.Compare(b, c, diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, r, testOpts); err != nil {
			t.Fatal(err)
		}
		validate(t, buf.Bytes())
		var log sarifLog
		if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		want := diff.CountCauses(r.Causes).Failing
		if got := len(log.Runs[0].Results); got != want {
			t.Errorf("%s: %d results, want %d", name, got, want)
		}
		for _, res := range log.Runs[0].Results {
			if res.Level != "error" {
				t.Errorf("%s: level %s for a failing cause", name, res.Level)
			}
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	var buf bytes.Buffer
	r := &diff.Result{Verdict: diff.Pass, Normalization: "share"}
	if err := Write(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
	// GitHub rejects a run without a results array, even an empty one.
	if !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("empty result: want \"results\": [], got\n%s", buf.String())
	}
	if err := Write(&buf, nil, Options{}); err == nil {
		t.Error("Write(nil) succeeded")
	}
}

func TestLocatorRel(t *testing.T) {
	loc := Locator{Root: "/home/runner/work/repo/repo", Module: "github.com/org/repo"}
	tests := []struct {
		file, want string
		ok         bool
	}{
		{"/home/runner/work/repo/repo/pkg/x.go", "pkg/x.go", true},
		{"/home/runner/work/repo/repo/../other/x.go", "/home/runner/work/repo/other/x.go", false},
		{"github.com/org/repo/pkg/x.go", "pkg/x.go", true},
		{"/build/src/github.com/org/repo/pkg/x.go", "pkg/x.go", true},
		{"/go/src/github.com/org/repo/cmd/main.go", "cmd/main.go", true},
		{"github.com/org/repository/x.go", "github.com/org/repository/x.go", false},
		{"github.com/org/repo", "github.com/org/repo", false},
		{"/usr/local/go/src/runtime/proc.go", "/usr/local/go/src/runtime/proc.go", false},
		{"runtime/proc.go", "runtime/proc.go", false},
		{`C:\work\repo\x.go`, "C:/work/repo/x.go", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := loc.Rel(tt.file)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Rel(%q) = %q, %v; want %q, %v", tt.file, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := (Locator{}).Rel("/a/b.go"); got != "/a/b.go" || ok {
		t.Errorf("zero Locator mapped %q", got)
	}
}

func TestFindLocator(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// comment\nmodule \"example.com/m\" // trailing\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := FindLocator(sub)
	want := Locator{Root: filepath.ToSlash(dir), Module: "example.com/m"}
	if got != want {
		t.Errorf("FindLocator = %+v, want %+v", got, want)
	}
	// This repository: the module line of its own go.mod.
	if got := FindLocator("."); got.Module != "github.com/profdiff/profdiff" {
		t.Errorf("FindLocator(.) module = %q", got.Module)
	}
}

func TestLevel(t *testing.T) {
	if Level(&diff.Cause{Failing: true, Kind: diff.KindRegression}) != "error" || Level(&diff.Cause{Failing: true, Kind: diff.KindNewHotPath}) != "error" {
		t.Error("a failing cause is not an error")
	}
	if Level(&diff.Cause{Kind: diff.KindIgnored}) != "note" {
		t.Error("an ignored cause is not a note")
	}
}

// TestFingerprintStable: a cause's fingerprint is the same from one run to
// the next, when its numbers, lines and folded findings change, and differs
// between causes.
func TestFingerprintStable(t *testing.T) {
	b, c := reporttest.EightCallees()
	r1, err := diff.Compare(b, c, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, c = reporttest.EightCallees()
	c.Series[0].Windows = c.Series[0].Windows[2:]
	for i := range c.Series[0].Functions {
		c.Series[0].Functions[i].Line += 10
	}
	r2, err := diff.Compare(b, c, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(r1.Causes[0]) != Fingerprint(r2.Causes[0]) {
		t.Error("the fingerprint changed with the numbers or lines")
	}
	seen := map[string]string{}
	for _, c := range r1.Causes {
		if other, dup := seen[Fingerprint(c)]; dup {
			t.Errorf("%s and %s share a fingerprint", c.Function, other)
		}
		seen[Fingerprint(c)] = c.Function
	}
}

// sarifLog is the part of SARIF 2.1.0 the checks read, decoded independently
// of the library that wrote it.
type sarifLog struct {
	Version string `json:"version"`
	Schema  string `json:"$schema"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string                 `json:"id"`
					ShortDescription *struct{ Text string } `json:"shortDescription"`
					FullDescription  *struct{ Text string } `json:"fullDescription"`
					Help             *struct{ Text string } `json:"help"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex *int   `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					FullyQualifiedName string `json:"fullyQualifiedName"`
					Kind               string `json:"kind"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
		Invocations []struct {
			ExecutionSuccessful            *bool `json:"executionSuccessful"`
			ToolExecutionNotifications     []json.RawMessage
			ToolConfigurationNotifications []json.RawMessage
		} `json:"invocations"`
		OriginalURIBaseIDs map[string]json.RawMessage `json:"originalUriBaseIds"`
	} `json:"runs"`
}

// validate checks data against the parts of the SARIF 2.1.0 schema and of
// GitHub's code scanning requirements that profdiff's log exercises: the
// required properties, the references between results and rules, and the
// value ranges.
func validate(t *testing.T, data []byte) {
	t.Helper()
	for _, e := range validationErrors(data) {
		t.Error("SARIF: " + e)
	}
}

func validationErrors(data []byte) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		return []string{"does not decode as SARIF: " + err.Error()}
	}
	if log.Version != "2.1.0" {
		fail("version %q, want 2.1.0", log.Version)
	}
	if !strings.Contains(log.Schema, "sarif-schema-2.1.0") {
		fail("$schema %q does not name the 2.1.0 schema", log.Schema)
	}
	if _, ok := raw["runs"]; !ok || len(log.Runs) == 0 {
		fail("no runs")
		return errs
	}
	for ri, run := range log.Runs {
		d := run.Tool.Driver
		if d.Name == "" {
			fail("runs[%d].tool.driver.name is empty", ri)
		}
		ids := map[string]int{}
		for i, r := range d.Rules {
			if r.ID == "" {
				fail("rule %d has no id", i)
			}
			if _, dup := ids[r.ID]; dup {
				fail("rule id %q is not unique", r.ID)
			}
			ids[r.ID] = i
			if r.ShortDescription == nil || r.ShortDescription.Text == "" || r.FullDescription == nil || r.Help == nil {
				fail("rule %q lacks shortDescription, fullDescription or help", r.ID)
			}
		}
		if run.Results == nil {
			fail("runs[%d].results is missing (GitHub requires the array, even empty)", ri)
		}
		for i, res := range run.Results {
			where := fmt.Sprintf("runs[%d].results[%d]", ri, i)
			idx, ok := ids[res.RuleID]
			if !ok {
				fail("%s: ruleId %q is not among the driver's rules", where, res.RuleID)
			}
			if res.RuleIndex == nil || *res.RuleIndex != idx {
				fail("%s: ruleIndex %v does not point at rule %q (index %d)", where, res.RuleIndex, res.RuleID, idx)
			}
			switch res.Level {
			case "error", "warning", "note", "none":
			default:
				fail("%s: level %q", where, res.Level)
			}
			if res.Message.Text == "" {
				fail("%s: empty message", where)
			}
			if len(res.Locations) == 0 {
				fail("%s: no locations", where)
			}
			for _, l := range res.Locations {
				if pl := l.PhysicalLocation; pl != nil {
					if pl.ArtifactLocation.URI == "" {
						fail("%s: physicalLocation without artifactLocation.uri", where)
					}
					if strings.HasPrefix(pl.ArtifactLocation.URI, "/") {
						fail("%s: uri %q is a bare absolute path, not a URI", where, pl.ArtifactLocation.URI)
					}
					if b := pl.ArtifactLocation.URIBaseID; b != "" {
						if _, ok := run.OriginalURIBaseIDs[b]; !ok {
							fail("%s: uriBaseId %q not declared in originalUriBaseIds", where, b)
						}
					}
					if pl.Region != nil && pl.Region.StartLine < 1 {
						fail("%s: region.startLine %d < 1", where, pl.Region.StartLine)
					}
				} else if len(l.LogicalLocations) == 0 {
					fail("%s: location with neither physical nor logical location", where)
				}
			}
			if len(res.PartialFingerprints) == 0 {
				fail("%s: no partialFingerprints", where)
			}
		}
		for _, inv := range run.Invocations {
			if inv.ExecutionSuccessful == nil {
				fail("runs[%d]: invocation without executionSuccessful", ri)
			}
		}
	}
	return errs
}

// TestValidateCatches makes sure the validator is not vacuous: each broken
// log must be refused.
func TestValidateCatches(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, reporttest.Result(), testOpts); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	breaks := map[string]func(string) string{
		"version": func(s string) string { return strings.Replace(s, `"version": "2.1.0"`, `"version": "2.0.0"`, 1) },
		"rule id": func(s string) string {
			return strings.Replace(s, `"ruleId": "profdiff/lock-regression"`, `"ruleId": "profdiff/nope"`, 1)
		},
		"rule index": func(s string) string { return strings.Replace(s, `"ruleIndex": 3`, `"ruleIndex": 2`, 1) },
		"level":      func(s string) string { return strings.Replace(s, `"level": "error"`, `"level": "high"`, 1) },
		"start line": func(s string) string { return strings.Replace(s, `"startLine": 142`, `"startLine": 0`, 1) },
		"driver":     func(s string) string { return strings.Replace(s, `"name": "profdiff"`, `"name": ""`, 1) },
	}
	for name, brk := range breaks {
		bad := brk(good)
		if bad == good {
			t.Fatalf("%s: the fixture no longer contains what the test breaks", name)
		}
		if len(validationErrors([]byte(bad))) == 0 {
			t.Errorf("%s: broken log passed validation", name)
		}
	}
}

// A caller whose cumulative regression a listed function explains gets no
// result of its own; the cause's message names it instead.
func TestWriteFoldsExplainedCallers(t *testing.T) {
	r := reporttest.Result()
	const cause = "github.com/profdiff/profdiff/services/bank.(*fraudRules).match"
	var se *diff.SeriesResult
	for _, s := range r.Series {
		for _, f := range s.Findings {
			if f.Function == cause {
				se = s
			}
		}
	}
	if se == nil {
		t.Fatalf("fixture has no finding of %s", cause)
	}
	const caller = "net/http.(*conn).serve"
	se.Findings = append(se.Findings, diff.Finding{Function: caller, Measure: diff.Cumulative, Kind: diff.KindRegression,
		Change: 0.2, ChangeLow: 0.1, ChangeHigh: 0.3, P: 1e-6, Q: 1e-5, ExplainedBy: cause})
	var buf bytes.Buffer
	if err := Write(&buf, r, testOpts); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, res := range log.Runs[0].Results {
		fn := res.Locations[0].LogicalLocations[0].FullyQualifiedName
		if fn == caller {
			t.Errorf("the explained caller %s has a result of its own: %q", caller, res.Message.Text)
		}
		if fn == cause {
			found = true
			if !strings.Contains(res.Message.Text, "raises 1 caller: "+caller) || !strings.Contains(res.Message.Text, "and 1 callee: regexp.(*Regexp).doExecute") {
				t.Errorf("the cause's message does not name what it folds: %q", res.Message.Text)
			}
		}
	}
	if !found {
		t.Errorf("no result for the cause %s", cause)
	}
}
