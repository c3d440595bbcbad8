package profstore

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// TestQueryErrors checks Connect codes and messages of bad queries.
func TestQueryErrors(t *testing.T) {
	srv := startTest(t, Options{})
	c := newQuerierClient(srv)
	ctx := context.Background()
	s, e := time.Now().Add(-time.Hour).UnixMilli(), time.Now().UnixMilli()
	neg := int64(-1)
	huge := int64(2 << 20)
	cases := []struct {
		name string
		call func() error
		code connect.Code
		msg  string
	}{
		{"LabelNames no range", func() error {
			_, err := c.LabelNames(ctx, connect.NewRequest(&typesv1.LabelNamesRequest{}))
			return err
		}, connect.CodeInvalidArgument, "missing time range in the query"},
		{"LabelValues no range", func() error {
			_, err := c.LabelValues(ctx, connect.NewRequest(&typesv1.LabelValuesRequest{Name: "env"}))
			return err
		}, connect.CodeInvalidArgument, "missing time range in the query"},
		{"Series no range", func() error {
			_, err := c.Series(ctx, connect.NewRequest(&querierv1.SeriesRequest{}))
			return err
		}, connect.CodeInvalidArgument, "missing time range in the query"},
		{"start after end", func() error {
			_, err := c.LabelNames(ctx, connect.NewRequest(&typesv1.LabelNamesRequest{Start: e, End: s}))
			return err
		}, connect.CodeInvalidArgument, "query start time is after end time"},
		{"SelectMergeProfile no range", func() error {
			_, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{ProfileTypeID: cpuType}))
			return err
		}, connect.CodeInvalidArgument, "missing time range in the query"},
		{"bad profile type", func() error {
			_, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{ProfileTypeID: "cpu", Start: s, End: e}))
			return err
		}, connect.CodeInvalidArgument, `profile-type selection must be of the form <name>:<sample-type>:<sample-unit>:<period-type>:<period-unit>(:delta), got(1): "cpu"`},
		{"bad selector", func() error {
			_, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{ProfileTypeID: cpuType, LabelSelector: `{a=~"("}`, Start: s, End: e}))
			return err
		}, connect.CodeInvalidArgument, ""},
		{"no step", func() error {
			_, err := c.SelectSeries(ctx, connect.NewRequest(&querierv1.SelectSeriesRequest{ProfileTypeID: cpuType, Start: s, End: e}))
			return err
		}, connect.CodeInvalidArgument, "step must be >= 1ms"},
		{"negative max nodes", func() error {
			_, err := c.SelectMergeStacktraces(ctx, connect.NewRequest(&querierv1.SelectMergeStacktracesRequest{ProfileTypeID: cpuType, Start: s, End: e, MaxNodes: &neg}))
			return err
		}, connect.CodeInvalidArgument, "max flamegraph nodes limit must be set (max allowed 1048576)"},
		{"too many max nodes", func() error {
			_, err := c.SelectMergeStacktraces(ctx, connect.NewRequest(&querierv1.SelectMergeStacktracesRequest{ProfileTypeID: cpuType, Start: s, End: e, MaxNodes: &huge}))
			return err
		}, connect.CodeInvalidArgument, "max flamegraph nodes limit 2097152 is greater than allowed 1048576"},
		{"unimplemented", func() error {
			_, err := c.SelectHeatmap(ctx, connect.NewRequest(&querierv1.SelectHeatmapRequest{}))
			return err
		}, connect.CodeUnimplemented, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ce *connect.Error
			if !errorsAs(err, &ce) {
				t.Fatalf("err %v, want a connect error", err)
			}
			if ce.Code() != tc.code || (tc.msg != "" && ce.Message() != tc.msg) {
				t.Errorf("got %v %q, want %v %q", ce.Code(), ce.Message(), tc.code, tc.msg)
			}
		})
	}
}

