package rules

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
)

const cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
const allocSpace = "memory:alloc_space:bytes:space:bytes"

func TestSampleFileLoads(t *testing.T) {
	r, err := Load("../../testdata/sample/profdiff.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Defaults.Threshold != 0.10 || r.Defaults.Floor != 0.01 || r.Defaults.Alpha != 0.01 || r.Defaults.MinWindows != 4 || r.Defaults.MinSamples != 1000 {
		t.Errorf("defaults %+v", r.Defaults)
	}
	if len(r.Overrides) != 2 || len(r.Ignores) != 1 || r.Ignores[0].Line == 0 {
		t.Errorf("overrides %d ignores %+v", len(r.Overrides), r.Ignores)
	}
}

func TestPrecedence(t *testing.T) {
	src := `
defaults:
  threshold: 0.15
overrides:
  - service: bank-*
    type: cpu
    threshold: 20%
    min_run_drift: 10%
    normalization: rest
  - name: fraud
    service: bank-fraud-service
    function: "*fraud.(*Engine).*"
    threshold: 40%
    floor: 2%
  - name: later series-wide
    service: bank-fraud-service
    alpha: 0.001
  - name: regexp
    function_regexp: 'net/http\..*'
    floor: 5%
`
	r, err := Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := r.Policy(time.Now())
	def := diff.DefaultParams()
	tests := []struct {
		service, pt, fn string
		want            diff.Params
		rule            string
	}{
		{"other", cpu, "main.main", diff.Params{Threshold: 0.15, Floor: 0.01, Alpha: diff.DefaultAlpha}, ""},
		{"bank-order-service", cpu, "main.main", diff.Params{Threshold: 0.20, Floor: 0.01, Alpha: diff.DefaultAlpha}, "overrides[0]"},
		{"bank-order-service", allocSpace, "main.main", diff.Params{Threshold: 0.15, Floor: 0.01, Alpha: diff.DefaultAlpha}, ""},
		{"bank-fraud-service", cpu, "github.com/x/fraud.(*Engine).Score", diff.Params{Threshold: 0.40, Floor: 0.02, Alpha: 0.001}, "fraud"},
		{"bank-fraud-service", cpu, "github.com/x/fraud.Score", diff.Params{Threshold: 0.20, Floor: 0.01, Alpha: 0.001}, "later series-wide"},
		{"x", allocSpace, "net/http.(*conn).serve", diff.Params{Threshold: 0.15, Floor: 0.05, Alpha: diff.DefaultAlpha}, "regexp"},
		{"x", allocSpace, "xnet/http.(*conn).serve", diff.Params{Threshold: 0.15, Floor: 0.01, Alpha: diff.DefaultAlpha}, ""},
	}
	for _, tt := range tests {
		sp, srule := p.SeriesParams(tt.service, tt.pt, def)
		fp, frule := p.FunctionParams(tt.service, tt.pt, tt.fn, sp)
		rule := frule
		if rule == "" {
			rule = srule
		}
		wantDrift := 0.0
		if strings.HasPrefix(tt.service, "bank-") && tt.pt == cpu {
			wantDrift = 0.10
		}
		if fp.MinRunDrift != wantDrift {
			t.Errorf("%s %s %s: min_run_drift %g, want %g", tt.service, tt.pt, tt.fn, fp.MinRunDrift, wantDrift)
		}
		if wantNorm := map[bool]diff.Normalization{true: diff.Rest}[wantDrift > 0]; sp.Normalization != wantNorm {
			t.Errorf("%s %s: normalization %q, want %q", tt.service, tt.pt, sp.Normalization, wantNorm)
		}
		if fp.Threshold != tt.want.Threshold || fp.Floor != tt.want.Floor || fp.Alpha != tt.want.Alpha || rule != tt.rule {
			t.Errorf("%s %s %s: got %+v rule %q, want %+v rule %q", tt.service, tt.pt, tt.fn, fp, rule, tt.want, tt.rule)
		}
	}
}

func TestIgnoreAndExpiry(t *testing.T) {
	src := `
ignore:
  - function: "text/template.*"
    reason: rewrite pending
    expires: 2026-03-01
  - name: forever
    service: bank-loan-service
    type: alloc
    reason: loan quotes allocate by design
`
	r, err := Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now     string
		service string
		pt      string
		fn      string
		ignored bool
		warn    bool
	}{
		{"2026-03-01T23:59:00Z", "any", cpu, "text/template.(*state).walk", true, false},
		{"2026-03-02T00:00:00Z", "any", cpu, "text/template.(*state).walk", false, true},
		{"2026-03-01T00:00:00Z", "any", cpu, "html/template.Execute", false, false},
		{"2030-01-01T00:00:00Z", "bank-loan-service", allocSpace, "loans.amortize", true, true},
		{"2030-01-01T00:00:00Z", "bank-loan-service", cpu, "loans.amortize", false, true},
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		p := r.Policy(now)
		rule, ok := p.Ignore(tt.service, tt.pt, tt.fn)
		if ok != tt.ignored {
			t.Errorf("%s %s %s at %s: ignored %v (%s), want %v", tt.service, tt.pt, tt.fn, tt.now, ok, rule, tt.ignored)
		}
		if ok && !strings.Contains(rule, ": ") {
			t.Errorf("rule %q does not carry its reason", rule)
		}
		w := p.Warnings()
		if (len(w) > 0) != tt.warn {
			t.Errorf("at %s: warnings %q, want some: %v", tt.now, w, tt.warn)
		}
		if tt.warn && !strings.Contains(w[0], "ignore[0] (t.yaml line 3: \"rewrite pending\") expired on 2026-03-01") {
			t.Errorf("warning %q", w[0])
		}
	}
}

