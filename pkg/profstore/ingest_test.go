package profstore

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

func multipartBody(parts map[string][]byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range []string{"profile", "prev_profile", "sample_type_config"} {
		if b, ok := parts[name]; ok {
			fw, _ := mw.CreateFormFile(name, name)
			_, _ = fw.Write(b)
		}
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// TestIngestErrors checks status codes and wording of refused uploads
// against the real server's (400 for metadata, 413 for size, 422 for a body
// that is not a profile).
func TestIngestErrors(t *testing.T) {
	s := New(Options{MaxUploadBytes: 64 << 10})
	good := buildProfile(kindCPU, time.Now(), 1)
	body := func(parts map[string][]byte) (io.Reader, string) { return multipartBody(parts) }
	cases := []struct {
		name     string
		method   string
		query    string
		parts    map[string][]byte
		raw      []byte
		status   int
		wantBody string // exact, or prefix when ending in "…"
	}{
		{name: "no name", query: "", parts: map[string][]byte{"profile": good}, status: 400,
			wantBody: `{"code":"invalid_argument","message":"name: service name is required"}`},
		{name: "bad label name", query: "name=app{a-b=c}", parts: map[string][]byte{"profile": good}, status: 400,
			wantBody: `{"code":"invalid_argument","message":"name: invalid label name: a-b: character is not allowed: '-'"}`},
		{name: "too large", query: "name=app", parts: map[string][]byte{"profile": bytes.Repeat([]byte{'x'}, 100<<10)}, status: 413,
			wantBody: `{"code":"invalid_argument","message":"request body too large: http: request body too large"}`},
		{name: "garbage profile", query: "name=app", parts: map[string][]byte{"profile": []byte("not a pprof")}, status: 422,
			wantBody: `{"code":"unknown","message":"parsing IngestInput-pprof failed invalid_argument: …`},
		{name: "truncated gzip", query: "name=app", parts: map[string][]byte{"profile": good[:len(good)/2]}, status: 422,
			wantBody: `{"code":"unknown","message":"parsing IngestInput-pprof failed invalid_argument: …`},
		{name: "bad sample_type_config", query: "name=app", parts: map[string][]byte{"profile": good, "sample_type_config": []byte("{")}, status: 422,
			wantBody: `{"code":"unknown","message":"parsing IngestInput-pprof failed failed to parse pprof /ingest multipart form unexpected end of JSON input"}`},
		{name: "prev_profile", query: "name=app", parts: map[string][]byte{"profile": good, "prev_profile": good}, status: 422,
			wantBody: `{"code":"unknown","message":"parsing IngestInput-pprof failed failed to parse pprof /ingest multipart form unsupported client version. Please update github.com/grafana/pyroscope-go to the latest version"}`},
		{name: "raw garbage", query: "name=app&format=pprof", raw: []byte{1, 2, 3}, status: 422,
			wantBody: `{"code":"unknown","message":"parsing IngestInput-pprof failed invalid_argument: …`},
		{name: "folded not supported", query: "name=app", raw: []byte("a;b 1\n"), status: 400,
			wantBody: `{"code":"invalid_argument","message":"profstore: ingest format \"groups\" is not supported; send pprof (multipart or format=pprof)"}`},
		{name: "GET", method: http.MethodGet, query: "name=app", status: 405},
		{name: "no profile part is a no-op", query: "name=app", parts: map[string][]byte{}, status: 200},
		{name: "ok multipart", query: "name=app", parts: map[string][]byte{"profile": good}, status: 200},
		{name: "ok raw", query: "name=app&format=pprof", raw: good, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.raw)
			ct := "application/octet-stream"
			if tc.parts != nil {
				r, ct = body(tc.parts)
			}
			m := tc.method
			if m == "" {
				m = http.MethodPost
			}
			req := httptest.NewRequest(m, "/ingest?"+tc.query, r)
			req.Header.Set("Content-Type", ct)
			rec := serve(s, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := strings.TrimSpace(rec.Body.String())
			if p, ok := strings.CutSuffix(tc.wantBody, "…"); ok {
				if !strings.HasPrefix(got, p) {
					t.Errorf("body %s\nwant prefix %s", got, p)
				}
			} else if tc.wantBody != "" && got != tc.wantBody {
				t.Errorf("body %s\nwant %s", got, tc.wantBody)
			}
		})
	}
	st := s.Stats()
	if st.Uploads != 2 || st.Rejected != 9 {
		t.Errorf("stats: %d uploads, %d rejected; want 2 and 9", st.Uploads, st.Rejected)
	}
}

// TestProfileTypeDerivation checks the profile type IDs and labels derived
// from uploads with and without sample_type_config, as the real server
// derives them (raw Go mutex and block profiles both become "mutex", a raw
// goroutine profile "goroutines").
func TestProfileTypeDerivation(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		kind uploadKind
		raw  bool
		want []string
	}{
		{"cpu multipart", kindCPU, false, []string{cpuType, "process_cpu:samples:count:cpu:nanoseconds"}},
		{"heap multipart", kindHeap, false, []string{"memory:alloc_objects:count:space:bytes", allocType, "memory:inuse_objects:count:space:bytes", "memory:inuse_space:bytes:space:bytes"}},
		{"mutex multipart", kindMutex, false, []string{"mutex:contentions:count:contentions:count", mutexType}},
		{"block multipart", kindBlock, false, []string{"block:contentions:count:contentions:count", "block:delay:nanoseconds:contentions:count"}},
		{"goroutine multipart", kindGoroutine, false, []string{"goroutine:goroutine:count:goroutine:count"}},
		{"cpu raw", kindCPU, true, []string{cpuType, "process_cpu:samples:count:cpu:nanoseconds"}},
		{"block raw", kindBlock, true, []string{"mutex:contentions:count:contentions:count", mutexType}},
		{"goroutine raw", kindGoroutine, true, []string{"goroutines:goroutine:count:goroutine:count"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			prof := buildProfile(tc.kind, now, 1)
			var req *http.Request
			if tc.raw {
				q := url.Values{"name": {"app{env=x}"}, "format": {"pprof"}, "spyName": {"gospy"}}
				req = httptest.NewRequest(http.MethodPost, "/ingest?"+q.Encode(), bytes.NewReader(prof))
			} else {
				req = ingestRequest(t, "", "app", map[string]string{"env": "x"}, tc.kind, now.Add(-10*time.Second), now, prof)
			}
			if rec := serve(s, req); rec.Code != 200 {
				t.Fatalf("ingest: %d %s", rec.Code, rec.Body)
			}
			hs := s.store.query("", nil, 0, 1<<62)
			var got []string
			for _, h := range hs {
				got = append(got, h.typ.ID())
				ls := h.lbls
				for _, l := range [][2]string{{"service_name", "app"}, {"__service_name__", "app"}, {"env", "x"}, {"pyroscope_spy", "gospy"}, {"__profile_type__", h.typ.ID()}, {"__name__", h.typ.Name}} {
					if ls.Get(l[0]) != l[1] {
						t.Errorf("%s: label %s=%q, want %q (labels %s)", h.typ.ID(), l[0], ls.Get(l[0]), l[1], ls)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("types %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPush stores profiles through push.v1 with the real connect client and
// refuses series without a name or service, in the real server's words.
func TestPush(t *testing.T) {
	srv := startTest(t, Options{})
	c := pushv1connect.NewPusherServiceClient(http.DefaultClient, srv.URL())
	now := time.Now()
	lp := func(kv ...string) []*typesv1.LabelPair {
		var out []*typesv1.LabelPair
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &typesv1.LabelPair{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name    string
		labels  []*typesv1.LabelPair
		code    connect.Code
		message string
	}{
		{"ok", lp("__name__", "process_cpu", "service_name", "pushed", "env", "p"), 0, ""},
		{"no labels", nil, connect.CodeInvalidArgument, "error at least one label pair is required per profile"},
		{"no name", lp("service_name", "pushed"), connect.CodeInvalidArgument, `invalid labels '{service_name="pushed"}' with error: invalid metric name`},
		{"no service", lp("__name__", "process_cpu"), connect.CodeInvalidArgument, `invalid labels '{__name__="process_cpu"}' with error: service name is not provided`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Push(context.Background(), connect.NewRequest(&pushv1.PushRequest{Series: []*pushv1.RawProfileSeries{{
				Labels:  tc.labels,
				Samples: []*pushv1.RawSample{{RawProfile: buildProfile(kindCPU, now, 3), ID: "x"}},
			}}}))
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *connect.Error
			if !errorsAs(err, &ce) || ce.Code() != tc.code || ce.Message() != tc.message {
				t.Fatalf("err %v, want %v %q", err, tc.code, tc.message)
			}
		})
	}
	q := newQuerierClient(srv)
	resp, err := q.ProfileTypes(context.Background(), connect.NewRequest(&querierv1.ProfileTypesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Msg.ProfileTypes); n != 2 {
		t.Errorf("%d profile types after push, want 2", n)
	}
}
