package pyroscope

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"
	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// fakeQuerier is a Pyroscope querier built on the real generated handler,
// answering from a function so that each test decides what data exists.
type fakeQuerier struct {
	querierv1connect.UnimplementedQuerierServiceHandler

	types []string
	// data returns the merged profile for a query, or nil for no data.
	data func(typeID, selector string, start, end time.Time) *profile.Profile

	mu       sync.Mutex
	requests []*querierv1.SelectMergeProfileRequest
	headers  []http.Header
}

func (f *fakeQuerier) record(h http.Header, r *querierv1.SelectMergeProfileRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.headers = append(f.headers, h.Clone())
	if r != nil {
		f.requests = append(f.requests, r)
	}
}

func (f *fakeQuerier) ProfileTypes(_ context.Context, req *connect.Request[querierv1.ProfileTypesRequest]) (*connect.Response[querierv1.ProfileTypesResponse], error) {
	f.record(req.Header(), nil)
	resp := &querierv1.ProfileTypesResponse{}
	for _, t := range f.types {
		id, _ := profiletype.ParseID(t)
		resp.ProfileTypes = append(resp.ProfileTypes, &typesv1.ProfileType{ID: t, Name: id.Name,
			SampleType: id.SampleType, SampleUnit: id.SampleUnit, PeriodType: id.PeriodType, PeriodUnit: id.PeriodUnit})
	}
	return connect.NewResponse(resp), nil
}

// LabelValues lists service_name values: the services that have data for
// any known type in the range, filtered by the matchers' service_name and
// __profile_type__ equality matchers (enough for these tests).
func (f *fakeQuerier) LabelValues(_ context.Context, req *connect.Request[typesv1.LabelValuesRequest]) (*connect.Response[typesv1.LabelValuesResponse], error) {
	f.record(req.Header(), nil)
	m := req.Msg
	if m.Start == 0 || m.End == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("missing time range in the query"))
	}
	if m.Name != "service_name" {
		return connect.NewResponse(&typesv1.LabelValuesResponse{}), nil
	}
	types := f.types
	for _, sel := range m.Matchers {
		if _, err := promParser.ParseMetricSelector(sel); err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, err)
		}
		if i := strings.Index(sel, `__profile_type__="`); i >= 0 {
			rest := sel[i+len(`__profile_type__="`):]
			types = []string{rest[:strings.IndexByte(rest, '"')]}
		}
	}
	seen := map[string]bool{}
	for _, svc := range fakeServices {
		for _, t := range types {
			if f.data(t, `{service_name="`+svc+`"}`, time.UnixMilli(m.Start), time.UnixMilli(m.End)) != nil {
				seen[svc] = true
			}
		}
	}
	var names []string
	for s := range seen {
		names = append(names, s)
	}
	sort.Strings(names)
	return connect.NewResponse(&typesv1.LabelValuesResponse{Names: names}), nil
}

func (f *fakeQuerier) SelectMergeProfile(_ context.Context, req *connect.Request[querierv1.SelectMergeProfileRequest]) (*connect.Response[profilev1.Profile], error) {
	f.record(req.Header(), req.Msg)
	m := req.Msg
	if _, err := promParser.ParseMetricSelector(m.LabelSelector); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	p := f.data(m.ProfileTypeID, m.LabelSelector, time.UnixMilli(m.Start), time.UnixMilli(m.End))
	if p == nil {
		return connect.NewResponse(&profilev1.Profile{StringTable: []string{""}}), nil
	}
	var b strings.Builder
	if err := p.WriteUncompressed(&b); err != nil {
		return nil, err
	}
	msg := &profilev1.Profile{}
	if err := msg.UnmarshalVT([]byte(b.String())); err != nil {
		return nil, err
	}
	return connect.NewResponse(msg), nil
}

func (f *fakeQuerier) selectRequests() []*querierv1.SelectMergeProfileRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*querierv1.SelectMergeProfileRequest(nil), f.requests...)
}

func (f *fakeQuerier) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.headers) == 0 {
		return nil
	}
	return f.headers[len(f.headers)-1]
}

// fakeServices are the services the default fake data knows.
var fakeServices = []string{"svc-a", "svc-b", "svc-idle"}

