package diff_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
)

func compare(t *testing.T, scenario func() (*baseline.Snapshot, *baseline.Snapshot)) *diff.Result {
	t.Helper()
	b, c := scenario()
	r, err := diff.Compare(b, c, diff.Options{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func failing(cs []*diff.Cause) []*diff.Cause {
	var out []*diff.Cause
	for _, c := range cs {
		if c.Failing {
			out = append(out, c)
		}
	}
	return out
}

// TestCausesEightCallees: one function doing 60% more work through eight
// callees in the regexp package and the runtime is one cause, named for the
// function, with the eight callees folded under it.
func TestCausesEightCallees(t *testing.T) {
	r := compare(t, reporttest.EightCallees)
	fs := failing(r.Causes)
	if len(fs) != 1 {
		t.Fatalf("%d failing causes, want 1: %+v", len(fs), fs)
	}
	c := fs[0]
	if c.Function != reporttest.Match || c.External || len(c.Series) != 1 {
		t.Fatalf("cause %s (external %v, %d series), want %s in one series", c.Function, c.External, len(c.Series), reporttest.Match)
	}
	got := slices.Clone(c.Series[0].Callees)
	want := slices.Clone(reporttest.MatchCallees)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("callees %v, want %v", got, want)
	}
	if f := c.Series[0].Finding; f.Function != reporttest.Match || f.Measure != diff.Self {
		t.Errorf("the cause's own finding is %s %s, want Match's self", f.Function, f.Measure)
	}
	if r.Summary.Causes.Failing != 1 {
		t.Errorf("summary counts %d failing causes", r.Summary.Causes.Failing)
	}
	if r.Causes[0] != c {
		t.Errorf("headline %s, want the failing cause first", r.Causes[0].Function)
	}
	if len(c.Stack) == 0 || c.Stack[0].Function != "github.com/profdiff/profdiff/services/bank.scoreTransfer" {
		t.Errorf("stack %v, want scoreTransfer as the nearest caller", c.Stack)
	}
	everyFindingOnce(t, r)
}

// TestCausesCPUAndAlloc: the same function regressing in CPU and in
// allocations is one cause with both, named for the program's function even
// where only regexp/syntax and the runtime allocate below it.
func TestCausesCPUAndAlloc(t *testing.T) {
	r := compare(t, reporttest.CPUAndAlloc)
	fs := failing(r.Causes)
	if len(fs) != 1 {
		for _, c := range fs {
			t.Logf("cause %s in %d series", c.Function, len(c.Series))
		}
		t.Fatalf("%d failing causes, want 1", len(fs))
	}
	c := fs[0]
	if c.Function != reporttest.MatchFraudRules {
		t.Fatalf("headline %s, want %s", c.Function, reporttest.MatchFraudRules)
	}
	var types []string
	for _, cs := range c.Series {
		types = append(types, cs.Alias)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"alloc_objects", "cpu"}) {
		t.Errorf("cause seen in %v, want alloc_objects and cpu", types)
	}
	everyFindingOnce(t, r)
}

// TestCausesAA: two runs of one build have no cause at all.
func TestCausesAA(t *testing.T) {
	r := compare(t, reporttest.AA)
	if r.Verdict != diff.Pass || len(r.Causes) != 0 {
		t.Fatalf("A/A: verdict %s, %d causes (%v)", r.Verdict, len(r.Causes), r.Causes)
	}
	for _, s := range r.Series {
		for _, f := range s.Findings {
			if f.Kind != diff.KindUnchanged {
				t.Errorf("A/A: %s %s %s is a finding (%s)", s.Alias, f.Function, f.Measure, f.Kind)
			}
		}
	}
	if r.Causes == nil {
		t.Error("Causes is nil; JSON would say null instead of []")
	}
}

// everyFindingOnce checks that the causes of each series hold each of its
// listed findings exactly once.
func everyFindingOnce(t *testing.T, r *diff.Result) {
	t.Helper()
	type key struct {
		service, pt, fn string
		m               diff.Measure
	}
	seen := map[key]int{}
	for _, c := range r.Causes {
		for _, cs := range c.Series {
			if r.SeriesOf(c, cs) == nil {
				t.Errorf("cause %s names series %s, not in the result", c.Function, cs.ProfileType)
			}
			for _, f := range cs.Findings {
				seen[key{c.Service, cs.ProfileType, f.Function, f.Measure}]++
			}
		}
	}
	for _, s := range r.Series {
		for _, f := range s.Findings {
			n := seen[key{s.Service, s.ProfileType, f.Function, f.Measure}]
			switch {
			case f.Kind == diff.KindUnchanged && n != 0:
				t.Errorf("unchanged %s %s is in a cause", f.Function, f.Measure)
			case f.Kind != diff.KindUnchanged && n != 1:
				t.Errorf("%s %s %s is in %d causes, want 1", s.Alias, f.Function, f.Measure, n)
			}
		}
	}
}

// TestCausesRuntimeUnderCaller: a regression only in the runtime, whose
// growth lies under one function of the program whose cumulative value it
// raises, is that function's cause, not the runtime's; <unknown> likewise.
func TestCausesRuntimeUnderCaller(t *testing.T) {
	const (
		app  = "github.com/x/app.render"
		h    = "runtime.goexit;github.com/x/app.handle;" + app
		rest = "runtime.goexit;github.com/x/app.other"
	)
	base := reporttest.Series("svc", "memory:alloc_space:bytes:space:bytes", map[string]int64{
		h + ";runtime.mallocgc": 100, h + ";<unknown>": 50, rest + ";runtime.mallocgc": 300,
	}, nil)
	cur := reporttest.Series("svc", "memory:alloc_space:bytes:space:bytes", map[string]int64{
		h + ";runtime.mallocgc": 200, h + ";<unknown>": 100, rest + ";runtime.mallocgc": 300,
	}, nil)
	s := &diff.SeriesResult{Service: "svc", ProfileType: base.ProfileType, Alias: "alloc_space", Base: base, Cur: cur,
		Findings: []diff.Finding{
			{Function: "runtime.mallocgc", Measure: diff.Self, Kind: diff.KindRegression, Baseline: 0.2, Current: 0.33, Change: 0.65, ChangeLow: 0.3, ChangeHigh: 1},
			{Function: "<unknown>", Measure: diff.Self, Kind: diff.KindRegression, Baseline: 0.1, Current: 0.17, Change: 0.7, ChangeLow: 0.3, ChangeHigh: 1.1},
			{Function: app, Measure: diff.Cumulative, Kind: diff.KindRegression, Baseline: 0.3, Current: 0.5, Change: 0.66, ChangeLow: 0.4, ChangeHigh: 0.9, ExplainedBy: "runtime.mallocgc"},
			{Function: "github.com/x/app.handle", Measure: diff.Cumulative, Kind: diff.KindRegression, Baseline: 0.3, Current: 0.5, Change: 0.66, ChangeLow: 0.4, ChangeHigh: 0.9, ExplainedBy: "runtime.mallocgc"},
		}}
	r := &diff.Result{Series: []*diff.SeriesResult{s}}
	cs := diff.FindCauses(r)
	if len(cs) != 1 {
		t.Fatalf("%d causes, want 1", len(cs))
	}
	c := cs[0]
	if c.Function != app || c.External || !c.Failing {
		t.Fatalf("cause %s (external %v, failing %v), want %s", c.Function, c.External, c.Failing, app)
	}
	if got := c.Series[0].Callers; !slices.Equal(got, []string{"github.com/x/app.handle"}) {
		t.Errorf("callers %v", got)
	}
	if got := c.Series[0].Callees; !slices.Equal(got, []string{"runtime.mallocgc", "<unknown>"}) {
		t.Errorf("callees %v", got)
	}
	// Without stacks nothing says who called the runtime: it stays its own
	// cause, marked external.
	s.Base, s.Cur = nil, nil
	cs = diff.FindCauses(r)
	if cs[0].Function != "runtime.mallocgc" || !cs[0].External {
		t.Errorf("without stacks: cause %s external %v", cs[0].Function, cs[0].External)
	}
}

func TestExternal(t *testing.T) {
	for fn, want := range map[string]bool{
		"runtime.mallocgc":                 true,
		"regexp/syntax.(*parser).collapse": true,
		"net/http.(*conn).serve":           true,
		"<unknown>":                        true,
		"":                                 true,
		"main.main":                        false,
		"main.main.func1":                  false,
		"github.com/x/app.(*T).M":          false,
		"golang.org/x/net/http2.(*Framer)": false,
		"example.com/m.F":                  false,
	} {
		if got := diff.External(fn); got != want {
			t.Errorf("External(%q) = %v, want %v", fn, got, want)
		}
	}
}

// TestCauseIDStable: a cause's ID depends on service, function and
// direction only, so it is the same on every run.
func TestCauseIDStable(t *testing.T) {
	a := compare(t, reporttest.EightCallees)
	b, c := reporttest.EightCallees()
	c.Series[0].Windows = c.Series[0].Windows[:6]
	r, err := diff.Compare(b, c, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if failing(a.Causes)[0].ID != failing(r.Causes)[0].ID {
		t.Error("the cause's ID changed with the data")
	}
}

// BenchmarkFindCauses groups the findings of a large series (5,000
// functions, 8 windows of 100,000 samples a side) in which forty functions
// regressed: the cost causes add to a big service's gate.
func BenchmarkFindCauses(b *testing.B) {
	m := gen.NewModel(7, 5000)
	order := make([]int, len(m.Self))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(m.Share(b), m.Share(a)) })
	c := m
	for _, i := range order[:40] {
		c = c.Scale(i, 1.6)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	base := &baseline.Snapshot{}
	base.Put(m.Series(rng, "svc", 8, 100000, 0.02))
	cur := &baseline.Snapshot{}
	cur.Put(c.Series(rng, "svc", 8, 100000, 0.02))
	r, err := diff.Compare(base, cur, diff.Options{})
	if err != nil {
		b.Fatal(err)
	}
	listed := 0
	for _, f := range r.Series[0].Findings {
		if f.Kind != diff.KindUnchanged {
			listed++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		diff.FindCauses(r)
	}
	b.ReportMetric(float64(listed), "findings")
	b.ReportMetric(float64(len(r.Causes)), "causes")
	b.ReportMetric(float64(len(r.Series[0].Cur.Stacks)), "stacks")
}

// causePolicy accepts the causes named for one function in some profile
// types, and nothing else: a diff.Policy that is a diff.CausePolicy.
type causePolicy struct {
	function string
	types    []string
}

func (causePolicy) SeriesParams(_, _ string, def diff.Params) (diff.Params, string) { return def, "" }
func (causePolicy) FunctionParams(_, _, _ string, p diff.Params) (diff.Params, string) {
	return p, ""
}
func (causePolicy) Ignore(_, _, _ string) (string, bool) { return "", false }
func (causePolicy) Warnings() []string                   { return nil }
func (p causePolicy) IgnoreCause(_, profileType, function string) (string, bool) {
	return "accept: by test", function == p.function && slices.Contains(p.types, profileType)
}

// TestIgnoreCause: a cause-scoped ignore applies where the causes are
// built, per series of the cause, to every failing finding folded under
// it there and to nothing else; the series' verdicts, the run's verdict,
// its counts and the orders follow.
func TestIgnoreCause(t *testing.T) {
	const cpu, alloc = "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "memory:alloc_objects:count:space:bytes"
	plain := compare(t, reporttest.CPUAndAlloc)
	tests := []struct {
		name    string
		policy  causePolicy
		verdict diff.Verdict
		counts  diff.CauseCounts
		// pass are the profile types whose series now pass.
		pass []string
	}{
		{"both types", causePolicy{reporttest.MatchFraudRules, []string{cpu, alloc}}, diff.Pass, diff.CauseCounts{Ignored: 1, Improvements: 1}, []string{cpu, alloc}},
		{"cpu only", causePolicy{reporttest.MatchFraudRules, []string{cpu}}, diff.Regression, diff.CauseCounts{Failing: 1, Improvements: 1}, []string{cpu}},
		{"a callee's name", causePolicy{"runtime.memmove", []string{cpu, alloc}}, diff.Regression, plain.Summary.Causes, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := reporttest.CPUAndAlloc()
			r, err := diff.Compare(b, c, diff.Options{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict || r.Summary.Causes != tt.counts || diff.CountCauses(r.Causes) != tt.counts {
				t.Errorf("%s, summary %+v, causes %+v; want %s and %+v", r.Verdict, r.Summary.Causes, diff.CountCauses(r.Causes), tt.verdict, tt.counts)
			}
			everyFindingOnce(t, r)
			failingFindings, ignored := 0, 0
			for _, s := range r.Series {
				for i, f := range s.Findings {
					failingFindings += map[bool]int{true: 1}[f.Kind == diff.KindRegression || f.Kind == diff.KindNewHotPath]
					ignored += map[bool]int{true: 1}[f.Kind == diff.KindIgnored]
					if i > 0 && f.Kind == diff.KindRegression && s.Findings[i-1].Kind == diff.KindIgnored {
						t.Errorf("%s: a regression listed after an ignored finding", s.Alias)
					}
				}
				if want := slices.Contains(tt.pass, s.ProfileType); (s.Verdict == diff.Pass) != want {
					t.Errorf("%s verdict %s, want pass: %v", s.Alias, s.Verdict, want)
				}
			}
			if r.Summary.Regressions+r.Summary.NewHotPaths != failingFindings || r.Summary.Ignored != ignored {
				t.Errorf("summary %+v, the series hold %d failing and %d ignored findings", r.Summary, failingFindings, ignored)
			}
			if ignored+failingFindings != plain.Summary.Regressions+plain.Summary.NewHotPaths {
				t.Errorf("%d ignored + %d failing findings, want the %d that failed without the policy", ignored, failingFindings, plain.Summary.Regressions+plain.Summary.NewHotPaths)
			}
			for _, cause := range r.Causes {
				for j, cs := range cause.Series {
					accepted := cause.Function == tt.policy.function && slices.Contains(tt.policy.types, cs.ProfileType)
					for _, f := range cs.Findings {
						if (f.Kind == diff.KindIgnored) != accepted && f.Kind != diff.KindImprovement {
							t.Errorf("%s %s %s %s: %s, accepted %v", cause.Function, cs.Alias, f.Function, f.Measure, f.Kind, accepted)
						}
					}
					if j > 0 && slices.IndexFunc(r.Series, func(s *diff.SeriesResult) bool { return s.ProfileType == cs.ProfileType }) <
						slices.IndexFunc(r.Series, func(s *diff.SeriesResult) bool { return s.ProfileType == cause.Series[j-1].ProfileType }) {
						t.Errorf("cause %s: series out of the result's order", cause.Function)
					}
				}
			}
			if r.Causes[0].Failing != (tt.counts.Failing > 0) {
				t.Error("causes are not failing first")
			}
		})
	}
}
