package profstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

func ingestStatus(t *testing.T, srv *Server, app string, tags map[string]string) (int, string) {
	t.Helper()
	now := time.Now()
	resp, err := http.DefaultClient.Do(ingestRequest(t, srv.URL(), app, tags, kindCPU, now, now, buildProfile(kindCPU, now, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLabelLimits: the real server's label limits, with its status codes,
// on /ingest and on Push; and a tag cannot rename the service.
func TestLabelLimits(t *testing.T) {
	srv := startTest(t, Options{})
	many := map[string]string{}
	for i := range 31 {
		many[fmt.Sprintf("l%d", i)] = "v"
	}
	ingest := []struct {
		name string
		app  string
		tags map[string]string
		code int
		want string
	}{
		{"ok", "svc", map[string]string{"env": "ci"}, 200, ""},
		{"value too long", "svc", map[string]string{"env": strings.Repeat("v", 2049)}, 400, "label value too long"},
		{"value at the limit", "svc", map[string]string{"env": strings.Repeat("v", 2048)}, 200, ""},
		{"name too long", "svc", map[string]string{strings.Repeat("n", 1025): "v"}, 400, "label name too long"},
		{"too many labels", "svc", many, 400, "label names; limit 30"},
		{"renames another service", "attacker", map[string]string{"service_name": "victim"}, 400, "differs from the application name"},
	}
	for _, tc := range ingest {
		t.Run("ingest "+tc.name, func(t *testing.T) {
			code, body := ingestStatus(t, srv, tc.app, tc.tags)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("status %d %q, want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
	if _, ok := srv.Stats().Services["victim"]; ok {
		t.Error("an upload was filed under another service's name")
	}
	c := pushv1connect.NewPusherServiceClient(http.DefaultClient, srv.URL())
	push := []struct {
		name   string
		labels []*typesv1.LabelPair
		want   string
	}{
		{"empty label name", []*typesv1.LabelPair{{Name: "__name__", Value: "process_cpu"}, {Name: "service_name", Value: "p"}, {Name: "", Value: "x"}}, "invalid label name"},
		{"bad label name", []*typesv1.LabelPair{{Name: "__name__", Value: "process_cpu"}, {Name: "service_name", Value: "p"}, {Name: "a-b", Value: "x"}}, "invalid label name"},
		{"value too long", []*typesv1.LabelPair{{Name: "__name__", Value: "process_cpu"}, {Name: "service_name", Value: "p"}, {Name: "env", Value: strings.Repeat("x", 4096)}}, "label value too long"},
	}
	for _, tc := range push {
		t.Run("push "+tc.name, func(t *testing.T) {
			_, err := c.Push(context.Background(), connect.NewRequest(&pushv1.PushRequest{Series: []*pushv1.RawProfileSeries{{
				Labels: tc.labels, Samples: []*pushv1.RawSample{{RawProfile: buildProfile(kindCPU, time.Now(), 3)}},
			}}}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want invalid_argument with %q", err, tc.want)
			}
		})
	}
}

// TestSeriesLimitAndOversizePush: past the series cap an upload gets 429
// (it may fit once series expire); a Push body over the upload limit gets
// 413 (it never will), not 429.
func TestSeriesLimitAndOversizePush(t *testing.T) {
	srv := startTest(t, Options{MaxSeries: 4, MaxUploadBytes: 64 << 10})
	var codes []int
	for i := range 3 {
		code, _ := ingestStatus(t, srv, fmt.Sprintf("svc%d", i), nil) // two series each (cpu, samples)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("statuses %v, want [200 200 429]", codes)
	}
	if n := srv.Stats().Series; n > 4 {
		t.Errorf("%d series held, cap 4", n)
	}
	body := bytes.Repeat([]byte{0}, 128<<10)
	resp, err := http.Post(srv.URL()+pushv1connect.PusherServicePushProcedure, "application/proto", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize push: status %d, want 413", resp.StatusCode)
	}
}

func TestMaxQueryLength(t *testing.T) {
	srv := startTest(t, Options{})
	q := newQuerierClient(srv)
	now := time.Now()
	_, err := q.SelectMergeProfile(context.Background(), connect.NewRequest(&querierv1.SelectMergeProfileRequest{
		ProfileTypeID: cpuType, LabelSelector: "{}", Start: now.AddDate(-100, 0, 0).UnixMilli(), End: now.UnixMilli(),
	}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("100-year query: %v, want invalid_argument naming the limit", err)
	}
}

// TestSlowConnectionsAreDropped: a client that opens a request and never
// finishes it is cut off after ReadTimeout, and /ready keeps answering.
func TestSlowConnectionsAreDropped(t *testing.T) {
	srv := startTest(t, Options{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(srv.URL(), "http://")
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /ingest?name=slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err := io.ReadAll(c)
		if took := time.Since(start); err != nil || took > 3*time.Second {
			t.Errorf("slow connection held %v (err %v)", took, err)
		}
		c.Close()
	}
	resp, err := http.Get(srv.URL() + "/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/ready: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestSoakHostileUploads sends, in a bounded loop, uploads with labels at
// their length limits and many series, plus over-long queries, and checks
// that what the store holds stays under its cap, the live Go heap under the
// cap plus a stated overhead, and /ready answers throughout. (Before labels
// and counters were charged, 64 KiB label values took the server to 911 MB
// against a 2 MB cap.)
func TestSoakHostileUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	const capBytes = 2 << 20
	// Without the ingestion rate limit, which would refuse most of these
	// uploads before they reach the store the soak is about.
	srv := startTest(t, Options{MaxBytes: capBytes, IngestionRateMB: -1})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	long := strings.Repeat("v", 2048)
	deadline := time.Now().Add(4 * time.Second)
	var peakHeap uint64
	n := 0
	for ; n < 400 && time.Now().Before(deadline); n++ {
		tags := map[string]string{"pod": fmt.Sprintf("p%d-%s", n, long[:2000])}
		for i := range 20 {
			tags[fmt.Sprintf("k%02d", i)] = long
		}
		ingestStatus(t, srv, fmt.Sprintf("svc%d", n%50), tags)
		if n%20 == 0 {
			_, _ = newQuerierClient(srv).ProfileTypes(context.Background(), connect.NewRequest(&querierv1.ProfileTypesRequest{}))
			resp, err := http.Get(srv.URL() + "/ready")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("upload %d: /ready: %v %v", n, err, resp)
			}
			resp.Body.Close()
			if st := srv.Stats(); st.Bytes > capBytes {
				t.Fatalf("upload %d: store holds %d bytes, cap %d", n, st.Bytes, capBytes)
			}
			// The live heap: what the server holds, not garbage the
			// collector has yet to free.
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}
	st := srv.Stats()
	t.Logf("%d hostile uploads (%d rejected, %d evicted): store %d bytes (cap %d), %d series; live heap peaked %d KiB above the start",
		n, st.Rejected, st.Evicted, st.Bytes, capBytes, st.Series, (int64(peakHeap)-int64(before.HeapInuse))>>10)
	// The bound: the cap, plus the labels held per series a second time
	// (the series key string beside the labels), plus the HTTP client and
	// server of this test and their buffers (a few MiB).
	if grown := int64(peakHeap) - int64(before.HeapInuse); grown > 2*capBytes+8<<20 {
		t.Errorf("heap grew %d MiB against a %d MiB cap", grown>>20, capBytes>>20)
	}
}