// TestIgnoreScope: an entry of scope: cause answers only IgnoreCause, one
// of scope function (written or not) only Ignore, so that accepting a cause
// never ignores its function wherever else it regresses.
func TestIgnoreScope(t *testing.T) {
	src := `
ignore:
  - name: accept matcher
    service: bank-fraud-service
    function_regexp: 'bank\.matchFraudRules'
    scope: cause
    reason: rules engine v2 (FRAUD-88)
  - name: templates
    function: "text/template.*"
    scope: function
    reason: rewrite pending
  - name: json
    function: "encoding/json.*"
    reason: by design
`
	r, err := Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Ignores[0].Cause || r.Ignores[1].Cause || r.Ignores[2].Cause {
		t.Fatalf("scopes %v %v %v, want cause, function, function", r.Ignores[0].Cause, r.Ignores[1].Cause, r.Ignores[2].Cause)
	}
	p := r.Policy(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	cp, ok := p.(diff.CausePolicy)
	if !ok {
		t.Fatal("the rules' policy is not a diff.CausePolicy")
	}
	tests := []struct {
		service, fn     string
		function, cause string // the rule each answers, "" for none
	}{
		{"bank-fraud-service", "bank.matchFraudRules", "", "accept matcher: rules engine v2 (FRAUD-88)"},
		{"bank-loan-service", "bank.matchFraudRules", "", ""},
		{"bank-fraud-service", "runtime.memmove", "", ""},
		{"bank-fraud-service", "text/template.(*state).walk", "templates: rewrite pending", ""},
		{"any", "encoding/json.Marshal", "json: by design", ""},
	}
	for _, tt := range tests {
		fr, _ := p.Ignore(tt.service, cpu, tt.fn)
		cr, _ := cp.IgnoreCause(tt.service, cpu, tt.fn)
		if fr != tt.function || cr != tt.cause {
			t.Errorf("%s %s: Ignore %q, IgnoreCause %q; want %q and %q", tt.service, tt.fn, fr, cr, tt.function, tt.cause)
		}
	}
	if _, ok := r.SeriesIgnored("bank-fraud-service", cpu, time.Now()); ok {
		t.Error("a cause entry ignores the whole series")
	}
}

func TestBadFiles(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown key", "version: 1\ndefaults:\n  treshold: 10%\n", `t.yaml:3: unknown key "treshold" (did you mean "threshold"?)`},
		{"swapped letters", "defaults:\n  threhsold: 10%\n", `t.yaml:2: unknown key "threhsold" (did you mean "threshold"?)`},
		{"unknown top key", "version: 1\nignores: []\n", `t.yaml:2: unknown key "ignores" (did you mean "ignore"?)`},
		{"key far from any", "defaults:\n  colour: red\n", `t.yaml:2: unknown key "colour" in defaults (known: threshold, floor, alpha, min_windows, min_samples, min_run_drift, normalization)`},
		{"key in the wrong place", "threshold: 10%\n", `t.yaml:1: unknown key "threshold" (it belongs in defaults or an overrides entry)`},
		{"reason outside an ignore", "overrides:\n  - service: a\n    reason: r\n    floor: 2%\n", `t.yaml:3: unknown key "reason" in overrides[0] (it belongs in an ignore entry)`},
		{"typo in an override", "overrides:\n  - service: a\n    fucntion: b\n    floor: 2%\n", `t.yaml:3: unknown key "fucntion" (did you mean "function"?)`},
		{"typo in an ignore", "ignore:\n  - function: a\n    reson: r\n", `t.yaml:3: unknown key "reson" (did you mean "reason"?)`},
		{"key twice", "defaults:\n  floor: 1%\n  floor: 2%\n", `t.yaml:3: key "floor" given twice in defaults (first on line 2)`},
		{"ignore without reason", "ignore:\n  - function: x\n", "t.yaml:2: ignore[0]: an ignore needs a reason"},
		{"bad expiry", "ignore:\n  - reason: r\n    expires: 31/12/2026\n", "t.yaml:2: ignore[0]: expires \"31/12/2026\": want a date YYYY-MM-DD"},
		{"threshold as bare 10", "defaults:\n  threshold: 10.5\n", "t.yaml:2: defaults: threshold 1050% out of range"},
		{"negative floor", "defaults:\n  floor: -1%\n", "floor -1% out of range"},
		{"alpha too big", "defaults:\n  alpha: 0.5\n", "alpha 0.5 out of range"},
		{"min_windows 1", "defaults:\n  min_windows: 1\n", "min_windows 1 out of range"},
		{"min_windows a word", "defaults:\n  min_windows: four\n", `t.yaml:2: min_windows: want a whole number, not text "four"`},
		{"version a word", "version: one\n", `t.yaml:1: version: want a whole number, not text "one"`},
		{"name a list", "overrides:\n  - name: [a, b]\n    floor: 2%\n", `t.yaml:2: name: want text, not a list`},
		{"percent garbage", "defaults:\n  threshold: ten%\n", "t.yaml:2: \"ten%\" is not a number"},
		{"percent a list", "defaults:\n  threshold: [1]\n", "t.yaml:2: want a number or a percentage like 10%, not a list"},
		{"bad type", "overrides:\n  - type: cpux\n    threshold: 20%\n", `t.yaml:2: overrides[0]: profile type "cpux"`},
		{"type a mapping", "overrides:\n  - type: {a: b}\n    threshold: 20%\n", "type: want a profile type or a list of them, not a mapping"},
		{"glob and regexp", "overrides:\n  - function: a\n    function_regexp: b\n    threshold: 20%\n", "not both"},
		{"bad regexp", "overrides:\n  - function_regexp: '('\n    threshold: 20%\n", "function_regexp \"(\""},
		{"override sets nothing", "overrides:\n  - service: a\n", "t.yaml:2: overrides[0]: sets nothing"},
		{"per-function min_windows", "overrides:\n  - function: a\n    min_windows: 6\n", "apply to a whole series"},
		{"per-function min_run_drift", "overrides:\n  - function: a\n    min_run_drift: 10%\n", "apply to a whole series"},
		{"min_run_drift over 100%", "defaults:\n  min_run_drift: 150%\n", "min_run_drift 150% out of range"},
		{"per-function normalization", "overrides:\n  - function: a\n    normalization: rate\n", "apply to a whole series"},
		{"unknown normalization", "defaults:\n  normalization: odds\n", `normalization "odds": want share, rest or rate`},
		{"empty normalization", "defaults:\n  normalization: ''\n", `normalization "": want share, rest or rate`},
		{"cause scope without a function", "ignore:\n  - service: a\n    scope: cause\n    reason: r\n", "scope: cause needs function or function_regexp"},
		{"unknown scope", "ignore:\n  - function: a\n    scope: callees\n    reason: r\n", `scope "callees": want function`},
		{"version", "version: 2\n", "t.yaml:1: version 2 is not supported"},
		{"not yaml", "defaults: [\n", "t.yaml:1: not valid YAML: did not find expected node content"},
		{"wrong shape", "overrides: 3\n", `t.yaml:1: overrides: want a list of entries, each starting with "- "`},
		{"entry not a mapping", "ignore:\n  - just a string\n", `t.yaml:2: ignore[0]: want a mapping of name, service`},
		{"defaults a list", "defaults:\n  - threshold: 10%\n", `t.yaml:2: defaults: want a mapping of threshold`},
		{"file a list", "- threshold: 10%\n", `t.yaml:1: a rules file is a mapping of version, defaults, overrides, ignore, not a list`},
	}
	goType := regexp.MustCompile(`rules\.|diff\.|\[\]|\bint64\b|\bfloat64\b|\*`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "t.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "t.yaml") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting with the file and containing %q", msg, tt.want)
			}
			if tt.name != "bad regexp" && tt.name != "glob and regexp" && goType.MatchString(msg) {
				t.Errorf("error %q names a Go type", msg)
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "version: 1\n"} {
		r, err := Parse([]byte(src), "e.yaml")
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if r.Defaults != (diff.Params{}) {
			t.Errorf("%q: defaults %+v", src, r.Defaults)
		}
	}
}

