package bank

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/pproftest"
)

// testRequest is one request of a service's load mix in these tests.
type testRequest struct{ method, path, body string }

// loadMix is a small version of what the load generator sends each service.
var loadMix = map[string][]testRequest{
	ServiceGateway: {
		{"POST", "/api/transfers", `{"from":"acc-0001","to":"acc-0002","amount":12.5,"description":"dinner"}`},
		{"GET", "/api/accounts/acc-0003", ""},
		{"POST", "/api/loans/quote", `{"principal":20000,"annual_rate":0.07,"term_months":36,"account_id":"acc-0004"}`},
		{"POST", "/api/orders", `{"account_id":"acc-0005","items":[{"sku":"book","quantity":2,"unit_price":15}]}`},
	},
	ServiceOrder: {
		{"POST", "/orders", `{"account_id":"acc-0001","items":[{"sku":"a","quantity":3,"unit_price":5},{"sku":"b","quantity":1,"unit_price":40}]}`},
		{"POST", "/orders/batch", `{"orders":[` + strings.TrimSuffix(strings.Repeat(`{"account_id":"acc-0002","items":[{"sku":"c","quantity":2,"unit_price":9.5}]},`, 8), ",") + `]}`},
		{"GET", "/orders/ord-00000001", ""},
	},
	ServicePayment: {
		{"POST", "/payments", `{"from":"acc-0001","to":"acc-0002","amount":19.99}`},
		{"POST", "/payments", `{"from":"acc-0003","to":"acc-0004","amount":250}`},
	},
	ServiceFraud: {
		{"POST", "/fraud/check", `{"account_id":"acc-0001","amount":120,"merchant":"Corner Grocery","country":"US","description":"groceries"}`},
		{"POST", "/fraud/check", `{"account_id":"acc-0002","amount":980,"merchant":"Air Tickets Ltd","country":"FR","description":"flight to Paris"}`},
	},
	ServiceAccount: {
		{"POST", "/accounts/acc-0001/deposit", `{"amount":10}`},
		{"POST", "/accounts/acc-0001/withdraw", `{"amount":10}`},
		{"GET", "/accounts/acc-0002", ""},
	},
	ServiceLoan: {
		{"POST", "/loans/quote", `{"principal":250000,"annual_rate":0.055,"term_months":360}`},
		{"POST", "/loans/quote", `{"principal":15000,"annual_rate":0.089,"term_months":60}`},
	},
	ServiceNotification: {
		{"POST", "/notifications", `{"account_id":"acc-0001","channel":"email","template":"transfer_sent","params":{"name":"Ada","amount":"12.50","currency":"USD","to":"acc-0002","reference":"dinner"}}`},
		{"POST", "/notifications", `{"account_id":"acc-0002","channel":"sms","template":"low_balance","locale":"de","params":{"balance":"3.20","currency":"EUR"}}`},
	},
}

// labelled runs h under the pprof label svc=name, so that CPU samples of the
// service under test can be told from those of the test's own client.
func labelled(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("svc", name), func(ctx context.Context) {
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	})
}

// drive sends the service's load mix from workers goroutines for d.
func drive(t *testing.T, url string, mix []testRequest, workers int, d time.Duration) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	total, bad := 0, ""
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			n := 0
			for i := w; time.Now().Before(deadline); i++ {
				q := mix[i%len(mix)]
				req, _ := http.NewRequest(q.method, url+q.path, strings.NewReader(q.body))
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					bad = err.Error()
					mu.Unlock()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 && !(resp.StatusCode == 404 && q.method == "GET") {
					mu.Lock()
					bad = fmt.Sprintf("%s %s: %d %s", q.method, q.path, resp.StatusCode, truncate(string(b), 200))
					mu.Unlock()
					return
				}
				n++
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if bad != "" {
		t.Fatal(bad)
	}
	return total
}

// odds is share/(1-share): how the hot spot's value compares with the rest of
// its profile. A share of 1 gives +Inf.
func odds(share float64) float64 {
	return share / (1 - share)
}

