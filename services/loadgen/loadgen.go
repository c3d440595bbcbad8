// Package loadgen drives the bank services with a fixed request rate (open
// loop), or as fast as they answer (closed loop, for capacity), for a
// bounded time or request count, and reports per-endpoint requests, errors
// and latency percentiles.
//
// Open loop matters for profiling: the request rate stays the same whether a
// build is fast or slow, so the work a profile shows per second is comparable
// between a baseline and a candidate. When every worker is busy, a request
// that is due is not sent and is counted as dropped, so a saturated service
// shows up in the result rather than silently lowering the rate.
//
// Requests arrive as a Poisson process by default (random gaps averaging
// 1/Rate), not on a metronome. Evenly spaced requests alias with the kernel
// tick that Go's CPU profiler samples on: Linux checks a thread's CPU-time
// timer only at each tick (4 ms at CONFIG_HZ=250), so at 500 requests/s — one
// every 2 ms — every sample of a run lands at the same point of a request's
// work, and which function gets the samples depends on the run's start phase.
// On the 2-core test machine that moved one function's share of the fraud
// service's CPU profile between 23% and 56% from run to run while perf, which
// samples on its own high-resolution timer, saw 42–45%. Random arrivals break
// the lock; ArrivalsUniform keeps the metronome for latency measurements that
// want it.
//
// Config.ClosedLoop turns the open loop off: a fixed number of workers each
// send the next request as soon as the last is answered, so the rate is the
// service's capacity. That measures throughput (the profiling-overhead
// measurement uses it); it does not make profiles comparable between builds.
//
// It sends requests only to the base URLs in Config.Targets.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

// Config says what to drive and how hard.
type Config struct {
	// Targets maps full service names (bank.ServiceFraud, ...) to base URLs.
	// Only these URLs receive requests.
	Targets map[string]string
	// Rate is the total request rate per second, shared equally by the targets.
	// It must be 0 in a closed loop.
	Rate float64
	// Concurrency bounds requests in flight (default 32). In a closed loop it
	// is the number of workers, each with one request in flight.
	Concurrency int
	// ClosedLoop sends each worker's next request when its last one is
	// answered, as fast as the targets answer, instead of at Rate: a
	// throughput measurement. Nothing is dropped in a closed loop.
	ClosedLoop bool
	// Duration bounds the run; Requests bounds the number of requests
	// scheduled. At least one must be set; the first reached ends the run.
	Duration time.Duration
	Requests int
	// Timeout bounds each request (default 5s).
	Timeout time.Duration
	// Progress, when set, receives a status line every ProgressInterval
	// (default 1s). InPlace rewrites one line with '\r', for terminals.
	Progress         io.Writer
	ProgressInterval time.Duration
	InPlace          bool
	// Arrivals is how requests are spaced in time (default ArrivalsPoisson;
	// see the package comment for why).
	Arrivals Arrivals
	// Seed makes the request mix and the arrival gaps reproducible
	// (default 1).
	Seed uint64
	// Client is the HTTP client to use (default: one with keep-alive
	// connections sized to Concurrency, and no proxy).
	Client *http.Client
}

// Arrivals is how an open-loop run spaces its requests.
type Arrivals string

const (
	// ArrivalsPoisson draws each gap from an exponential distribution with
	// mean 1/Rate: the arrivals of many independent users, and no fixed
	// period for a sampling profiler to alias with.
	ArrivalsPoisson Arrivals = "poisson"
	// ArrivalsUniform spaces requests exactly 1/Rate apart.
	ArrivalsUniform Arrivals = "uniform"
)

// ParseArrivals reads an arrival process name; empty means ArrivalsPoisson.
func ParseArrivals(s string) (Arrivals, error) {
	switch a := Arrivals(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return ArrivalsPoisson, nil
	case ArrivalsPoisson, ArrivalsUniform:
		return a, nil
	}
	return "", fmt.Errorf("loadgen: arrivals %q: want %s or %s", s, ArrivalsPoisson, ArrivalsUniform)
}