func TestFraction(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.10, "0.1": 0.1, " 2.5 % ": 0.025, "0": 0} {
		got, err := ParseFraction(in)
		if err != nil || got != want {
			t.Errorf("ParseFraction(%q) = %g, %v; want %g", in, got, err, want)
		}
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("error %v does not name the file", err)
	}
}

// FuzzLoadRules checks that no input makes the parser panic, and that what
// it accepts is valid.
func FuzzLoadRules(f *testing.F) {
	sample, _ := os.ReadFile("../../testdata/sample/profdiff.yaml")
	f.Add(sample)
	f.Add([]byte("defaults:\n  threshold: 10%\n"))
	f.Add([]byte("ignore:\n  - function: '*'\n    reason: x\n    expires: 2026-01-01\n"))
	f.Add([]byte("overrides:\n  - function_regexp: '(a|b)*'\n    floor: 0.5%\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := r.Defaults.Merge(diff.DefaultParams()).Validate(); err != nil {
			t.Fatalf("accepted invalid defaults: %v", err)
		}
		p := r.Policy(time.Now())
		sp, _ := p.SeriesParams("s", cpu, diff.DefaultParams())
		fp, _ := p.FunctionParams("s", cpu, "f", sp)
		if err := fp.Validate(); err != nil {
			t.Fatalf("accepted rules give invalid parameters: %v", err)
		}
		p.Ignore("s", cpu, "f")
	})
}
