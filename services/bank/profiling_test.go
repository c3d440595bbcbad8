package bank

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// upload is one request a recording /ingest handler received.
type upload struct {
	name, sampleRate, spyName string
	kind                      string // cpu, alloc, lock, block, goroutine
	period                    int64
	user                      string
	tenant                    string
}

// recorder is a Pyroscope-compatible /ingest endpoint that keeps what it gets.
type recorder struct {
	mu      sync.Mutex
	uploads []upload
	errs    []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		rec.mu.Lock()
		rec.errs = append(rec.errs, msg)
		rec.mu.Unlock()
		http.Error(w, msg, http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/ingest" {
		fail("unexpected " + r.Method + " " + r.URL.Path)
		return
	}
	q := r.URL.Query()
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		fail("multipart: " + err.Error())
		return
	}
	f, _, err := r.FormFile("profile")
	if err != nil {
		fail("no profile part: " + err.Error())
		return
	}
	raw, _ := io.ReadAll(f)
	p, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		fail("bad pprof: " + err.Error())
		return
	}
	var stc string
	if sf, _, err := r.FormFile("sample_type_config"); err == nil {
		b, _ := io.ReadAll(sf)
		stc = string(b)
	}
	u := upload{name: q.Get("name"), sampleRate: q.Get("sampleRate"), spyName: q.Get("spyName"), period: p.Period, tenant: r.Header.Get("X-Scope-OrgID")}
	u.user, _, _ = r.BasicAuth()
	types := make([]string, len(p.SampleType))
	for i, st := range p.SampleType {
		types[i] = st.Type
	}
	ts := strings.Join(types, ",")
	switch {
	case strings.Contains(ts, "cpu"):
		u.kind = "cpu"
	case strings.Contains(ts, "alloc_space"):
		u.kind = "alloc"
	case strings.Contains(ts, "goroutine"):
		u.kind = "goroutine"
	case strings.Contains(stc, "mutex_count"):
		u.kind = "lock"
	case strings.Contains(stc, "block_count"):
		u.kind = "block"
	default:
		u.kind = "unknown:" + ts
	}
	rec.mu.Lock()
	rec.uploads = append(rec.uploads, u)
	rec.mu.Unlock()
}

func (rec *recorder) snapshot() ([]upload, []string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]upload(nil), rec.uploads...), append([]string(nil), rec.errs...)
}

// parseAppName splits "app{k=v,...}" as Pyroscope does.
func parseAppName(s string) (string, map[string]string) {
	app, rest, ok := strings.Cut(s, "{")
	labels := map[string]string{}
	if !ok {
		return s, labels
	}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			labels[k] = v
		}
	}
	return app, labels
}