// EndpointStats is what happened on one endpoint of one service.
type EndpointStats struct {
	Service  string         `json:"service"`
	Endpoint string         `json:"endpoint"`
	Requests int            `json:"requests"`
	Errors   int            `json:"errors"`
	Status   map[string]int `json:"status"` // HTTP status (or "error") → count
	P50      time.Duration  `json:"-"`
	P95      time.Duration  `json:"-"`
	P99      time.Duration  `json:"-"`
	Max      time.Duration  `json:"-"`
}

// MarshalJSON writes latencies as milliseconds, the unit people read.
func (e EndpointStats) MarshalJSON() ([]byte, error) {
	type plain EndpointStats
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return json.Marshal(struct {
		plain
		P50 float64 `json:"p50_ms"`
		P95 float64 `json:"p95_ms"`
		P99 float64 `json:"p99_ms"`
		Max float64 `json:"max_ms"`
	}{plain(e), ms(e.P50), ms(e.P95), ms(e.P99), ms(e.Max)})
}

// Result summarises a run.
type Result struct {
	Started   time.Time       `json:"started"`
	Elapsed   time.Duration   `json:"elapsed_ns"`
	Rate      float64         `json:"target_rate"`
	Achieved  float64         `json:"achieved_rate"`
	Requests  int             `json:"requests"`
	Errors    int             `json:"errors"`
	Dropped   int             `json:"dropped"`
	Endpoints []EndpointStats `json:"endpoints"`
}

// ErrorRate is errors per request sent (0 when nothing was sent).
func (r *Result) ErrorRate() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Requests)
}

type key struct{ service, endpoint string }

type stats struct {
	lat    []time.Duration
	errors int
	status map[string]int
}

type run struct {
	cfg     Config
	gen     *generator
	client  *http.Client
	mu      sync.Mutex
	byKey   map[key]*stats
	sent    atomic.Int64
	failed  atomic.Int64
	dropped atomic.Int64
	targets []string // service names in a fixed order
	sched   []schedEntry
}

type schedEntry struct {
	service string
	ep      endpoint
}

func (c *Config) validate() error {
	if len(c.Targets) == 0 {
		return errors.New("loadgen: no targets")
	}
	for name, u := range c.Targets {
		if _, ok := catalog[name]; !ok {
			return fmt.Errorf("loadgen: unknown service %q", name)
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("loadgen: %s: %q is not an http(s) URL", name, u)
		}
		c.Targets[name] = strings.TrimRight(u, "/")
	}
	switch {
	case c.ClosedLoop && c.Rate != 0:
		return fmt.Errorf("loadgen: rate %v in a closed loop: a closed loop sends as fast as the targets answer; leave the rate at 0", c.Rate)
	case !c.ClosedLoop && (!(c.Rate > 0) || math.IsInf(c.Rate, 0) || c.Rate > 100000):
		return fmt.Errorf("loadgen: rate %v: want 0 < rate <= 100000 requests/s", c.Rate)
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("loadgen: set a duration or a request count, so the run is bounded")
	}
	if c.Duration < 0 || c.Requests < 0 {
		return errors.New("loadgen: negative duration or request count")
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	a, err := ParseArrivals(string(c.Arrivals))
	if err != nil {
		return err
	}
	c.Arrivals = a
	return nil
}

// arrivalClock returns a function giving, on each call, the offset from the
// run's start at which the next request is due. Offsets are computed from the
// start, not from when the previous request went out, so a late wake-up does
// not lower the rate.
func arrivalClock(cfg Config) func() time.Duration {
	mean := float64(time.Second) / cfg.Rate
	if cfg.Arrivals == ArrivalsUniform {
		i := 0
		return func() time.Duration {
			d := time.Duration(float64(i) * mean)
			i++
			return d
		}
	}
	// A random stream of its own, so the request mix is the same whether
	// requests are spaced uniformly or not.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x2545f4914f6cdd1d))
	t := 0.0
	return func() time.Duration {
		d := time.Duration(t)
		t += rng.ExpFloat64() * mean
		return d
	}
}

// Run drives the targets until the duration passes, the request count is
// scheduled, or ctx is done, then waits for requests in flight (each bounded
// by Timeout) and returns the result. Cancelling ctx ends the run early with
// the result so far and no error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	targets := make(map[string]string, len(cfg.Targets))
	for k, v := range cfg.Targets {
		targets[k] = v
	}
	cfg.Targets = targets
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, gen: &generator{rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}, byKey: map[key]*stats{}}
	r.client = cfg.Client
	if r.client == nil {
		tr := &http.Transport{Proxy: nil, MaxIdleConns: cfg.Concurrency * 2, MaxIdleConnsPerHost: cfg.Concurrency, IdleConnTimeout: 30 * time.Second}
		defer tr.CloseIdleConnections()
		r.client = &http.Client{Transport: tr}
	}
	for _, s := range bank.Services {
		if _, ok := cfg.Targets[s.Name]; ok {
			r.targets = append(r.targets, s.Name)
		}
	}
	// The schedule takes the services in turn; within a service, endpoints
	// follow a smooth weighted round-robin, so weights hold over any short
	// stretch of the run, not only on average.
	perService := map[string][]endpoint{}
	cycle := 1
	for _, s := range r.targets {
		perService[s] = smoothWeighted(catalog[s])
		cycle = lcm(cycle, len(perService[s]))
	}
	for i := 0; i < cycle; i++ {
		for _, s := range r.targets {
			eps := perService[s]
			r.sched = append(r.sched, schedEntry{s, eps[i%len(eps)]})
		}
	}

	start := time.Now()
	res := &Result{Started: start, Rate: cfg.Rate}
	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	stopProgress := r.progress(start)
	if cfg.ClosedLoop {
		r.closedLoop(ctx, runCtx)
	} else {
		r.openLoop(ctx, runCtx, start)
	}
	stopProgress()
	res.Elapsed = time.Since(start)
	res.Requests = int(r.sent.Load())
	res.Errors = int(r.failed.Load())
	res.Dropped = int(r.dropped.Load())
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Achieved = float64(res.Requests) / s
	}
	res.Endpoints = r.summary()
	return res, nil
}

