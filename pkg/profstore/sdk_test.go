package profstore

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/grafana/pyroscope-go"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"

	"github.com/profdiff/profdiff/internal/workload"
)

// TestSDKRoundTrip runs the real pyroscope-go SDK with all ten profile types
// against the server and reads back with the real generated connect client.
func TestSDKRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real SDK for a few seconds")
	}
	srv := startTest(t, Options{})
	const app = "profstore-sdk-test"

	prevMutex := runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100_000)
	t.Cleanup(func() {
		runtime.SetMutexProfileFraction(prevMutex)
		runtime.SetBlockProfileRate(0)
	})
	start := time.Now()
	prof, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: app,
		ServerAddress:   srv.URL(),
		UploadRate:      time.Second,
		Tags:            map[string]string{"env": "test", "version": "1.0"},
		Logger:          nil,
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU, pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace, pyroscope.ProfileGoroutines,
			pyroscope.ProfileMutexCount, pyroscope.ProfileMutexDuration,
			pyroscope.ProfileBlockCount, pyroscope.ProfileBlockDuration,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); workload.Spin(stop) }()
	go func() { defer wg.Done(); workload.Contend(stop, 4, 200*time.Microsecond, 256<<10) }() // over 64 KiB: always heap-allocated

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	werr := srv.WaitForUploads(ctx, app, allTypeIDs, 2)
	close(stop)
	wg.Wait()
	if err := prof.Stop(); err != nil {
		t.Logf("profiler stop: %v", err)
	}
	if werr != nil {
		t.Fatalf("waiting for uploads: %v; have %+v", werr, srv.Stats().Services[app])
	}
	end := time.Now().Add(time.Second)

	c := querierv1connect.NewQuerierServiceClient(http.DefaultClient, srv.URL())
	rng := func() (int64, int64) { return start.Add(-time.Minute).UnixMilli(), end.UnixMilli() }
	s, e := rng()

	pt, err := c.ProfileTypes(ctx, connect.NewRequest(&querierv1.ProfileTypesRequest{Start: s, End: e}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pt.Msg.ProfileTypes {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, allTypeIDs) {
		t.Errorf("profile types:\n got %q\nwant %q", ids, allTypeIDs)
	}

	ln, err := c.LabelNames(ctx, connect.NewRequest(&typesv1.LabelNamesRequest{Start: s, End: e}))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"__name__", "__period_type__", "__period_unit__", "__profile_type__", "__service_name__", "__type__", "__unit__", "env", "pyroscope_spy", "service_name", "version"}
	if !slices.Equal(ln.Msg.Names, wantNames) {
		t.Errorf("label names:\n got %q\nwant %q", ln.Msg.Names, wantNames)
	}

	for _, tc := range []struct {
		label string
		want  []string
	}{
		{"service_name", []string{app}},
		{"env", []string{"test"}},
		{"pyroscope_spy", []string{"gospy"}},
	} {
		lv, err := c.LabelValues(ctx, connect.NewRequest(&typesv1.LabelValuesRequest{Name: tc.label, Start: s, End: e}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(lv.Msg.Names, tc.want) {
			t.Errorf("label values %s: got %q want %q", tc.label, lv.Msg.Names, tc.want)
		}
	}

	for _, tc := range []struct {
		typeID   string
		wantFunc string
		period   int64
	}{
		{cpuType, "internal/workload.Spin", 1_000_000_000},
		{"process_cpu:samples:count:cpu:nanoseconds", "internal/workload.Spin", 1_000_000_000},
		{allocType, "internal/workload.Contend", 512 * 1024},
		{mutexType, "internal/workload.Contend", 1},
		{"goroutine:goroutine:count:goroutine:count", "internal/workload.Contend", 1},
	} {
		mp, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{
			ProfileTypeID: tc.typeID, LabelSelector: `{service_name="` + app + `",env=~"te.*"}`, Start: s, End: e,
		}))
		if err != nil {
			t.Fatalf("%s: %v", tc.typeID, err)
		}
		p := mp.Msg
		if len(p.SampleType) != 1 {
			t.Errorf("%s: %d sample types, want exactly 1", tc.typeID, len(p.SampleType))
		}
		if p.Period != tc.period || p.TimeNanos != e*1e6 {
			t.Errorf("%s: period %d time %d, want %d and %d", tc.typeID, p.Period, p.TimeNanos, tc.period, e*1e6)
		}
		found := false
		var total int64
		for _, f := range p.Function {
			if strings.Contains(p.StringTable[f.Name], tc.wantFunc) {
				found = true
			}
		}
		for _, smp := range p.Sample {
			total += smp.Value[0]
		}
		if !found || total <= 0 {
			t.Errorf("%s: function %s found=%v, total %d", tc.typeID, tc.wantFunc, found, total)
		}
	}
}
