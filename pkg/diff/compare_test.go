package diff

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

const svc = "bank-fraud-service"

func TestKnownRegressionIsFoundAndNamed(t *testing.T) {
	m := gen.NewModel(1, 200)
	hot := m.Closest(0.05)
	m.Rename(hot, "github.com/profdiff/bank/internal/fraud.(*Engine).matchRules", "fraud/engine.go")
	for _, norm := range []Normalization{Share, Rate} {
		t.Run(string(norm), func(t *testing.T) {
			b, c := pair(7, svc, m, m.Scale(hot, 1.4), 8, 3000, 0)
			r := mustCompare(t, snap(b), snap(c), Options{Normalization: norm})
			if r.Verdict != Regression {
				t.Fatalf("verdict %s, want regression", r.Verdict)
			}
			regs := findingsOf(r, KindRegression)
			if len(regs) == 0 {
				t.Fatal("no regression finding")
			}
			f := regs[0]
			if f.Function != "github.com/profdiff/bank/internal/fraud.(*Engine).matchRules" || f.Measure != Self {
				t.Fatalf("worst finding is %s (%s), want matchRules self", f.Function, f.Measure)
			}
			// Under share normalization the others' shares shrink, so the
			// hot function's share grows by a little less than 40%; under
			// rate it grows by the full 40%.
			if f.Change < 0.25 || f.Change > 0.55 {
				t.Errorf("change %+.1f%%, want about +40%%", 100*f.Change)
			}
			if !(f.ChangeLow < f.Change && f.Change < f.ChangeHigh) || f.ChangeLow <= 0 {
				t.Errorf("interval [%g, %g] does not bracket %g above 0", f.ChangeLow, f.ChangeHigh, f.Change)
			}
			if f.Q > DefaultAlpha || f.P > f.Q {
				t.Errorf("p=%g q=%g", f.P, f.Q)
			}
			if r.Summary.Regressions < 1 || r.Series[0].Tested == 0 {
				t.Errorf("summary %+v, tested %d", r.Summary, r.Series[0].Tested)
			}
			for _, f := range regs {
				if f.Current < DefaultFloor || f.Change < DefaultThreshold {
					t.Errorf("regression %s below floor or threshold: %+v", f.Function, f)
				}
			}
		})
	}
}

func TestImprovementsNeverFail(t *testing.T) {
	m := gen.NewModel(2, 200)
	hot := m.Closest(0.08)
	b, c := pair(3, svc, m, m.Scale(hot, 0.5), 8, 3000, 0)
	r := mustCompare(t, snap(b), snap(c), Options{})
	for _, f := range r.Series[0].Findings {
		if f.Function == reduce.NormalizeFunctionName(m.Funcs[hot].Name) && (f.Kind == KindRegression || f.Kind == KindNewHotPath) {
			t.Fatalf("the improved function fails: %+v", f)
		}
	}
	imps := findingsOf(r, KindImprovement)
	if len(imps) == 0 || imps[0].Function != reduce.NormalizeFunctionName(m.Funcs[hot].Name) {
		t.Fatalf("improvement of %s not reported: %+v", m.Funcs[hot].Name, imps)
	}
	if imps[0].Change > -0.4 {
		t.Errorf("change %+.1f%%, want about -50%%", 100*imps[0].Change)
	}
	if r.Summary.Improvements == 0 {
		t.Error("summary counts no improvement")
	}
}