// openLoop sends requests at their due times until runCtx is done or the
// request count is scheduled, dropping a due request when every slot is
// busy, and waits for those in flight. Requests are bounded by ctx (and each
// by the timeout), so runCtx's end lets them finish.
func (r *run) openLoop(ctx, runCtx context.Context, start time.Time) {
	cfg := r.cfg
	slots := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	next := arrivalClock(cfg)
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for i := 0; cfg.Requests <= 0 || i < cfg.Requests; i++ {
		due := start.Add(next())
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-runCtx.Done():
				break loop
			case <-timer.C:
			}
		} else if runCtx.Err() != nil {
			break
		}
		entry := r.sched[i%len(r.sched)]
		select {
		case slots <- struct{}{}:
		default:
			r.dropped.Add(1)
			continue
		}
		req := entry.ep.gen(r.gen)
		if req.endpoint == "" {
			req.endpoint = entry.ep.name
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r.send(ctx, entry.service, req)
		}()
	}
	wg.Wait()
}

// closedLoop runs Concurrency workers that each send the schedule's next
// request as soon as their last one is answered, until runCtx is done or the
// request count is reached.
func (r *run) closedLoop(ctx, runCtx context.Context) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				i := int(next.Add(1) - 1)
				if r.cfg.Requests > 0 && i >= r.cfg.Requests {
					return
				}
				entry := r.sched[i%len(r.sched)]
				req := entry.ep.gen(r.gen)
				if req.endpoint == "" {
					req.endpoint = entry.ep.name
				}
				r.send(ctx, entry.service, req)
			}
		}()
	}
	wg.Wait()
}

