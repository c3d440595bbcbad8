package calibration

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/services/bank"
)

// sweepFixture is a calibration of two A/A runs and one +50% run, made by
// hand: the first A/A run has a credible +30% CPU increase and a +250% lock
// increase; the +50% run measures the CPU hot spot at +80% and the lock one
// at +110%.
func sweepFixture() *Result {
	fraud, _ := bank.HotspotByInject("fraud.rules")
	order, _ := bank.HotspotByInject("order.batch")
	cf := func(fn string, change float64) Finding {
		return Finding{Function: fn, Change: change, Class: ClassWrong}
	}
	trial := func(h bank.Hotspot, factor float64) *HotspotTrial {
		return &HotspotTrial{Inject: h.Inject, Service: h.Service, Function: h.Function, Profile: h.Profile, AltProfile: companion(h.Profile), Factor: factor}
	}
	return &Result{Runs: []*Run{
		{Kind: "aa", Series: []*Series{
			{Service: fraud.Service, Alias: "cpu", Role: RoleAA, Credible: []Finding{cf("runtime.mallocgc", 0.3)}},
			{Service: order.Service, Alias: "mutex_delay", Role: RoleAA, Credible: []Finding{cf("decayDemand", 2.5)}},
		}, Trials: []*HotspotTrial{trial(fraud, 1), trial(order, 1)}},
		{Kind: "aa", Series: []*Series{
			{Service: fraud.Service, Alias: "cpu", Role: RoleAA},
			{Service: order.Service, Alias: "mutex_delay", Role: RoleAA},
		}, Trials: []*HotspotTrial{trial(fraud, 1), trial(order, 1)}},
		{Kind: "ab", Magnitude: 1.5, Series: []*Series{
			{Service: fraud.Service, Alias: "cpu", Role: RoleTarget, Credible: []Finding{cf(fraud.Function, 0.8)}},
			{Service: order.Service, Alias: "mutex_count", Role: RoleTarget, Credible: []Finding{cf(order.Function, 1.1)}},
		}, Trials: []*HotspotTrial{trial(fraud, 1.5), trial(order, 1.5)}},
		{Kind: "aa", Err: "a failed run counts nowhere", Series: []*Series{
			{Service: fraud.Service, Alias: "cpu", Role: RoleAA, Credible: []Finding{cf("x", 9)}},
		}},
	}}
}

func TestSweep(t *testing.T) {
	c := sweepFixture()
	rows := map[string]SweepRow{}
	for _, r := range c.Sweep() {
		rows[r.Group+" "+strconv.FormatFloat(r.Threshold, 'g', -1, 64)] = r
	}
	tests := []struct {
		key                  string
		aaFalse, aaRuns      int
		inject               string
		found, trials        int // at +50%
		aaHotFound, aaTrials int // the hot spot's own function in A/A runs
	}{
		{"cpu 0.25", 1, 2, "fraud.rules", 1, 1, 0, 2},
		{"cpu 0.5", 0, 2, "fraud.rules", 1, 1, 0, 2},
		{"cpu 1", 0, 2, "fraud.rules", 0, 1, 0, 2},
		{"lock 1", 1, 2, "order.batch", 1, 1, 0, 2}, // found in mutex_count, the group's other type
		{"lock 2", 1, 2, "order.batch", 0, 1, 0, 2},
		{"lock 3", 0, 2, "order.batch", 0, 1, 0, 2},
	}
	for _, tt := range tests {
		r, ok := rows[tt.key]
		if !ok {
			t.Errorf("no sweep row %q", tt.key)
			continue
		}
		if r.AARunsFalse != tt.aaFalse || r.AARuns != tt.aaRuns {
			t.Errorf("%s: A/A runs false %d/%d, want %d/%d", tt.key, r.AARunsFalse, r.AARuns, tt.aaFalse, tt.aaRuns)
		}
		for _, d := range r.Detection {
			if d.Inject != tt.inject {
				t.Errorf("%s: detection row of %s in the %s group", tt.key, d.Inject, r.Group)
				continue
			}
			want := [2]int{tt.found, tt.trials}
			if d.Magnitude == 1 {
				want = [2]int{tt.aaHotFound, tt.aaTrials}
			}
			if got := [2]int{d.Found, d.Trials}; got != want {
				t.Errorf("%s: %s at x%g found %v, want %v", tt.key, d.Inject, d.Magnitude, got, want)
			}
		}
	}
}

func TestAtThresholds(t *testing.T) {
	c := sweepFixture()
	tests := []struct {
		th      string
		aaFalse int
		found   map[string]int // at +50%
	}{
		{"cpu=25%,lock=300%", 1, map[string]int{"fraud.rules": 1, "order.batch": 0}},
		{"cpu=50%,lock=300%", 0, map[string]int{"fraud.rules": 1, "order.batch": 0}},
		{"cpu=0.5,lock=1", 1, map[string]int{"fraud.rules": 1, "order.batch": 1}},
		{"cpu=100%,lock=100%", 1, map[string]int{"fraud.rules": 0, "order.batch": 1}},
		// The order hot spot was measured in mutex_count only.
		{"cpu=100%,lock=100%,mutex_count=off", 1, map[string]int{"fraud.rules": 0, "order.batch": 0}},
		{"cpu=100%,lock=100%,mutex_delay=off", 0, map[string]int{"fraud.rules": 0, "order.batch": 1}},
	}
	for _, tt := range tests {
		th, err := ParseThresholds(tt.th)
		if err != nil {
			t.Fatal(err)
		}
		n, f, det := c.AtThresholds(th)
		if n != 2 || f != tt.aaFalse {
			t.Errorf("%s: A/A runs false %d/%d, want %d/2", tt.th, f, n, tt.aaFalse)
		}
		for _, d := range det {
			if d.Magnitude == 1.5 && d.Found != tt.found[d.Inject] {
				t.Errorf("%s: %s found %d, want %d", tt.th, d.Inject, d.Found, tt.found[d.Inject])
			}
		}
	}
	var b strings.Builder
	c.WriteSweep(&b, map[string]float64{"cpu": 0.5, "lock": 3})
	for _, want := range []string{"| cpu | +25% | 1/2 (50%) |", "At thresholds cpu +50%, lock +300% (other groups as run): A/A runs with any false regression 0/2 (0%)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sweep table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]float64
		err  string
	}{
		{"", map[string]float64{}, ""},
		{"cpu=10%, lock=0.5", map[string]float64{"cpu": 0.1, "lock": 0.5}, ""},
		{"cpu", nil, `want GROUP=VALUE`},
		{"cpu=ten", nil, `"ten" is not a non-negative number`},
		{"lock=-1", nil, `not a non-negative number`},
		{"mutex_count=off", map[string]float64{"mutex_count": math.Inf(1)}, ""},
	}
	for _, tt := range tests {
		got, err := ParseThresholds(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseThresholds(%q) error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseThresholds(%q): %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseThresholds(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseThresholds(%q)[%s] = %v, want %v", tt.in, k, got[k], v)
			}
		}
	}
}