// measurement is what one profiled load run found about a hot spot.
type measurement struct {
	share    float64 // of the profile's total
	total    int64   // profile total (ns of CPU or delay, bytes)
	requests int
	seen     bool
}

// perRequest is the hot spot's value per request: the rate normalization that
// lock profiles need, since a coarse lock is most of its profile either way.
func (m measurement) perRequest() float64 {
	return m.share * float64(m.total) / float64(max(m.requests, 1))
}

// measure runs the service's load under the hot spot's profile kind.
func measure(t *testing.T, h Hotspot, factor float64, d time.Duration) (m measurement) {
	t.Helper()
	cfg := Config{Service: h.Service, Logger: quiet, PaymentLatency: -1}
	if factor != 1 {
		cfg.Inject = map[string]float64{h.Inject: factor}
	}
	if h.Service == ServiceGateway {
		g := startGroup(t, Config{PaymentLatency: -1})
		cfg.Downstreams = Downstreams{Order: g.URLs[ServiceOrder], Payment: g.URLs[ServicePayment], Fraud: g.URLs[ServiceFraud],
			Account: g.URLs[ServiceAccount], Loan: g.URLs[ServiceLoan], Notification: g.URLs[ServiceNotification]}
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(labelled(h.Service, srv.Handler()))
	defer ts.Close()
	mix := loadMix[h.Service]
	drive(t, ts.URL, mix, 4, d/5) // warm up: connections, caches, order IDs

	var buf bytes.Buffer
	switch h.Profile {
	case "cpu":
		runtime.SetCPUProfileRate(400) // more samples per second; pprof then warns once
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Fatal(err)
		}
		m.requests = drive(t, ts.URL, mix, 4, d)
		pprof.StopCPUProfile()
		p, err := profile.Parse(&buf)
		if err != nil {
			t.Fatal(err)
		}
		m.share, m.total, m.seen = pproftest.Share(t, p, "cpu", h.Function, func(s *profile.Sample) bool {
			return len(s.Label["svc"]) == 1 && s.Label["svc"][0] == h.Service
		})
	case "alloc_space":
		old := runtime.MemProfileRate
		runtime.MemProfileRate = 8192
		defer func() { runtime.MemProfileRate = old }()
		before := pproftest.Lookup(t, "allocs")
		m.requests = drive(t, ts.URL, mix, 4, d)
		p := pproftest.Delta(t, pproftest.Lookup(t, "allocs"), before)
		m.share, m.total, m.seen = pproftest.Share(t, p, "alloc_space", h.Function, nil)
	case "mutex_delay":
		old := runtime.SetMutexProfileFraction(1)
		defer runtime.SetMutexProfileFraction(old)
		before := pproftest.Lookup(t, "mutex")
		m.requests = drive(t, ts.URL, mix, 8, d)
		p := pproftest.Delta(t, pproftest.Lookup(t, "mutex"), before)
		m.share, m.total, m.seen = pproftest.Share(t, p, "delay", h.Function, nil)
	default:
		t.Fatalf("unknown profile %q", h.Profile)
	}
	return m
}

