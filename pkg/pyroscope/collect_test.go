package pyroscope

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

func mustTypes(t testing.TB, s ...string) []profiletype.ID {
	t.Helper()
	ids, err := profiletype.ParseList(s)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCollect(t *testing.T) {
	f := &fakeQuerier{}
	srv := newFake(t, f, nil)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Collect(context.Background(), Query{
		From:   t0,
		Until:  t0.Add(65 * time.Second), // the 5 s remainder is not collected
		Window: 10 * time.Second,
		Types:  mustTypes(t, "cpu", "alloc", "lock"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(res.Services, ","), "svc-a,svc-b"; got != want {
		t.Errorf("services = %s, want %s (svc-idle has no data)", got, want)
	}
	if res.Windows != 6 {
		t.Errorf("windows = %d, want 6", res.Windows)
	}
	snap := res.Snapshot
	if err := snap.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := len(snap.Series); got != 6 {
		t.Fatalf("%d series, want 6 (2 services x cpu, alloc_space, alloc_objects)", got)
	}
	if !snap.Meta.Until.Equal(t0.Add(60*time.Second)) || time.Duration(snap.Meta.Window) != 10*time.Second {
		t.Errorf("meta = %+v", snap.Meta)
	}
	cpuA := snap.Lookup("svc-a", cpuID)
	if cpuA == nil || len(cpuA.Windows) != 6 {
		t.Fatalf("svc-a cpu: %+v", cpuA)
	}
	for i, w := range cpuA.Windows {
		if want := t0.Add(time.Duration(i) * 10 * time.Second); !w.Start.Equal(want) || !w.End.Equal(want.Add(10*time.Second)) {
			t.Errorf("window %d is [%s, %s)", i, w.Start, w.End)
		}
		// The true period is recovered from the samples companion type.
		if w.Period != 1e7 || w.Samples != 1000 {
			t.Errorf("window %d: period %d samples %d, want 1e7 and 1000", i, w.Period, w.Samples)
		}
	}
	hot := functionIndex(cpuA, "main.hot")
	if hot < 0 || cpuA.Windows[0].Self.Get(hot) != 300*1e7 {
		t.Errorf("main.hot self in window 0 = %d", cpuA.Windows[0].Self.Get(hot))
	}
	// A window without data is absent, not zero.
	cpuB := snap.Lookup("svc-b", cpuID)
	if cpuB == nil || len(cpuB.Windows) != 5 {
		t.Fatalf("svc-b cpu has %d windows, want 5", len(cpuB.Windows))
	}
	for _, w := range cpuB.Windows {
		if w.Start.Equal(t0.Add(30 * time.Second)) {
			t.Errorf("svc-b has a window at +30s, where there is no data")
		}
	}
	// Lock types are not on the server: missing, with a reason, not an error.
	var missing []string
	for _, m := range res.Missing {
		missing = append(missing, m.String()+": "+m.Reason)
	}
	want := []string{
		"svc-a mutex_delay: the server has no mutex_delay profiles in the range",
		"svc-a mutex_count: the server has no mutex_count profiles in the range",
		"svc-b mutex_delay: the server has no mutex_delay profiles in the range",
		"svc-b mutex_count: the server has no mutex_count profiles in the range",
	}
	if strings.Join(missing, "\n") != strings.Join(want, "\n") {
		t.Errorf("missing:\n%s\nwant:\n%s", strings.Join(missing, "\n"), strings.Join(want, "\n"))
	}
	// Requests: one per (service, type, window), times in ms, the service
	// matcher in the selector.
	reqs := f.selectRequests()
	if got, want := len(reqs), 2*4*6; got != want { // cpu, samples, alloc_space, alloc_objects
		t.Errorf("%d SelectMergeProfile calls, want %d", got, want)
	}
	for _, r := range reqs {
		if r.End-r.Start != 10000 || !strings.HasPrefix(r.LabelSelector, `{service_name="svc-`) {
			t.Errorf("request %+v", r)
		}
	}
}

func TestCollectExplicitServicesAndSelector(t *testing.T) {
	f := &fakeQuerier{}
	srv := newFake(t, f, nil)
	c, _ := New(srv.URL, WithConcurrency(2))
	res, err := c.Collect(context.Background(), Query{
		From: t0, Until: t0.Add(20 * time.Second), Window: 10 * time.Second,
		Services: []string{"svc-idle", "svc-a", "svc-a"},
		Types:    mustTypes(t, "cpu"),
		Selector: MustParseSelector(`version="v2"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 1 || res.Missing[0].SeriesKey != (SeriesKey{"svc-idle", cpuID}) || res.Missing[0].Reason != "no data in the range" {
		t.Errorf("missing = %+v", res.Missing)
	}
	if res.Snapshot.Lookup("svc-a", cpuID) == nil || res.Snapshot.Meta.Selector != `{version="v2"}` {
		t.Errorf("snapshot = %+v", res.Snapshot.Meta)
	}
	for _, r := range f.selectRequests() {
		if !strings.HasSuffix(r.LabelSelector, `",version="v2"}`) {
			t.Errorf("selector %s lacks the user's matcher", r.LabelSelector)
		}
	}
}

func TestCollectCPUPeriodWithoutSamplesType(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		period int64
	}{
		{"default 100 Hz", nil, 1e7},
		{"configured 250 Hz", []Option{WithCPUSampleRate(250)}, 4e6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, &fakeQuerier{types: []string{cpuID}}, nil)
			c, _ := New(srv.URL, tt.opts...)
			res, err := c.Collect(context.Background(), Query{From: t0, Until: t0.Add(10 * time.Second), Window: 10 * time.Second, Services: []string{"svc-a"}, Types: mustTypes(t, "cpu")})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Snapshot.Series[0].Windows[0].Period; got != tt.period {
				t.Errorf("period = %d, want %d", got, tt.period)
			}
		})
	}
}

func TestCollectUnknownType(t *testing.T) {
	srv := newFake(t, &fakeQuerier{}, nil)
	c, _ := New(srv.URL)
	_, err := c.Collect(context.Background(), Query{From: t0, Until: t0.Add(time.Minute),
		Types: mustTypes(t, "process_cpu:cpu:nanosecond:cpu:nanoseconds")})
	var ue *UnknownProfileTypeError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnknownProfileTypeError", err)
	}
	if !strings.Contains(err.Error(), `no profile type "process_cpu:cpu:nanosecond:cpu:nanoseconds"; it has: `+allocObj) {
		t.Errorf("message does not list the server's types: %v", err)
	}
}

func TestQueryValidation(t *testing.T) {
	tests := []struct {
		q   Query
		err string
	}{
		{Query{Until: t0}, "needs both"},
		{Query{From: t0, Until: t0}, "range is empty"},
		{Query{From: t0, Until: t0.Add(5 * time.Second)}, "shorter than one 15s window"},
		{Query{From: t0, Until: t0.Add(time.Minute), Window: time.Millisecond}, "at least 1s"},
		{Query{From: t0, Until: t0.Add(10000 * time.Hour)}, "at most 10000"},
	}
	c, _ := New("http://127.0.0.1:1")
	for _, tt := range tests {
		_, err := c.Collect(context.Background(), tt.q)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Collect(%+v) = %v, want error containing %q", tt.q, err, tt.err)
		}
	}
}