// smoothWeighted orders endpoints by weight the way nginx's smooth weighted
// round-robin does: weights 4,3,1,2 give a cycle of 10 with no long runs.
func smoothWeighted(eps []endpoint) []endpoint {
	total := 0
	for _, e := range eps {
		total += e.weight
	}
	cur := make([]int, len(eps))
	out := make([]endpoint, 0, total)
	for n := 0; n < total; n++ {
		best := 0
		for i, e := range eps {
			cur[i] += e.weight
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, eps[best])
	}
	return out
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// send makes one request and records its outcome. Any non-2xx answer is an
// error: the generator only sends valid requests.
func (r *run) send(ctx context.Context, service string, q request) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	status := "error"
	ok := false
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, q.method, r.cfg.Targets[service]+q.path, body)
	if err == nil {
		if q.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		var resp *http.Response
		resp, err = r.client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			status = fmt.Sprint(resp.StatusCode)
			ok = rerr == nil && resp.StatusCode < 300
			if ok && q.onBody != nil {
				q.onBody(b)
			}
		}
	}
	lat := time.Since(t0)
	r.sent.Add(1)
	if !ok {
		r.failed.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{service, q.endpoint}
	st := r.byKey[k]
	if st == nil {
		st = &stats{status: map[string]int{}}
		r.byKey[k] = st
	}
	st.lat = append(st.lat, lat)
	st.status[status]++
	if !ok {
		st.errors++
	}
}

func (r *run) summary() []EndpointStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]EndpointStats, 0, len(r.byKey))
	for k, st := range r.byKey {
		sort.Slice(st.lat, func(i, j int) bool { return st.lat[i] < st.lat[j] })
		out = append(out, EndpointStats{
			Service: k.service, Endpoint: k.endpoint, Requests: len(st.lat), Errors: st.errors, Status: st.status,
			P50: quantile(st.lat, 0.50), P95: quantile(st.lat, 0.95), P99: quantile(st.lat, 0.99), Max: st.lat[len(st.lat)-1],
		})
	}
	order := map[string]int{}
	for i, s := range bank.Services {
		order[s.Name] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return order[out[i].Service] < order[out[j].Service]
		}
		return out[i].Endpoint < out[j].Endpoint
	})
	return out
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *run) progress(start time.Time) (stop func()) {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	line := func() {
		el := time.Since(start)
		total := "∞"
		if r.cfg.Duration > 0 {
			total = r.cfg.Duration.String()
		}
		sent := r.sent.Load()
		msg := fmt.Sprintf("%5.0fs/%s  sent %d  errors %d  dropped %d  %.1f req/s",
			el.Seconds(), total, sent, r.failed.Load(), r.dropped.Load(), float64(sent)/max(el.Seconds(), 1e-9))
		if r.cfg.InPlace {
			fmt.Fprintf(w, "\r\033[K%s", msg)
		} else {
			fmt.Fprintln(w, msg)
		}
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				line()
				if r.cfg.InPlace {
					fmt.Fprintln(w)
				}
				return
			case <-t.C:
				line()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// WriteTable writes the per-endpoint table and a total line.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "service\tendpoint\trequests\terrors\tp50\tp95\tp99\tmax\t")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }
	for _, e := range r.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", e.Service, e.Endpoint, e.Requests, e.Errors, ms(e.P50), ms(e.P95), ms(e.P99), ms(e.Max))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total: %d requests in %s (%.1f req/s, target %.1f), %d errors (%.2f%%), %d dropped\n",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Achieved, r.Rate, r.Errors, 100*r.ErrorRate(), r.Dropped)
	return err
}

// Identify asks each URL's GET /health which service it is, so the runbook's
// form "loadgen URL... DURATION" needs no names. Only the given URLs are asked.
func Identify(ctx context.Context, client *http.Client, urls []string) (map[string]string, error) {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	out := map[string]string{}
	for _, u := range urls {
		u = strings.TrimRight(u, "/")
		req, err := http.NewRequestWithContext(ctx, "GET", u+"/health", nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: not reachable: %w", u, err)
		}
		var h struct {
			Service string `json:"service"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || catalog[h.Service] == nil {
			return nil, fmt.Errorf("%s: GET /health did not name a bank service (status %d)", u, resp.StatusCode)
		}
		if prev, dup := out[h.Service]; dup {
			return nil, fmt.Errorf("%s and %s are both %s", prev, u, h.Service)
		}
		out[h.Service] = u
	}
	return out, nil
}