// TestHotspotsInProfiles proves, for every hot spot, that the Function in the
// table is the name a real profile reports, that it holds a visible share
// (≥ 2%) of its profile under normal load, and that injecting a factor makes
// it grow: its share's odds for CPU and allocation hot spots; for lock hot spots,
// whose coarse lock is most of the mutex profile either way, its delay per
// request (and its share must not fall).
func TestHotspotsInProfiles(t *testing.T) {
	d := time.Second
	if testing.Short() {
		d = 500 * time.Millisecond
	}
	const factor = 3
	for _, h := range Hotspots {
		t.Run(h.Inject, func(t *testing.T) {
			base := measure(t, h, 1, d)
			if !base.seen {
				t.Fatalf("%s not in the %s profile of %s (total %d)", h.Function, h.Profile, h.Service, base.total)
			}
			inj := measure(t, h, factor, d)
			t.Logf("%-22s %-12s share %5.1f%% -> %5.1f%%, per request %.0f -> %.0f with x%d",
				h.Inject, h.Profile, 100*base.share, 100*inj.share, base.perRequest(), inj.perRequest(), factor)
			if base.share < 0.02 {
				t.Errorf("base share %.1f%% < 2%%", 100*base.share)
			}
			if h.Profile == "mutex_delay" {
				if raceEnabled {
					t.Log("lock delay rise not asserted: the race detector's overhead dominates lock timing")
					return
				}
				// Lock delay depends on how the scheduler interleaves the
				// goroutines in this one second (on two cores a x3 hold
				// sometimes raised it by only 3-8% for three measurements
				// in a row), so a measurement that shows no rise is
				// repeated with more injected work, up to three times in
				// all, before the test fails.
				f := factor
				for attempt := 2; inj.perRequest() <= 1.1*base.perRequest() && attempt <= 3; attempt++ {
					f *= 2
					t.Logf("attempt %d: delay per request %.0f -> %.0f; measuring again with x%d", attempt, base.perRequest(), inj.perRequest(), f)
					base, inj = measure(t, h, 1, d), measure(t, h, float64(f), d)
				}
				if inj.perRequest() <= 1.1*base.perRequest() {
					t.Errorf("injected x%d: delay per request %.0f -> %.0f, share %.1f%% -> %.1f%%",
						f, base.perRequest(), inj.perRequest(), 100*base.share, 100*inj.share)
				}
				return
			}
			// The share saturates when the hot spot is most of its profile
			// (fraud.rules holds about 78% in-process: x3 can at most take it
			// to 91%, and on a busy machine it reached 84%), so the rise is
			// judged on the odds share/(1-share): the hot spot's value
			// against the rest of the profile, which x3 would triple if all
			// of the share were injected work and nothing else moved.
			if r := odds(inj.share) / odds(base.share); r < 1.3 {
				t.Errorf("injected x%d: share %.1f%% -> %.1f%%, its odds rose only x%.2f (want >= x1.3)", factor, 100*base.share, 100*inj.share, r)
			}
		})
	}
}

func TestHotspotTable(t *testing.T) {
	seen := map[string]bool{}
	perService := map[string]int{}
	for _, h := range Hotspots {
		if seen[h.Inject] {
			t.Errorf("duplicate %s", h.Inject)
		}
		seen[h.Inject] = true
		if _, err := LookupService(h.Service); err != nil {
			t.Errorf("%s: %v", h.Inject, err)
		}
		if !strings.HasPrefix(h.Function, pkgPath+".") {
			t.Errorf("%s: function %q outside the package", h.Inject, h.Function)
		}
		switch h.Profile {
		case "cpu", "alloc_space", "mutex_delay":
		default:
			t.Errorf("%s: profile %q", h.Inject, h.Profile)
		}
		perService[h.Service]++
	}
	for _, s := range Services {
		if perService[s.Name] == 0 {
			t.Errorf("service %s has no hot spot", s.Name)
		}
	}
}

func TestKnockOnOf(t *testing.T) {
	fraud, _ := HotspotByInject("fraud.rules")
	order, _ := HotspotByInject("order.batch")
	tests := []struct {
		h    Hotspot
		fn   string
		want bool
	}{
		{fraud, "runtime.gcBgMarkWorker", true},
		{fraud, "runtime.gcBgMarkWorker.func2", true},
		{fraud, "runtime.scanobject", true},
		{fraud, "runtime.scanobjectX", false}, // exact names match exactly
		{fraud, "runtime.mallocgc", false},    // called by the hot spot: a callee, not a knock-on
		{order, pkgPath + ".(*orderBook).decayDemand", true},
		{order, pkgPath + ".(*Server).startJobs.func1", true},
		{order, "runtime.gcBgMarkWorker", false},
	}
	for _, tt := range tests {
		if got := tt.h.KnockOnOf(tt.fn); got != tt.want {
			t.Errorf("%s.KnockOnOf(%q) = %v, want %v", tt.h.Inject, tt.fn, got, tt.want)
		}
	}
}