const (
	cpuID     = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	samplesID = "process_cpu:samples:count:cpu:nanoseconds"
	allocID   = "memory:alloc_space:bytes:space:bytes"
	allocObj  = "memory:alloc_objects:count:space:bytes"
)

// t0 is the start of the fake data: 60 s of it, in 10 s uploads.
var t0 = time.Unix(1795710000, 0).UTC()

// defaultData: svc-a has CPU and alloc data in all six windows, svc-b in all
// but the window starting at t0+30s, svc-idle has none. CPU profiles come
// back as Pyroscope merges them: period 1e9, values in nanoseconds of 10 ms
// samples. hot is the share of samples in "main.hot".
func defaultData(hot float64) func(typeID, selector string, start, end time.Time) *profile.Profile {
	return func(typeID, selector string, start, end time.Time) *profile.Profile {
		svc := ""
		if i := strings.Index(selector, `service_name="`); i >= 0 {
			rest := selector[i+len(`service_name="`):]
			svc = rest[:strings.IndexByte(rest, '"')]
		}
		if svc != "svc-a" && svc != "svc-b" {
			return nil
		}
		// Uploads at t0, t0+10s, ..., t0+50s, each counted in the window
		// containing its start, as Pyroscope does.
		n := 0
		for i := 0; i < 6; i++ {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			if svc == "svc-b" && i == 3 {
				continue
			}
			if !at.Before(start) && at.Before(end) {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		samples := int64(1000 * n) // 1000 samples per upload
		hotN := int64(float64(samples) * hot)
		switch typeID {
		case cpuID:
			return mkProfile("cpu", "nanoseconds", "cpu", "nanoseconds", 1e9, start, hotN*1e7, (samples-hotN)*1e7)
		case samplesID:
			return mkProfile("samples", "count", "cpu", "nanoseconds", 1e9, start, hotN, samples-hotN)
		case allocID:
			return mkProfile("alloc_space", "bytes", "space", "bytes", 524288, start, hotN*4096, (samples-hotN)*4096)
		case allocObj:
			return mkProfile("alloc_objects", "count", "space", "bytes", 524288, start, hotN*8, (samples-hotN)*8)
		}
		return nil
	}
}

// mkProfile builds a one-sample-type profile with two stacks:
// main.main > main.hot and main.main > main.cold.
func mkProfile(typ, unit, ptyp, punit string, period int64, start time.Time, hot, cold int64) *profile.Profile {
	mainFn := &profile.Function{ID: 1, Name: "main.main", SystemName: "main.main", Filename: "main.go", StartLine: 10}
	hotFn := &profile.Function{ID: 2, Name: "main.hot", SystemName: "main.hot", Filename: "main.go", StartLine: 20}
	coldFn := &profile.Function{ID: 3, Name: "main.cold", SystemName: "main.cold", Filename: "main.go", StartLine: 30}
	mainLoc := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn, Line: 12}}}
	hotLoc := &profile.Location{ID: 2, Line: []profile.Line{{Function: hotFn, Line: 22}}}
	coldLoc := &profile.Location{ID: 3, Line: []profile.Line{{Function: coldFn, Line: 32}}}
	return &profile.Profile{
		SampleType: []*profile.ValueType{{Type: typ, Unit: unit}},
		PeriodType: &profile.ValueType{Type: ptyp, Unit: punit},
		Period:     period,
		TimeNanos:  start.UnixNano(),
		Function:   []*profile.Function{mainFn, hotFn, coldFn},
		Location:   []*profile.Location{mainLoc, hotLoc, coldLoc},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{hotLoc, mainLoc}, Value: []int64{hot}},
			{Location: []*profile.Location{coldLoc, mainLoc}, Value: []int64{cold}},
		},
	}
}

// newFake starts a fake Pyroscope on 127.0.0.1:0. wrap, when not nil,
// wraps its handler (to misbehave).
func newFake(t testing.TB, f *fakeQuerier, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	if f.types == nil {
		f.types = []string{allocObj, allocID, cpuID, samplesID}
	}
	if f.data == nil {
		f.data = defaultData(0.3)
	}
	mux := http.NewServeMux()
	mux.Handle(querierv1connect.NewQuerierServiceHandler(f))
	var h http.Handler = mux
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
