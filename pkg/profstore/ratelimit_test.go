package profstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go/upstream"
	"github.com/grafana/pyroscope-go/upstream/remote"

	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// sizedProfile is a gzipped CPU profile that decodes to about kib KiB: one
// sample whose function's file name is padding. Gzip shrinks the padding to
// almost nothing, so a test also shows that the decompressed size is what
// is charged.
func sizedProfile(kib int, at time.Time) []byte {
	f := &profile.Function{ID: 1, Name: "main.work", SystemName: "main.work", Filename: strings.Repeat("p", kib<<10)}
	l := &profile.Location{ID: 1, Line: []profile.Line{{Function: f}}}
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        10_000_000,
		TimeNanos:     at.UnixNano(),
		DurationNanos: int64(5 * time.Second),
		Sample:        []*profile.Sample{{Location: []*profile.Location{l}, Value: []int64{1, 10_000_000}}},
		Location:      []*profile.Location{l},
		Function:      []*profile.Function{f},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// rateLimited is the real server's message, sizes as go-humanize writes them.
var rateLimited = regexp.MustCompile(`^push rate limit \(\d+(\.\d)? [KMG]?i?B\) exceeded while adding \d+(\.\d)? [KMG]?i?B$`)

// TestIngestionRateLimit: uploads within real Pyroscope's default rate and
// burst pass; past them they get 429 with its message (resource_exhausted
// on Push), cost nothing, and pass again once the bucket has refilled; a
// profile larger than the burst never passes; tenants have their own
// buckets; the limit can be set or turned off.
func TestIngestionRateLimit(t *testing.T) {
	type step struct {
		at     time.Duration // since the start
		tenant string
		kib    int
		push   bool // by Push instead of /ingest
		want   int  // HTTP status
	}
	cases := []struct {
		name        string
		rate, burst float64
		msgLimit    string // the limit the 429 message states
		steps       []step
	}{
		{"under the default limit", 0, 0, "", []step{
			{0, "", 600, false, 200}, {0, "", 600, false, 200}, {0, "", 600, false, 200},
			{time.Second, "", 1500, false, 200}, {2 * time.Second, "", 1900, true, 200},
		}},
		{"a burst over the default limit", 0, 0, "4.0 MiB", []step{
			{0, "", 600, false, 200}, {0, "", 600, false, 200}, {0, "", 600, false, 200},
			{0, "", 600, false, 429},
			// About 250 KiB were left; 50 ms refill 200 KiB: still short.
			{50 * time.Millisecond, "", 600, false, 429},
			// 300 ms more refill 1.2 MiB: the refused uploads cost nothing.
			{350 * time.Millisecond, "", 600, false, 200},
		}},
		{"push over the default limit", 0, 0, "4.0 MiB", []step{
			{0, "", 1500, true, 200}, {0, "", 1000, true, 429}, {time.Second, "", 1000, true, 200},
		}},
		{"larger than the burst is never accepted", 0, 0, "4.0 MiB", []step{
			{0, "", 2100, false, 429}, {time.Hour, "", 2100, false, 429}, {time.Hour, "", 2000, false, 200},
		}},
		{"tenants have their own buckets", 0, 0, "4.0 MiB", []step{
			{0, "a", 1800, false, 200}, {0, "a", 1800, false, 429}, {0, "b", 1800, false, 200}, {0, "", 1800, false, 200},
		}},
		{"a stated limit", 1, 0.5, "1.0 MiB", []step{
			{0, "", 400, false, 200}, {0, "", 400, false, 429}, {400 * time.Millisecond, "", 400, false, 200},
		}},
		{"limit off", -1, 0, "", []step{
			{0, "", 1800, false, 200}, {0, "", 1800, false, 200}, {0, "", 1800, true, 200}, {0, "", 4000, false, 200},
		}},
	}
	start := time.Unix(1_800_000_000, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock(start)
			srv := startTest(t, Options{IngestionRateMB: c.rate, IngestionBurstSizeMB: c.burst, Now: clock.Now})
			pusher := pushv1connect.NewPusherServiceClient(http.DefaultClient, srv.URL())
			accepted := 0
			for i, s := range c.steps {
				clock.ns.Store(start.Add(s.at).UnixNano())
				body := sizedProfile(s.kib, start)
				var status int
				var msg string
				if s.push {
					req := connect.NewRequest(&pushv1.PushRequest{Series: []*pushv1.RawProfileSeries{{
						Labels:  []*typesv1.LabelPair{{Name: "__name__", Value: "process_cpu"}, {Name: "service_name", Value: "svc"}},
						Samples: []*pushv1.RawSample{{RawProfile: body}},
					}}})
					if s.tenant != "" {
						req.Header().Set(tenantHeader, s.tenant)
					}
					_, err := pusher.Push(context.Background(), req)
					status = 200
					if err != nil {
						if connect.CodeOf(err) != connect.CodeResourceExhausted {
							t.Fatalf("step %d: push: %v", i, err)
						}
						status = http.StatusTooManyRequests
						var ce *connect.Error
						if errorsAs(err, &ce) {
							msg = ce.Message()
						}
					}
				} else {
					req := ingestRequest(t, srv.URL(), "svc", nil, kindCPU, start, start, body)
					if s.tenant != "" {
						req.Header.Set(tenantHeader, s.tenant)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
					if status != 200 {
						var e struct{ Code, Message string }
						if err := json.Unmarshal(b, &e); err != nil || e.Code != "resource_exhausted" {
							t.Errorf("step %d: body %s, want a resource_exhausted JSON error", i, b)
						}
						msg = e.Message
					}
				}
				if status != s.want {
					t.Fatalf("step %d (%d KiB at %s, tenant %q): status %d, want %d (%s)", i, s.kib, s.at, s.tenant, status, s.want, msg)
				}
				if status == 200 {
					accepted++
					continue
				}
				wantPrefix := "push rate limit (" + c.msgLimit + ") exceeded while adding "
				if !rateLimited.MatchString(msg) || !strings.HasPrefix(msg, wantPrefix) {
					t.Errorf("step %d: message %q, want the real server's %q…", i, msg, wantPrefix)
				}
			}
			if st := srv.Stats(); st.Uploads != int64(accepted) {
				t.Errorf("stats: %d uploads stored, %d accepted", st.Uploads, accepted)
			}
		})
	}
}

