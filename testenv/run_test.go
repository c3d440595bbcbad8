package testenv

import (
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/services/loadgen"
)

// harnessDiffOptions are the comparison options the harness's gate
// applies to two sides measured under its fixed load.
func harnessDiffOptions(t *testing.T) diff.Options {
	t.Helper()
	o, err := HarnessDiffOptions(GateOptions())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestGateOptionsPolicy(t *testing.T) {
	o := harnessDiffOptions(t)
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

func TestMeasurementGateLoad(t *testing.T) {
	m := &Measurement{Rate: 500, Load: &loadgen.Result{Requests: 10000, Errors: 300, Achieved: 410, Elapsed: time.Minute,
		Endpoints: []loadgen.EndpointStats{{Service: "bank-loan-service", Requests: 1000, Errors: 300}}}}
	l := m.gateLoad()
	if l.Rate != 500 || l.Achieved != 410 || l.Errors != 300 || l.ErrorsByService["bank-loan-service"] != 300 {
		t.Fatalf("gate load %+v does not describe the run", l)
	}
	if why := l.Problem(); !strings.Contains(why, "bank-loan-service 300") {
		t.Errorf("problem %q, want the failing service named", why)
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
	o := harnessDiffOptions(t)
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

// TestHarnessRulesLeaveOutIncidentalLocks: the lock series of services
// without a lock hot spot are not gated (HarnessRules), and a baseline
// leaves them out with the reason (gate.Prune).
func TestHarnessRulesLeaveOutIncidentalLocks(t *testing.T) {
	r := GateOptions().Rules
	for _, tt := range []struct {
		service, alias string
		left           bool
	}{
		{"bank-fraud-service", "mutex_delay", true},
		{"bank-fraud-service", "block_count", true},
		{"bank-fraud-service", "cpu", false},
		{"bank-order-service", "mutex_delay", false},
		{"bank-order-service", "mutex_count", false},
	} {
		ids, _ := profiletype.Parse(tt.alias)
		why, got := r.SeriesIgnored(tt.service, ids[0].String(), time.Now())
		if got != tt.left {
			t.Errorf("%s %s left out: %v, want %v", tt.service, tt.alias, got, tt.left)
		}
		if got && !strings.Contains(why, "no lock hot spot") {
			t.Errorf("%s %s: reason %q", tt.service, tt.alias, why)
		}
	}
}

func TestHarnessRulesIgnoreRuntimeLocks(t *testing.T) {
	o := harnessDiffOptions(t)
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