func TestNewHotPath(t *testing.T) {
	m := gen.NewModel(3, 200)
	mc, _ := m.AddFunc(5, gen.Func{Name: "github.com/profdiff/bank/internal/fraud.compileRulesInLoop"}, 0.04)
	b, c := pair(4, svc, m, mc, 8, 3000, 0)
	r := mustCompare(t, snap(b), snap(c), Options{})
	if r.Verdict != Regression {
		t.Fatalf("verdict %s, want regression", r.Verdict)
	}
	nh := findingsOf(r, KindNewHotPath)
	if len(nh) != 1 || nh[0].Function != "github.com/profdiff/bank/internal/fraud.compileRulesInLoop" {
		t.Fatalf("new hot paths %+v", nh)
	}
	if !math.IsInf(nh[0].Change, 1) || nh[0].Baseline != 0 {
		t.Errorf("new hot path change %g baseline %g, want +Inf and 0", nh[0].Change, nh[0].Baseline)
	}
	// JSON must encode it (encoding/json refuses +Inf) as null, and read back.
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"change":null`) {
		t.Errorf("JSON lacks a null change: %.300s", data)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if got := findingsOf(&back, KindNewHotPath); len(got) != 1 || !math.IsInf(got[0].Change, 1) {
		t.Errorf("round trip lost the new hot path: %+v", got)
	}
}

func TestNoNaNLeaks(t *testing.T) {
	// Identical, constant windows: zero variance everywhere, samples unknown.
	m := gen.NewModel(4, 50)
	b, _ := pair(5, svc, m, m, 6, 2000, 0)
	c := cloneSeries(b)
	for _, se := range []*baseline.Series{b, c} {
		for i := range se.Windows {
			se.Windows[i].Samples = 0
			se.Windows[i].Self = b.Windows[0].Self
			se.Windows[i].Cum = b.Windows[0].Cum
			se.Windows[i].Total = b.Windows[0].Total
		}
	}
	r := mustCompare(t, snap(b), snap(c), Options{TopUnchanged: 1000})
	if r.Verdict != Pass {
		t.Fatalf("verdict %s", r.Verdict)
	}
	for _, f := range r.Series[0].Findings {
		for _, v := range []float64{f.Baseline, f.Current, f.Change, f.ChangeLow, f.ChangeHigh, f.P, f.Q, f.MinDetectable} {
			if math.IsNaN(v) {
				t.Fatalf("NaN in %+v", f)
			}
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func cloneSeries(se *baseline.Series) *baseline.Series {
	c := *se
	c.Windows = append([]baseline.Window(nil), se.Windows...)
	c.Functions = append([]baseline.Function(nil), se.Functions...)
	return &c
}

func TestInconclusive(t *testing.T) {
	m := gen.NewModel(5, 100)
	base, cur := pair(6, svc, m, m, 8, 3000, 0)
	other, _ := pair(6, "bank-order-service", m, m, 8, 3000, 0)
	tests := []struct {
		name   string
		mutate func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot)
		opts   Options
		reason string
	}{
		{"missing series", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			return snap(b, other), snap(c)
		}, Options{}, "no data in the current run for bank-order-service cpu"},
		{"no windows now", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.Windows = nil
			return snap(b), snap(c)
		}, Options{}, "no data in the current run"},
		{"too few windows", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.Windows = c.Windows[:3]
			return snap(b), snap(c)
		}, Options{}, "the current run has 3 usable windows, need 4"},
		{"empty windows", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			for i := range 5 {
				b.Windows[i] = baseline.Window{Start: b.Windows[i].Start, End: b.Windows[i].End}
			}
			return snap(b), snap(c)
		}, Options{}, "the baseline has 3 usable windows (5 empty), need 4"},
		{"too few samples", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			return snap(b), snap(c)
		}, Options{Params: Params{MinSamples: 100000}}, "the baseline has 24000 samples, need 100000"},
		{"sample type", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.SampleType = baseline.ValueType{Type: "samples", Unit: "count"}
			return snap(b), snap(c)
		}, Options{}, "sample types differ: baseline cpu/nanoseconds, current samples/count"},
		{"period type", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.PeriodType = baseline.ValueType{Type: "wall", Unit: "nanoseconds"}
			return snap(b), snap(c)
		}, Options{}, "period types differ"},
		{"period", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.Period = 5_000_000
			for i := range c.Windows {
				c.Windows[i].Period = 5_000_000
			}
			return snap(b), snap(c)
		}, Options{}, "sampling periods differ: baseline 10000000, current 5000000 nanoseconds"},
		{"mixed periods", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			c.Windows[2].Period = 5_000_000
			return snap(b), snap(c)
		}, Options{}, "the current run mixes sampling periods 5000000 and 10000000"},
		{"rate without times", func(b, c *baseline.Series) (*baseline.Snapshot, *baseline.Snapshot) {
			for i := range c.Windows {
				c.Windows[i].Start, c.Windows[i].End = time.Time{}, time.Time{}
			}
			return snap(b), snap(c)
		}, Options{Normalization: Rate}, "current run has 8 windows without start and end times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs, cs := tt.mutate(cloneSeries(base), cloneSeries(cur))
			r := mustCompare(t, bs, cs, tt.opts)
			if r.Verdict != Inconclusive {
				t.Fatalf("verdict %s, want inconclusive", r.Verdict)
			}
			var reasons []string
			for _, s := range r.Series {
				if s.Verdict == Inconclusive {
					reasons = append(reasons, s.Reason)
				}
			}
			if len(reasons) != 1 || !strings.Contains(reasons[0], tt.reason) {
				t.Fatalf("reasons %q, want one containing %q", reasons, tt.reason)
			}
			if strings.Count(reasons[0], ". ") > 0 || strings.Contains(reasons[0], "\n") {
				t.Errorf("reason is not one sentence: %q", reasons[0])
			}
			if r.Summary.Inconclusive != 1 || r.Verdict.ExitCode(false) != 2 || r.Verdict.ExitCode(true) != 0 {
				t.Errorf("summary %+v", r.Summary)
			}
		})
	}
}

func TestRegressionBeatsInconclusive(t *testing.T) {
	m := gen.NewModel(6, 100)
	hot := m.Closest(0.06)
	b, c := pair(8, svc, m, m.Scale(hot, 1.6), 8, 3000, 0)
	o, _ := pair(8, "bank-order-service", m, m, 8, 3000, 0)
	r := mustCompare(t, snap(b, o), snap(c), Options{})
	if r.Verdict != Regression || r.Series[0].Verdict != Regression || r.Series[1].Verdict != Inconclusive {
		t.Fatalf("verdict %s, series %s %s; want regression first, then inconclusive", r.Verdict, r.Series[0].Verdict, r.Series[1].Verdict)
	}
}

func TestNewSeriesInCurrentIsAWarning(t *testing.T) {
	m := gen.NewModel(7, 100)
	b, c := pair(9, svc, m, m, 8, 3000, 0)
	n, _ := pair(9, "bank-loan-service", m, m, 8, 3000, 0)
	r := mustCompare(t, snap(b), snap(c, n), Options{})
	if r.Verdict != Pass {
		t.Fatalf("verdict %s, want pass", r.Verdict)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "bank-loan-service cpu is not in the baseline") {
		t.Errorf("warnings %q", r.Warnings)
	}
	var found bool
	for _, s := range r.Series {
		if s.Service == "bank-loan-service" {
			found = s.NoBaseline && s.Verdict == Pass && s.Reason != ""
		}
	}
	if !found {
		t.Error("the new series is not reported as not compared")
	}
}

func TestPolicyOverridesAndIgnores(t *testing.T) {
	m := gen.NewModel(8, 200)
	hot := m.Closest(0.05)
	name := reduce.NormalizeFunctionName(m.Funcs[hot].Name)
	b, c := pair(10, svc, m, m.Scale(hot, 1.3), 8, 3000, 0)
	tests := []struct {
		name    string
		policy  fakePolicy
		verdict Verdict
		kind    Kind
		rule    string
	}{
		{"defaults", fakePolicy{}, Regression, KindRegression, ""},
		{"threshold raised for the function", fakePolicy{function: func(fn string) (Params, string) {
			if fn == name {
				return Params{Threshold: 0.5}, "overrides[0]"
			}
			return Params{}, ""
		}}, "", KindUnchanged, "overrides[0]"},
		{"floor raised for the series", fakePolicy{series: func(string, string) Params { return Params{Floor: 0.5} }}, Pass, "", ""},
		{"ignored", fakePolicy{ignore: map[string]string{name: "ignore[0]: known, JIRA-1"}}, Pass, KindIgnored, "ignore[0]: known, JIRA-1"},
		{"too strict alpha", fakePolicy{series: func(string, string) Params { return Params{Alpha: 1e-300} }}, Pass, KindUnchanged, "fake-series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompare(t, snap(b), snap(c), Options{Policy: tt.policy, TopUnchanged: 1000})
			if tt.verdict != "" && r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s", r.Verdict, tt.verdict)
			}
			var got *Finding
			for i, f := range r.Series[0].Findings {
				if f.Function == name && f.Measure == Self {
					got = &r.Series[0].Findings[i]
				}
			}
			if tt.kind == "" {
				if got != nil {
					t.Fatalf("%s was tested despite the floor: %+v", name, got)
				}
				return
			}
			if got == nil || got.Kind != tt.kind || got.Rule != tt.rule {
				t.Fatalf("finding %+v, want kind %s rule %q", got, tt.kind, tt.rule)
			}
			if tt.kind == KindIgnored && r.Summary.Ignored == 0 {
				t.Error("ignored finding not counted")
			}
		})
	}
}

func TestBenjaminiHochberg(t *testing.T) {
	// Worked example: p = 0.01, 0.04, 0.03, 0.005 (m = 4).
	q := benjaminiHochberg([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.02, 0.04, 0.04, 0.02}
	for i := range q {
		if math.Abs(q[i]-want[i]) > 1e-12 {
			t.Fatalf("q = %v, want %v", q, want)
		}
	}
	if len(benjaminiHochberg(nil)) != 0 {
		t.Fatal("empty input")
	}
}

func TestMinDetectableShrinksWithSamples(t *testing.T) {
	m := gen.NewModel(9, 200)
	var last float64 = math.Inf(1)
	for _, n := range []int{1500, 6000, 24000} {
		b, c := pair(11, svc, m, m, 8, n, 0)
		r := mustCompare(t, snap(b), snap(c), Options{Params: Params{Threshold: 0.001}})
		mde := r.Series[0].MinDetectable
		if !(mde > 0 && mde < last) {
			t.Fatalf("n=%d: MDE %g, previous %g: want positive and shrinking", n, mde, last)
		}
		last = mde
	}
	// A share p from N samples a side is known to about 1/sqrt(pN); the
	// hottest function of this model has p≈0.1, and with 8×24000 samples
	// its MDE should be a few percent.
	if last > 0.08 {
		t.Errorf("MDE with 192000 samples a side is %.1f%%, want a few percent", 100*last)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Normalization: "log"},
		{Params: Params{Alpha: 0.9}},
		{Params: Params{Floor: 2}},
		{Params: Params{MinWindows: -1}},
	} {
		if _, err := Compare(snap(), snap(), o); err == nil {
			t.Errorf("Compare accepted %+v", o)
		}
	}
	if _, err := Compare(nil, snap(), Options{}); err == nil {
		t.Error("nil baseline accepted")
	}
}

// allocSeries is an allocation series (no sample counts, as Go's heap
// profile) of 5 s windows: main.sparse holds sparse[i] sampled 64 KiB
// allocations in window i, main.bulk bulk[i] bytes.
func allocSeries(sparse []int64, bulk []int64) *baseline.Series {
	ids, _ := profiletype.Parse("alloc_space")
	se := baseline.NewSeries("bank-account-service", ids[0])
	se.Functions = []baseline.Function{{Name: "main.sparse"}, {Name: "main.bulk"}}
	for i := range sparse {
		v := baseline.Values{{F: 0, V: sparse[i] * 65536}, {F: 1, V: bulk[i]}}
		if sparse[i] == 0 {
			v = v[1:]
		}
		se.Windows = append(se.Windows, baseline.Window{
			Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
			Total: sparse[i]*65536 + bulk[i], Self: v, Cum: v,
		})
	}
	return se
}

// TestUncountedSamplesFloor: a profile that does not count its samples
// still comes in samples. A function seen in one sampled allocation a
// window in every window of the current run, against every other window of
// the baseline, has twice the rate but only 11 samples against an expected
// 5.5: chance, not a regression. A bulk function's +50% is still found.
func TestUncountedSamplesFloor(t *testing.T) {
	rep := func(pattern []int64, n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = pattern[i%len(pattern)]
		}
		return out
	}
	bulkBase := rep([]int64{1.00e6, 1.05e6, 0.95e6, 1.02e6, 0.98e6}, 22)
	bulkSame := rep([]int64{1.00e6, 1.03e6, 0.97e6}, 11)
	bulkUp := rep([]int64{1.50e6, 1.55e6, 1.45e6}, 11)
	base := allocSeries(rep([]int64{0, 1}, 22), bulkBase)
	opts := Options{Normalization: Rate, TopUnchanged: -1, Params: Params{MinSamples: 1}}
	tests := []struct {
		name string
		cur  *baseline.Series
		want map[string]bool // function: reported as a regression
	}{
		{"sparse doubling by chance", allocSeries(rep([]int64{1}, 11), bulkSame), map[string]bool{"main.sparse": false, "main.bulk": false}},
		{"bulk +50%", allocSeries(rep([]int64{0, 1}, 11), bulkUp), map[string]bool{"main.sparse": false, "main.bulk": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompare(t, snap(base), snap(tt.cur), opts).Series[0]
			for fn, want := range tt.want {
				if got := named(s, fn); got != want {
					t.Errorf("%s reported as a regression: %v, want %v (findings %+v)", fn, got, want, s.Findings)
				}
			}
		})
	}
}