func TestIBytes(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {9, "9 B"}, {512, "512 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{600 << 10, "600 KiB"}, {4 << 20, "4.0 MiB"}, {2202009, "2.1 MiB"}, {16 << 20, "16 MiB"},
	} {
		if got := iBytes(c.n); got != c.want {
			t.Errorf("iBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// sdkLog records what pyroscope-go's uploader logs.
type sdkLog struct {
	mu     sync.Mutex
	errors []string
}

func (l *sdkLog) Infof(string, ...any)  {}
func (l *sdkLog) Debugf(string, ...any) {}
func (l *sdkLog) Errorf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors = append(l.errors, fmt.Sprintf(f, a...))
}

// TestSDKAfterRateLimit: pyroscope-go v1.5.0's uploader, refused with 429,
// logs the error and drops that one profile — no retry, no back-off — and
// sends the next one as usual, which is stored. (Each upload is one
// window's profile, deltas taken when collected, so the next window is
// whole: one window is lost, not two.)
func TestSDKAfterRateLimit(t *testing.T) {
	clock := newFakeClock(time.Unix(1_800_000_000, 0))
	srv := startTest(t, Options{Now: clock.Now})
	log := &sdkLog{}
	r, err := remote.NewRemote(remote.Config{Address: srv.URL(), Threads: 1, Timeout: 10 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	defer r.Stop()
	at := clock.Now()
	job := func(kib int) *upstream.UploadJob {
		return &upstream.UploadJob{
			Name: "sdk-rate{env=test}", StartTime: at.Add(-5 * time.Second), EndTime: at, SpyName: "gospy",
			SampleRate: 100, Units: "samples", AggregationType: "sum", Format: upstream.FormatPprof,
			Profile: sizedProfile(kib, at),
		}
	}
	r.Upload(job(1500)) // accepted, leaving about 500 KiB
	r.Upload(job(1500)) // refused
	r.Flush()
	clock.Add(time.Second) // the next upload interval: 4 MiB refilled, capped at 2
	r.Upload(job(1500))
	r.Flush()
	if got := srv.Stats().Uploads; got != 2 {
		t.Errorf("%d uploads stored, want 2 (the first and the one after the refusal)", got)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.errors) != 1 || !strings.Contains(log.errors[0], "(429)") || !strings.Contains(log.errors[0], "push rate limit") {
		t.Errorf("SDK logged %q, want one 429 with the rate-limit message", log.errors)
	}
}
