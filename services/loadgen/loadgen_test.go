package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

func group(t *testing.T) *bank.Group {
	t.Helper()
	g, err := bank.StartGroup(context.Background(), bank.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestRunAllServices(t *testing.T) {
	g := group(t)
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Targets: g.URLs, Rate: 150, Concurrency: 16, Duration: 1500 * time.Millisecond,
		Progress: &progress, ProgressInterval: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	if res.Errors != 0 {
		t.Errorf("%d errors", res.Errors)
	}
	want := 150 * 1.5
	if float64(res.Requests+res.Dropped) < 0.8*want || float64(res.Requests+res.Dropped) > 1.05*want {
		t.Errorf("scheduled %d+%d requests, want about %.0f", res.Requests, res.Dropped, want)
	}
	seen := map[string]EndpointStats{}
	for _, e := range res.Endpoints {
		seen[e.Service+" "+e.Endpoint] = e
		if !(e.P50 <= e.P95 && e.P95 <= e.P99 && e.P99 <= e.Max && e.P50 > 0) {
			t.Errorf("%s %s: percentiles out of order: %v %v %v %v", e.Service, e.Endpoint, e.P50, e.P95, e.P99, e.Max)
		}
	}
	for _, s := range bank.Services {
		for _, ep := range Endpoints(s.Name) {
			if seen[s.Name+" "+ep].Requests == 0 {
				t.Errorf("no requests to %s %s", s.Name, ep)
			}
		}
	}
	if !strings.Contains(table.String(), "POST /fraud/check") || !strings.Contains(table.String(), "total: ") {
		t.Errorf("table:\n%s", table.String())
	}
	if lines := strings.Count(progress.String(), "req/s"); lines < 2 {
		t.Errorf("progress printed %d lines: %q", lines, progress.String())
	}
	b, err := json.Marshal(res)
	if err != nil || !bytes.Contains(b, []byte(`"p99_ms"`)) || !bytes.Contains(b, []byte(`"endpoint":"POST /api/transfers"`)) {
		t.Errorf("json %s, %v", truncate(b), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestOnlyGivenTargets points the generator at one recording server posing as
// the fraud service: every request goes there, to the fraud endpoint, and the
// request count bounds the run.
func TestOnlyGivenTargets(t *testing.T) {
	var hits, other atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/fraud/check" {
			hits.Add(1)
		} else {
			other.Add(1)
		}
		w.Write([]byte(`{}`))
	}))
	defer ts.Close()
	res, err := Run(context.Background(), Config{Targets: map[string]string{bank.ServiceFraud: ts.URL + "/"}, Rate: 500, Requests: 60, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 60 || hits.Load() != 60 || other.Load() != 0 {
		t.Errorf("sent %d, fraud hits %d, other %d; want 60, 60, 0", res.Requests, hits.Load(), other.Load())
	}
	if len(res.Endpoints) != 1 || res.Endpoints[0].Service != bank.ServiceFraud {
		t.Errorf("endpoints %+v", res.Endpoints)
	}
}

// TestOpenLoopDropsWhenSaturated: a slow service does not slow the schedule;
// requests due while every worker waits are dropped and counted, errors
// (here 503s) are counted per status, and the run still ends on time.
func TestOpenLoopDropsWhenSaturated(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	start := time.Now()
	res, err := Run(context.Background(), Config{Targets: map[string]string{bank.ServiceLoan: ts.URL}, Rate: 100, Concurrency: 2, Duration: 600 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("run took %s", took)
	}
	if res.Dropped < 20 || res.Requests == 0 || res.Errors != res.Requests {
		t.Errorf("dropped %d requests %d errors %d", res.Dropped, res.Requests, res.Errors)
	}
	if got := res.Endpoints[0].Status["503"]; got != res.Requests {
		t.Errorf("status counts %v", res.Endpoints[0].Status)
	}
}

func TestClosedLoop(t *testing.T) {
	var inFlight, maxInFlight atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		w.Write([]byte(`{}`))
	}))
	defer ts.Close()
	targets := map[string]string{bank.ServiceLoan: ts.URL}
	for _, c := range []struct {
		name     string
		cfg      Config
		min, max int
	}{
		// Two workers for 400 ms against a 10 ms answer: about 80
		// requests, never more than two at once, none dropped.
		{"duration", Config{Targets: targets, ClosedLoop: true, Concurrency: 2, Duration: 400 * time.Millisecond}, 30, 82},
		{"request count", Config{Targets: targets, ClosedLoop: true, Concurrency: 3, Requests: 7}, 7, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			maxInFlight.Store(0)
			res, err := Run(context.Background(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests < c.min || res.Requests > c.max || res.Errors != 0 || res.Dropped != 0 {
				t.Errorf("requests %d (want %d..%d), errors %d, dropped %d", res.Requests, c.min, c.max, res.Errors, res.Dropped)
			}
			if m := maxInFlight.Load(); m > int64(c.cfg.Concurrency) {
				t.Errorf("%d requests in flight at once, want at most %d", m, c.cfg.Concurrency)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Targets: map[string]string{bank.ServiceLoan: ts.URL}, Rate: 50, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2*time.Second || res.Requests < 5 {
		t.Errorf("cancelled run: %s, %d requests", time.Since(start), res.Requests)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := map[string]string{bank.ServiceLoan: "http://127.0.0.1:1"}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rate: 1, Duration: time.Second}, "no targets"},
		{Config{Targets: map[string]string{"bank-atm": "http://x"}, Rate: 1, Duration: time.Second}, "unknown service"},
		{Config{Targets: map[string]string{bank.ServiceLoan: "localhost:8085"}, Rate: 1, Duration: time.Second}, "not an http(s) URL"},
		{Config{Targets: ok, Rate: 0, Duration: time.Second}, "rate"},
		{Config{Targets: ok, Rate: 10}, "duration or a request count"},
		{Config{Targets: ok, Rate: 10, ClosedLoop: true, Duration: time.Second}, "in a closed loop"},
		{Config{Targets: ok, Rate: 10, Duration: time.Second, Arrivals: "bursty"}, `arrivals "bursty"`},
	} {
		if _, err := Run(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestIdentify(t *testing.T) {
	g := group(t)
	var urls []string
	for _, u := range g.URLs {
		urls = append(urls, u+"/")
	}
	got, err := Identify(context.Background(), nil, urls)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range g.URLs {
		if got[name] != u {
			t.Errorf("%s: %q, want %q", name, got[name], u)
		}
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"UP"}`)) }))
	defer other.Close()
	if _, err := Identify(context.Background(), nil, []string{other.URL}); err == nil {
		t.Error("a non-bank URL was accepted")
	}
	if _, err := Identify(context.Background(), nil, []string{g.URLs[bank.ServiceLoan], g.URLs[bank.ServiceLoan]}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("duplicate service: %v", err)
	}
}

func TestSmoothWeighted(t *testing.T) {
	eps := catalog[bank.ServiceGateway]
	seq := smoothWeighted(eps)
	count := map[string]int{}
	run, longest := 0, 0
	for i, e := range seq {
		count[e.name]++
		if i > 0 && seq[i-1].name == e.name {
			run++
		} else {
			run = 1
		}
		longest = max(longest, run)
	}
	for _, e := range eps {
		if count[e.name] != e.weight {
			t.Errorf("%s: %d, want %d", e.name, count[e.name], e.weight)
		}
	}
	if longest > 1 {
		t.Errorf("run of %d identical endpoints in %v", longest, count)
	}
}

// TestArrivalClock checks both arrival processes: uniform gaps are exactly
// 1/rate; Poisson gaps average 1/rate with a coefficient of variation near 1,
// are reproducible from the seed, and land evenly over the phase of a 4 ms
// kernel tick, which is what keeps CPU profiles from aliasing (a uniform
// 500/s schedule hits only two phases of it).
func TestArrivalClock(t *testing.T) {
	const rate, n = 500.0, 40000
	mean := float64(time.Second) / rate
	gaps := func(c Config) []float64 {
		next := arrivalClock(c)
		prev := next()
		if prev != 0 {
			t.Fatalf("first arrival at %v, want 0", prev)
		}
		out := make([]float64, n)
		for i := range out {
			d := next()
			out[i] = float64(d - prev)
			prev = d
		}
		return out
	}
	tick := 4 * time.Millisecond
	phaseBins := func(c Config, bins int) []int {
		next := arrivalClock(c)
		h := make([]int, bins)
		for range n {
			h[int(next()%tick)*bins/int(tick)]++
		}
		return h
	}

	for _, g := range gaps(Config{Rate: rate, Arrivals: ArrivalsUniform}) {
		if math.Abs(g-mean) > 1 {
			t.Fatalf("uniform gap %v ns, want %v", g, mean)
		}
	}
	if h := phaseBins(Config{Rate: rate, Arrivals: ArrivalsUniform}, 8); h[0]+h[4] != n {
		t.Fatalf("uniform arrivals over a 4 ms tick: %v, want all in two phases", h)
	}

	p := gaps(Config{Rate: rate, Arrivals: ArrivalsPoisson, Seed: 1})
	var sum, sq float64
	for _, g := range p {
		if g < 0 {
			t.Fatalf("negative gap %v", g)
		}
		sum += g
	}
	m := sum / n
	for _, g := range p {
		sq += (g - m) * (g - m)
	}
	cv := math.Sqrt(sq/(n-1)) / m
	// Standard error of the mean of n exponential gaps is mean/sqrt(n) (0.5%).
	if math.Abs(m/mean-1) > 0.03 || math.Abs(cv-1) > 0.05 {
		t.Errorf("poisson gaps: mean %.0f ns (want %.0f), CV %.3f (want 1)", m, mean, cv)
	}
	if q := gaps(Config{Rate: rate, Arrivals: ArrivalsPoisson, Seed: 1}); q[17] != p[17] || q[n-1] != p[n-1] {
		t.Error("the same seed gave different gaps")
	}
	if q := gaps(Config{Rate: rate, Arrivals: ArrivalsPoisson, Seed: 2}); q[17] == p[17] && q[18] == p[18] {
		t.Error("another seed gave the same gaps")
	}
	h := phaseBins(Config{Rate: rate, Arrivals: ArrivalsPoisson, Seed: 1}, 8)
	for i, c := range h {
		if math.Abs(float64(c)/(n/8)-1) > 0.1 {
			t.Errorf("poisson arrivals over a 4 ms tick: bin %d holds %d of %d, want about %d (%v)", i, c, n, n/8, h)
		}
	}
}