// TestMergeWindows checks values, not just shapes: windows are half-open,
// merged profiles sum the uploads in the window, series buckets land where
// the real server puts them, and the tree format decodes to the same total.
func TestMergeWindows(t *testing.T) {
	srv := startTest(t, Options{})
	c := newQuerierClient(srv)
	ctx := context.Background()
	t0 := time.UnixMilli(time.Now().Add(-10 * time.Minute).UnixMilli()).Truncate(10 * time.Second)
	// One CPU upload per 10 s window with value k: totals are known.
	for k := int64(1); k <= 6; k++ {
		at := t0.Add(time.Duration(k-1) * 10 * time.Second)
		req := ingestRequest(t, srv.URL(), "win", nil, kindCPU, at, at.Add(10*time.Second), buildProfile(kindCPU, at, k))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("ingest: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	// Per fixture: cpu value of stack si is k*(5-si)*2, over 5 stacks: 30k.
	perUpload := func(k int64) int64 { return 30 * k }
	sel := `{service_name="win"}`
	for k := int64(1); k <= 6; k++ {
		ws := t0.Add(time.Duration(k-1) * 10 * time.Second)
		resp, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{
			ProfileTypeID: cpuType, LabelSelector: sel, Start: ws.UnixMilli(), End: ws.Add(10 * time.Second).UnixMilli(),
		}))
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, s := range resp.Msg.Sample {
			total += s.Value[0]
		}
		if total != perUpload(k) {
			t.Errorf("window %d: total %d, want %d", k, total, perUpload(k))
		}
		if n := len(resp.Msg.Sample); n != len(fixtureStacks) {
			t.Errorf("window %d: %d samples, want %d distinct stacks", k, n, len(fixtureStacks))
		}
	}

	whole := func() (int64, int64) { return t0.UnixMilli(), t0.Add(time.Minute).UnixMilli() }
	s, e := whole()
	fg, err := c.SelectMergeStacktraces(ctx, connect.NewRequest(&querierv1.SelectMergeStacktracesRequest{ProfileTypeID: cpuType, LabelSelector: sel, Start: s, End: e}))
	if err != nil {
		t.Fatal(err)
	}
	if want := perUpload(21); fg.Msg.Flamegraph.Total != want {
		t.Errorf("flame graph total %d, want %d", fg.Msg.Flamegraph.Total, want)
	}
	tr, err := c.SelectMergeStacktraces(ctx, connect.NewRequest(&querierv1.SelectMergeStacktracesRequest{ProfileTypeID: cpuType, LabelSelector: sel, Start: s, End: e, Format: querierv1.ProfileFormat_PROFILE_FORMAT_TREE}))
	if err != nil {
		t.Fatal(err)
	}
	if got := treeBytesTotal(t, tr.Msg.Tree); got != perUpload(21) {
		t.Errorf("tree total %d, want %d", got, perUpload(21))
	}

	ss, err := c.SelectSeries(ctx, connect.NewRequest(&querierv1.SelectSeriesRequest{ProfileTypeID: cpuType, LabelSelector: sel, Start: s, End: e, Step: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.Msg.Series) != 1 {
		t.Fatalf("%d series, want 1", len(ss.Msg.Series))
	}
	var got []float64
	var ts []int64
	for _, p := range ss.Msg.Series[0].Points {
		got = append(got, p.Value)
		ts = append(ts, p.Timestamp)
	}
	// The grid starts one step before start; a profile at t goes to the
	// first grid point >= t, so each upload sits on its own timestamp.
	want := []float64{30, 60, 90, 120, 150, 180}
	if !slices.Equal(got, want) || ts[0] != s {
		t.Errorf("series %v at %v, want %v starting at %d", got, ts, want, s)
	}
}

// treeBytesTotal decodes the tree format and sums the self values.
func treeBytesTotal(t *testing.T, b []byte) int64 {
	t.Helper()
	var total int64
	pending := 1
	for pending > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || int(n) > len(b)-k {
			t.Fatalf("bad tree bytes")
		}
		b = b[k+int(n):]
		self, k := binary.Uvarint(b)
		b = b[k:]
		kids, k := binary.Uvarint(b)
		b = b[k:]
		total += int64(self)
		pending += int(kids) - 1
	}
	if len(b) != 0 {
		t.Fatalf("%d trailing bytes", len(b))
	}
	return total
}

// TestHiddenLabels: dotted SDK labels and __session_id__ are kept (they can
// be matched) but not listed, as on Pyroscope v2.
func TestHiddenLabels(t *testing.T) {
	srv := startTest(t, Options{})
	c := newQuerierClient(srv)
	ctx := context.Background()
	now := time.Now()
	uploadAll(t, srv.URL(), "hid", map[string]string{"env": "h"}, now, 1)
	s, e := now.Add(-time.Minute).UnixMilli(), now.Add(time.Minute).UnixMilli()
	ln, err := c.LabelNames(ctx, connect.NewRequest(&typesv1.LabelNamesRequest{Start: s, End: e}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ln.Msg.Names {
		if n == "__session_id__" || n == "otel.scope.name" || n == "otel_scope_name" {
			t.Errorf("label %q listed", n)
		}
	}
	for _, tc := range []struct {
		sel  string
		want int
	}{
		{`{"otel.scope.name"="com.grafana.pyroscope/go"}`, 1},
		{`{"otel.scope.name"="com.grafana.pyroscope/godeltaprof"}`, 0},
		{`{__session_id__="77e425ea48b3919f"}`, 1},
		{`{service_name=~"h.d", env!="x"}`, 1},
	} {
		resp, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{ProfileTypeID: cpuType, LabelSelector: tc.sel, Start: s, End: e}))
		if err != nil {
			t.Fatalf("%s: %v", tc.sel, err)
		}
		if got := min(len(resp.Msg.Sample), 1); got != tc.want {
			t.Errorf("%s: data=%d, want %d", tc.sel, got, tc.want)
		}
	}
}

// TestAuth checks the optional credential and tenant requirements.
func TestAuth(t *testing.T) {
	s := New(Options{BasicAuthUser: "u", BasicAuthPassword: "p", BearerToken: "tok", RequireTenant: true})
	cases := []struct {
		name   string
		path   string
		setup  func(r *http.Request)
		status int
	}{
		{"ready is open", "/ready", func(*http.Request) {}, 200},
		{"no credentials", "/querier.v1.QuerierService/ProfileTypes", func(*http.Request) {}, 401},
		{"wrong password", "/querier.v1.QuerierService/ProfileTypes", func(r *http.Request) { r.SetBasicAuth("u", "x"); r.Header.Set("X-Scope-OrgID", "t") }, 401},
		{"basic no tenant", "/querier.v1.QuerierService/ProfileTypes", func(r *http.Request) { r.SetBasicAuth("u", "p") }, 401},
		{"basic and tenant", "/querier.v1.QuerierService/ProfileTypes", func(r *http.Request) { r.SetBasicAuth("u", "p"); r.Header.Set("X-Scope-OrgID", "t") }, 200},
		{"bearer and tenant", "/querier.v1.QuerierService/ProfileTypes", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer tok")
			r.Header.Set("X-Scope-OrgID", "t")
		}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.path != "/ready" {
				req = httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
			}
			tc.setup(req)
			if rec := serve(s, req); rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}