func functionIndex(se *baseline.Series, name string) int32 {
	for i, f := range se.Functions {
		if f.Name == name {
			return int32(i)
		}
	}
	return -1
}

// Frames without a symbol come back from Pyroscope as functions with no
// name; they are kept, under a name, rather than failing the snapshot.
func TestCollectUnnamedFunctions(t *testing.T) {
	data := func(typeID, sel string, start, end time.Time) *profile.Profile {
		p := mkProfile("cpu", "nanoseconds", "cpu", "nanoseconds", 1e9, start, 5e7, 5e7)
		p.Function[2].Name, p.Function[2].SystemName = "", ""
		p.Function[1].Name = ""
		return p
	}
	srv := newFake(t, &fakeQuerier{types: []string{cpuID}, data: data}, nil)
	c, _ := New(srv.URL)
	res, err := c.Collect(context.Background(), Query{From: t0, Until: t0.Add(10 * time.Second), Window: 10 * time.Second, Services: []string{"svc-a"}, Types: mustTypes(t, "cpu")})
	if err != nil {
		t.Fatal(err)
	}
	se := res.Snapshot.Series[0]
	if functionIndex(se, "<unknown>") < 0 || functionIndex(se, "main.hot") < 0 {
		t.Errorf("functions = %+v; want main.hot from its system name and <unknown>", se.Functions)
	}
}
