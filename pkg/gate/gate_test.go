package gate

import (
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/rules"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// cpuSeries is a CPU series of windows whose function main.hot holds hot
// of every 1000 samples, the rest main.rest.
func cpuSeries(service string, windows int, hot int64) *baseline.Series {
	ids, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries(service, ids[0])
	se.Period = 10_000_000
	se.Functions = []baseline.Function{{Name: "main.hot"}, {Name: "main.rest"}}
	for i := range windows {
		h := (hot + int64(i%3-1)) * se.Period
		r := (1000 - hot) * se.Period
		se.Windows = append(se.Windows, baseline.Window{
			Start: t0.Add(time.Duration(i) * 10 * time.Second), End: t0.Add(time.Duration(i+1) * 10 * time.Second),
			Total: h + r, Samples: 1000, Period: se.Period,
			Self: baseline.Values{{F: 0, V: h}, {F: 1, V: r}},
			Cum:  baseline.Values{{F: 0, V: h}, {F: 1, V: r}},
		})
	}
	return se
}

func snapshot(rate string, series ...*baseline.Series) *baseline.Snapshot {
	s := &baseline.Snapshot{Meta: baseline.Meta{Labels: map[string]string{}}}
	if rate != "" {
		s.Meta.Labels[LoadRateLabel] = rate
	}
	for _, se := range series {
		s.Put(se)
	}
	return s
}

func TestDefaultRules(t *testing.T) {
	for _, text := range []string{DefaultRules, DuetRules} {
		r, err := rules.Parse([]byte(text), "default")
		if err != nil {
			t.Fatal(err)
		}
		checkIgnores(t, r.Policy(t0))
	}
}

// checkIgnores: the ignores name no code of a service to fix; each row is a
// function seen on the bank stack's A/A runs.
func checkIgnores(t *testing.T, pol diff.Policy) {
	t.Helper()
	cpu, _ := profiletype.Parse("cpu")
	mutex, _ := profiletype.Parse("mutex_delay")
	for _, tt := range []struct {
		id      profiletype.ID
		fn      string
		ignored bool
	}{
		{cpu[0], "runtime/pprof.(*profileBuilder).build", true},
		{cpu[0], "github.com/grafana/pyroscope-go.(*Session).dumpMutexProfile", true},
		{cpu[0], "runtime.stkbucket", true}, // the runtime's profile bookkeeping: +311% on one A/A run
		{cpu[0], "runtime.mProf_Malloc", true},
		{cpu[0], "<unknown>", true},
		{cpu[0], "runtime.mallocgc", false},
		{cpu[0], "runtime.stkbucketX", false},
		{cpu[0], "main.stkbucket", false},
		{mutex[0], "runtime.unlock2", true},
		{mutex[0], "main.(*store).get", false},
	} {
		if _, got := pol.Ignore("svc", tt.id.String(), tt.fn); got != tt.ignored {
			t.Errorf("%s %s: ignored %v, want %v", tt.id.Alias(), tt.fn, got, tt.ignored)
		}
	}
}

func TestNormalization(t *testing.T) {
	tests := []struct {
		base, cur string
		want      diff.Normalization
	}{
		{"500", "500", diff.Rate},
		{"500", "400", diff.Share},
		{"", "500", diff.Share},
		{"", "", diff.Share},
	}
	for _, tt := range tests {
		if got := Normalization(snapshot(tt.base), snapshot(tt.cur)); got != tt.want {
			t.Errorf("load rates %q, %q: %s, want %s", tt.base, tt.cur, got, tt.want)
		}
	}
}

func TestLoadProblem(t *testing.T) {
	tests := []struct {
		name string
		load Load
		want string // "" for none
	}{
		{"clean", Load{Rate: 500, Achieved: 499, Requests: 30000}, ""},
		{"a few errors", Load{Rate: 500, Achieved: 499, Requests: 30000, Errors: 100}, ""},
		{"failed", Load{Rate: 500, Achieved: 499, Requests: 10000, Errors: 300, ErrorsByService: map[string]int{"bank-loan-service": 300}}, "bank-loan-service 300"},
		{"short", Load{Rate: 500, Achieved: 413, Requests: 24780}, "413 req/s delivered of 500"},
		{"rate not the caller's", Load{Achieved: 100, Requests: 1000}, ""},
	}
	for _, tt := range tests {
		got := tt.load.Problem()
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: problem %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestShortLoadIsInconclusive: a regression measured under a load that
// fell short is not a regression of the build, nor is a pass a pass.
func TestShortLoadIsInconclusive(t *testing.T) {
	base := snapshot("500", cpuSeries("svc", 8, 100))
	for _, hot := range []int64{100, 200} {
		cur := snapshot("500", cpuSeries("svc", 8, hot))
		ok, err := Compare(base, cur, Options{Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		short, err := Compare(base, cur, Options{Now: t0, Loads: []Load{{Rate: 500, Achieved: 413, Requests: 24780}}})
		if err != nil {
			t.Fatal(err)
		}
		if ok.Verdict == diff.Inconclusive || short.Verdict != diff.Inconclusive {
			t.Errorf("hot %d: verdicts %s with a full load, %s with a short one; want a verdict, then inconclusive", hot, ok.Verdict, short.Verdict)
		}
		if len(short.Warnings) == 0 || !strings.Contains(short.Warnings[len(short.Warnings)-1], "fell short") {
			t.Errorf("warnings %q, want the shortfall named", short.Warnings)
		}
	}
}

// TestPrune: a baseline leaves out the series the rules ignore as a whole
// and those too thin to gate, each with its reason, and keeps the rest.
func TestPrune(t *testing.T) {
	r, err := rules.Parse([]byte("version: 1\nignore:\n  - service: quiet\n    reason: nothing to gate here\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshot("500", cpuSeries("busy", 8, 100), cpuSeries("quiet", 8, 100), cpuSeries("thin", 2, 100))
	kept, dropped, err := Prune(snap, Options{Rules: r, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Series) != 1 || kept.Series[0].Service != "busy" {
		t.Errorf("kept %d series, want only busy's", len(kept.Series))
	}
	got := strings.Join(dropped, "\n")
	for _, want := range []string{"quiet cpu: ignore[0]: nothing to gate here", "thin cpu: the baseline has 2 usable windows"} {
		if !strings.Contains(got, want) {
			t.Errorf("dropped %q, want a line with %q", dropped, want)
		}
	}
}

// TestDuetRules: a duet (both sides labelled as pairs, with the same runs)
// is judged by DuetRules, where locks fail from the default threshold, as
// every other type; a stored baseline keeps DefaultRules' +50% for them.
func TestDuetRules(t *testing.T) {
	mutex, _ := profiletype.Parse("mutex_delay")
	side := func(paired bool) *baseline.Snapshot {
		s := snapshot("500", cpuSeries("svc", 8, 100))
		if paired {
			s.Meta.Labels[diff.PairingLabel] = "runs"
		}
		return s
	}
	for _, tt := range []struct {
		paired bool
		want   float64
	}{{false, 0.5}, {true, diff.DefaultParams().Threshold}} {
		base, cur := side(tt.paired), side(tt.paired)
		if got := diff.Paired(base, cur); got != tt.paired {
			t.Fatalf("Paired = %v, want %v", got, tt.paired)
		}
		o, err := DiffOptions(base, cur, Options{Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := o.Policy.SeriesParams("svc", mutex[0].String(), o.Params.Merge(diff.DefaultParams()))
		if p.Threshold != tt.want {
			t.Errorf("paired %v: lock threshold %g, want %g", tt.paired, p.Threshold, tt.want)
		}
		checkIgnores(t, o.Policy)
	}
}

// TestFlagsBeatRules: a run's parameters (command-line flags) win over a
// rules file's defaults, which win over the gate's.
func TestFlagsBeatRules(t *testing.T) {
	r, err := rules.Parse([]byte("version: 1\ndefaults:\n  threshold: 30%\n  floor: 2%\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot("", cpuSeries("svc", 8, 100))
	o, err := DiffOptions(s, s, Options{Rules: r, Params: diff.Params{Threshold: 0.5}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := o.Policy.SeriesParams("svc", s.Series[0].ProfileType, o.Params.Merge(diff.DefaultParams()))
	if p.Threshold != 0.5 || p.Floor != 0.02 {
		t.Errorf("threshold %g, floor %g; want the flag's 0.5 and the file's 0.02", p.Threshold, p.Floor)
	}
}

// TestPruneBarBeatsRules: the samples a baseline's series needs (half again
// the gate's minimum, per run it holds) hold whatever a rules file's
// defaults say the minimum is.
func TestPruneBarBeatsRules(t *testing.T) {
	r, err := rules.Parse([]byte("version: 1\ndefaults:\n  min_samples: 4000\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	// 8 windows of 1,000 samples: 8,000, under 1.5 x 4,000 x 2 runs.
	se := cpuSeries("svc", 8, 100)
	for i := range se.Windows {
		se.Windows[i].Run = int32(i % 2)
	}
	kept, dropped, err := Prune(snapshot("500", se), Options{Rules: r, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Series) != 0 || len(dropped) != 1 || !strings.Contains(dropped[0], "need 12000") {
		t.Errorf("kept %d series, dropped %q; want it dropped for needing 12000 samples", len(kept.Series), dropped)
	}
}
