package bank

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Server is one running bank service: its routes, metrics and in-memory state.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler
	reg     *prometheus.Registry
	scale   map[string]*workScale
	started time.Time

	// State of the service this server runs; only one group is used.
	orders *orderBook
	// orderKeys, balanceKeys, notificationKeys and gatewayKeys remember
	// what was booked, sent or answered per idempotency key (see
	// IdempotencyHeader).
	orderKeys        *keyedResults[order]
	balanceKeys      *keyedResults[accountView]
	notificationKeys *keyedResults[notificationResponse]
	gatewayKeys      *keyedResults[keyedAnswer]
	ledger           *paymentLedger
	accounts         *accountStore
	client           *http.Client // gateway only

	mu   sync.Mutex
	addr net.Addr
}

// New builds the service named by cfg.Service. It fails on an unknown service,
// a bad address or downstream URL, or a bad injection.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	reg, m := newRegistry()
	s := &Server{cfg: cfg, mux: http.NewServeMux(), reg: reg, scale: map[string]*workScale{}, started: time.Now()}
	for name, f := range cfg.Inject {
		h, _ := HotspotByInject(name)
		if h.Service != cfg.Service {
			cfg.Logger.Info("inject ignored: hot spot belongs to another service", "service", cfg.Service, "hotspot", name, "owner", h.Service)
			continue
		}
		s.scale[name] = newWorkScale(f)
		cfg.Logger.Warn("inject ON: regression injected on purpose", "service", cfg.Service, "hotspot", name, "factor", f, "function", h.Function)
	}
	s.mux.Handle("GET /health", handle(s.health))
	s.mux.Handle("GET /metrics", metricsHandler(reg))
	switch cfg.Service {
	case ServiceGateway:
		s.registerGateway()
	case ServiceOrder:
		s.registerOrder()
	case ServicePayment:
		s.registerPayment()
	case ServiceFraud:
		s.registerFraud()
	case ServiceAccount:
		s.registerAccount()
	case ServiceLoan:
		s.registerLoan()
	case ServiceNotification:
		s.registerNotification()
	}
	s.handler = m.instrument(http.HandlerFunc(s.route))
	return s, nil
}

// ws returns the work scale of a hot spot (nil when not injected).
func (s *Server) ws(inject string) *workScale { return s.scale[inject] }

// Name returns the full service name.
func (s *Server) Name() string { return s.cfg.Service }

// Handler returns the service's HTTP handler (routes, metrics, JSON errors).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the Prometheus registry behind GET /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Addr returns the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// route dispatches to the mux, answering unknown paths and wrong methods with
// the same JSON error shape as everything else (the mux's own are plain text).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		if allow := s.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
			return
		}
		writeError(w, errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	sort.Strings(allow)
	return allow
}

// jobInterval is how often a service's background job takes its lock.
const jobInterval = 2 * time.Millisecond

// startJobs runs the service's background job, if it has one, until the
// returned function is called. The jobs take the same coarse lock as the
// lock hot spots, which is what makes those visible in the mutex profile at
// any request rate rather than only when requests happen to overlap.
func (s *Server) startJobs() (stop func()) {
	var job func(i int)
	switch {
	case s.orders != nil:
		job = func(int) { s.orders.decayDemand() }
	case s.ledger != nil:
		job = func(int) { s.ledger.sweepExposure() }
	case s.accounts != nil:
		job = s.accounts.accrualTick
	default:
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if s.cfg.ProfileLabels {
			pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("service", s.cfg.Service)))
		}
		t := time.NewTicker(jobInterval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-t.C:
				job(i)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

type healthResponse struct {
	Status  string             `json:"status"`
	Service string             `json:"service"`
	Uptime  float64            `json:"uptime_seconds"`
	Inject  map[string]float64 `json:"inject,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	inj := map[string]float64{}
	for name, ws := range s.scale {
		if ws == nil {
			inj[name] = 1
		} else {
			inj[name] = ws.factor
		}
	}
	writeJSON(w, http.StatusOK, healthResponse{Status: "UP", Service: s.cfg.Service, Uptime: time.Since(s.started).Seconds(), Inject: inj})
	return nil
}

// Run listens on the configured address and serves until ctx is done, then
// drains in-flight requests (up to DrainTimeout) and returns nil.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", s.cfg.Service, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then shuts down gracefully: the
// listener closes at once, in-flight requests run to completion (bounded by
// DrainTimeout), and Serve returns nil. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log := s.cfg.Logger
	stopJobs := s.startJobs()
	defer stopJobs()
	log.Info("listening", "service", s.cfg.Service, "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() {
		if s.cfg.ProfileLabels {
			// Connection and handler goroutines inherit the label from here.
			pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("service", s.cfg.Service)))
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", s.cfg.Service, err)
	case <-ctx.Done():
	}
	log.Info("shutting down, draining in-flight requests", "service", s.cfg.Service, "timeout", s.cfg.DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("%s: drain: %w", s.cfg.Service, err)
	}
	log.Info("stopped", "service", s.cfg.Service)
	return nil
}