// busy keeps a fraud service working so every profile type has data.
func busy(t *testing.T, ctx context.Context) {
	srv, err := New(Config{Service: ServiceFraud, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	go func() {
		for ctx.Err() == nil {
			resp, err := http.Post(ts.URL+"/fraud/check", "application/json", strings.NewReader(`{"account_id":"acc-0001","amount":12}`))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
}

func TestProfilingPushesEveryType(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		kinds   []string
		period  int64 // CPU profile period in ns
		rate    string
		wantLbl map[string]string
	}{
		{
			name:    "all events at 100 Hz",
			env:     map[string]string{"PYROSCOPE_LABELS": "team=payments", "PYROSCOPE_BASIC_AUTH_USER": "svc", "PYROSCOPE_BASIC_AUTH_PASSWORD": "s3cret", "PYROSCOPE_TENANT_ID": "bank"},
			kinds:   AllEvents,
			period:  10_000_000,
			rate:    "100",
			wantLbl: map[string]string{"version": "dev", "env": "local", "team": "payments"},
		},
		{
			name:    "cpu at 250 Hz with lock",
			env:     map[string]string{"PYROSCOPE_PROFILER_EVENT": "cpu,lock", "PYROSCOPE_CPU_RATE": "250", "PYROSCOPE_LABELS": "version=1.2.3,env=ci"},
			kinds:   []string{"cpu", "lock"},
			period:  4_000_000,
			rate:    "250",
			wantLbl: map[string]string{"version": "1.2.3", "env": "ci"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			ts := httptest.NewServer(rec)
			defer ts.Close()
			env := map[string]string{"PYROSCOPE_SERVER_ADDRESS": ts.URL, "PYROSCOPE_UPLOAD_INTERVAL": "500ms"}
			for k, v := range c.env {
				env[k] = v
			}
			cfg, err := ProfilingFromEnv(ServiceFraud, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logBuf logBuffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			prof, err := StartProfiling(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			busy(t, ctx)
			deadline := time.Now().Add(8 * time.Second)
			var got map[string]upload
			for time.Now().Before(deadline) {
				time.Sleep(250 * time.Millisecond)
				ups, _ := rec.snapshot()
				got = map[string]upload{}
				for _, u := range ups {
					got[u.kind] = u
				}
				if len(got) >= len(c.kinds) {
					break
				}
			}
			cancel()
			prof.Stop()
			ups, errs := rec.snapshot()
			if len(errs) > 0 {
				t.Fatalf("bad uploads: %v", errs)
			}
			for _, k := range c.kinds {
				u, ok := got[k]
				if !ok {
					t.Errorf("no %s profile among %d uploads", k, len(ups))
					continue
				}
				app, lbl := parseAppName(u.name)
				if app != ServiceFraud {
					t.Errorf("%s: service_name %q, want %q (name=%s)", k, app, ServiceFraud, u.name)
				}
				for lk, lv := range c.wantLbl {
					if lbl[lk] != lv {
						t.Errorf("%s: label %s=%q, want %q (name=%s)", k, lk, lbl[lk], lv, u.name)
					}
				}
				if u.spyName != "gospy" {
					t.Errorf("%s: spyName %q", k, u.spyName)
				}
				if env["PYROSCOPE_BASIC_AUTH_USER"] != "" && (u.user != "svc" || u.tenant != "bank") {
					t.Errorf("%s: auth user %q tenant %q", k, u.user, u.tenant)
				}
				if k == "cpu" && (u.period != c.period || u.sampleRate != c.rate) {
					t.Errorf("cpu: period %d sampleRate %s, want %d, %s", u.period, u.sampleRate, c.period, c.rate)
				}
			}
			for k := range got {
				if !contains(c.kinds, k) {
					t.Errorf("unexpected %s upload with events %v", k, c.kinds)
				}
			}
			logs := logBuf.String()
			if n := strings.Count(logs, "profiler attached"); n != 1 {
				t.Errorf("%d 'profiler attached' lines in %q", n, logs)
			}
			if !strings.Contains(logs, ts.URL) {
				t.Errorf("attach line does not say where it sends: %q", logs)
			}
			if strings.Contains(logs, "s3cret") {
				t.Error("password in logs")
			}
		})
	}
}

// logBuffer collects a logger's output, which the profiler's goroutines
// write while the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestProfilingServerDown shows that a Pyroscope that refuses connections
// costs the service nothing: requests stay fast and Stop returns.
func TestProfilingServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	var logBuf logBuffer
	prof, err := StartProfiling(ProfilingConfig{ApplicationName: ServiceLoan, ServerAddress: addr, UploadInterval: 200 * time.Millisecond},
		slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Service: ServiceLoan, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	deadline := time.Now().Add(1500 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		start := time.Now()
		resp, err := http.Post(ts.URL+"/loans/quote", "application/json", strings.NewReader(`{"principal":1000,"annual_rate":0.05,"term_months":12}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("request took %s with pyroscope down", d)
		}
		n++
	}
	stopped := make(chan struct{})
	go func() { prof.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop hung with pyroscope down")
	}
	logs := logBuf.String()
	if c := strings.Count(logs, "upload profile"); c < 1 || c > 2 {
		t.Errorf("want the upload failure logged once (rate limited), got %d times in %q", c, logs)
	}
	t.Logf("%d requests served while every upload failed", n)
}

func TestProfilingOff(t *testing.T) {
	var buf bytes.Buffer
	p, err := StartProfiling(ProfilingConfig{ApplicationName: "x"}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if strings.Count(buf.String(), "profiling off") != 1 {
		t.Errorf("want one 'profiling off' line, got %q", buf.String())
	}
}

func TestProfilingFromEnv(t *testing.T) {
	cases := []struct {
		env     map[string]string
		check   func(ProfilingConfig) bool
		wantErr string
	}{
		{map[string]string{}, func(c ProfilingConfig) bool {
			return c.ApplicationName == ServiceAccount && c.ServerAddress == "" && strings.Join(c.Events, ",") == "cpu,alloc,lock,block,goroutine" &&
				c.Labels["version"] == "dev" && c.Labels["env"] == "local"
		}, ""},
		{map[string]string{"PYROSCOPE_APPLICATION_NAME": "acct", "PYROSCOPE_PROFILER_EVENT": "itimer, alloc,mutex", "PYROSCOPE_PROFILER_ALLOC": "512k", "PYROSCOPE_UPLOAD_INTERVAL": "15s", "PYROSCOPE_CPU_RATE": "500"},
			func(c ProfilingConfig) bool {
				return c.ApplicationName == "acct" && strings.Join(c.Events, ",") == "cpu,alloc,lock" && c.AllocRate == 512<<10 && c.UploadInterval == 15*time.Second && c.CPURate == 500
			}, ""},
		{map[string]string{"PYROSCOPE_PROFILER_EVENT": "cpu,wall"}, nil, "unknown event"},
		{map[string]string{"PYROSCOPE_PROFILER_ALLOC": "lots"}, nil, "PYROSCOPE_PROFILER_ALLOC"},
		{map[string]string{"PYROSCOPE_LABELS": "team"}, nil, "want key=value"},
		{map[string]string{"PYROSCOPE_LABELS": "service_name=x"}, nil, "PYROSCOPE_APPLICATION_NAME"},
		{map[string]string{"PYROSCOPE_UPLOAD_INTERVAL": "soon"}, nil, "PYROSCOPE_UPLOAD_INTERVAL"},
		{map[string]string{"PYROSCOPE_CPU_RATE": "0"}, nil, "PYROSCOPE_CPU_RATE"},
		{map[string]string{"PYROSCOPE_SERVER_ADDRESS": "pyroscope:4040"}, nil, "http(s) URL"},
	}
	for i, c := range cases {
		cfg, err := ProfilingFromEnv(ServiceAccount, func(k string) string { return c.env[k] })
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("case %d: error %v, want %q", i, err, c.wantErr)
			}
			continue
		}
		if err != nil || !c.check(cfg) {
			t.Errorf("case %d: %+v, %v", i, cfg, err)
		}
	}
}
