package testenv

import (
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/services/loadgen"
)

func TestDiffOptionsPolicy(t *testing.T) {
	o := DiffOptions()
	if o.Policy == nil {
		t.Fatal("no harness policy")
	}
	lock, _ := profiletype.Parse("mutex_delay")
	cpu, _ := profiletype.Parse("cpu")
	def := diff.DefaultParams()
	if p, _ := o.Policy.SeriesParams("bank-order-service", lock[0].String(), def); p.Threshold != 0.5 {
		t.Errorf("lock threshold %v, want 0.5", p.Threshold)
	}
	if p, _ := o.Policy.SeriesParams("bank-fraud-service", cpu[0].String(), def); p.Threshold != def.Threshold {
		t.Errorf("cpu threshold %v, want the default %v", p.Threshold, def.Threshold)
	}
	if o.Normalization != diff.Rate {
		t.Errorf("normalization = %q, want rate (the harness's load is fixed)", o.Normalization)
	}
}

func TestFailedLoadIsInconclusive(t *testing.T) {
	tests := []struct {
		name        string
		errors      int
		in, want    diff.Verdict
		wantWarning string
	}{
		{"clean load keeps a pass", 0, diff.Pass, diff.Pass, ""},
		{"a few errors keep a regression", 5, diff.Regression, diff.Regression, ""},
		{"failed load turns a regression inconclusive", 300, diff.Regression, diff.Inconclusive, "bank-loan-service 300"},
		{"failed load turns a pass inconclusive", 300, diff.Pass, diff.Inconclusive, "the load run failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &diff.Result{Verdict: tt.in}
			m := &Measurement{Load: &loadgen.Result{Requests: 10000, Errors: tt.errors, Elapsed: time.Minute,
				Endpoints: []loadgen.EndpointStats{{Service: "bank-loan-service", Requests: 1000, Errors: tt.errors}}}}
			failedLoad(r, m)
			if r.Verdict != tt.want {
				t.Errorf("verdict %s, want %s", r.Verdict, tt.want)
			}
			if tt.wantWarning != "" && (len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], tt.wantWarning)) {
				t.Errorf("warnings %q, want one containing %q", r.Warnings, tt.wantWarning)
			}
		})
	}
}

func TestAlign(t *testing.T) {
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		t        time.Time
		up, down time.Time
	}{
		{base, base, base},
		{base.Add(time.Second), base.Add(5 * time.Second), base},
		{base.Add(4999 * time.Millisecond), base.Add(5 * time.Second), base},
	}
	for _, tt := range tests {
		if got := alignUp(tt.t, 5*time.Second); !got.Equal(tt.up) {
			t.Errorf("alignUp(%v) = %v, want %v", tt.t, got, tt.up)
		}
		if got := alignDown(tt.t, 5*time.Second); !got.Equal(tt.down) {
			t.Errorf("alignDown(%v) = %v, want %v", tt.t, got, tt.down)
		}
	}
}

func TestHarnessRulesIgnoreProfilerFrames(t *testing.T) {
	o := DiffOptions()
	alloc, _ := profiletype.Parse("alloc_space")
	for fn, want := range map[string]bool{
		"runtime/pprof.(*profileBuilder).build":                            true,
		"github.com/grafana/pyroscope-go/upstream/remote.(*Remote).upload": true,
		// The SDK's root package has no slash after its path (a 30 s
		// calibration run failed on it: +271% in alloc_objects).
		"github.com/grafana/pyroscope-go.(*Session).dumpMutexProfile":   true,
		"github.com/grafana/pyroscope-gofake.f":                         false,
		"<unknown>":                                                     true,
		"github.com/profdiff/profdiff/services/bank.renderNotification": false,
	} {
		if _, got := o.Policy.Ignore("bank-notification-service", alloc[0].String(), fn); got != want {
			t.Errorf("ignore %s = %v, want %v", fn, got, want)
		}
	}
}

func TestLockOnlyWithLockHotspots(t *testing.T) {
	snap := &baseline.Snapshot{}
	for _, svc := range []string{"bank-order-service", "bank-fraud-service"} {
		for _, alias := range []string{"cpu", "mutex_delay", "mutex_count"} {
			ids, _ := profiletype.Parse(alias)
			snap.Put(baseline.NewSeries(svc, ids[0]))
		}
	}
	kept, dropped := lockOnlyWithLockHotspots(snap)
	var got []string
	for _, se := range kept.Series {
		got = append(got, se.Service+" "+profiletype.MustAlias(se.ProfileType))
	}
	want := "bank-fraud-service cpu,bank-order-service mutex_count,bank-order-service mutex_delay,bank-order-service cpu"
	if strings.Join(got, ",") != want {
		t.Errorf("kept %v, want %s", got, want)
	}
	if len(dropped) != 2 || !strings.Contains(dropped[0], "bank-fraud-service") {
		t.Errorf("dropped %v, want the fraud service's two lock series", dropped)
	}
}

func TestHarnessRulesIgnoreRuntimeLocks(t *testing.T) {
	o := DiffOptions()
	lock, _ := profiletype.Parse("mutex_count")
	cpu, _ := profiletype.Parse("cpu")
	if _, ok := o.Policy.Ignore("bank-account-service", lock[0].String(), "runtime.entersyscallWakeSysmon"); !ok {
		t.Error("a runtime lock is not ignored in the lock profile")
	}
	if _, ok := o.Policy.Ignore("bank-account-service", lock[0].String(), "github.com/profdiff/profdiff/services/bank.(*accountStore).applyBalanceChange"); ok {
		t.Error("the service's own lock holder is ignored")
	}
	if _, ok := o.Policy.Ignore("bank-fraud-service", cpu[0].String(), "runtime.mallocgc"); ok {
		t.Error("runtime functions are ignored in CPU profiles too")
	}
}
