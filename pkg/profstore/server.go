package profstore

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
)

// Server is an embedded Pyroscope-compatible profile store. Start one with
// Run, or create one with New to mount its Handler yourself. It is safe for
// concurrent ingest and queries.
type Server struct {
	opts    Options
	store   *store
	limiter *ingestLimiter
	handler http.Handler

	mu      sync.Mutex
	httpSrv *http.Server
	url     string
	stop    chan struct{}
	done    chan struct{}
	closed  bool
}

// New returns a server that is not listening, for a caller that needs only
// its Handler (an httptest server, another mux).
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, store: newStore(opts), limiter: newIngestLimiter(opts.IngestionRateMB, opts.IngestionBurstSizeMB)}
	s.handler = s.routes()
	return s
}

// Run starts a server listening on its address (a random loopback port
// unless WithAddr says otherwise) and serves until Close is called or ctx
// is done. Its URL is what clients and SDKs are pointed at.
func Run(ctx context.Context, opts ...Option) (*Server, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	s := New(o)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("profstore: listen: %w", err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.opts.ReadTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          nil,
	}
	s.url = "http://" + ln.Addr().String()
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go func() { _ = s.httpSrv.Serve(ln) }()
	go s.janitor()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// janitor drops expired uploads even when nothing is being ingested, so an
// idle server gives its memory back.
func (s *Server) janitor() {
	defer close(s.done)
	period := min(max(s.opts.Retention/10, time.Second), time.Minute)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.store.evictExpired()
		}
	}
}

// URL is the base URL clients and SDKs use ("http://127.0.0.1:PORT"); empty
// when the server was created with New.
func (s *Server) URL() string { return s.url }

// Handler serves the whole API; usable without Run.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops listening, waiting briefly for in-flight requests. It is safe
// to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed || s.httpSrv == nil {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.httpSrv.Close()
	}
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	connectOpts := []connect.HandlerOption{connect.WithReadMaxBytes(int(s.opts.MaxUploadBytes))}
	mux.Handle(querierv1connect.NewQuerierServiceHandler(querier{s: s}, connectOpts...))
	pushPath, pushHandler := pushv1connect.NewPusherServiceHandler(pusher{s: s}, connectOpts...)
	mux.Handle(pushPath, s.limitBody(pushHandler))
	mux.HandleFunc("/ingest", s.handleIngest)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ready\n"))
	})
	return s.auth(mux)
}

// limitBody answers 413, as the real server does, for a request whose
// declared body is over MaxUploadBytes; Connect alone would answer 429
// (resource exhausted), which tells a client to retry what can never fit.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxUploadBytes {
			s.store.reject()
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is over the %d byte limit", r.ContentLength, s.opts.MaxUploadBytes))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// auth enforces the optional basic auth / bearer token / tenant rules on
// everything but /ready, so clients' credential handling can be tested.
func (s *Server) auth(next http.Handler) http.Handler {
	o := s.opts
	needAuth := (o.BasicAuthUser != "" && o.BasicAuthPassword != "") || o.BearerToken != ""
	if !needAuth && !o.RequireTenant {
		return next
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			next.ServeHTTP(w, r)
			return
		}
		if needAuth {
			ok := false
			if u, p, has := r.BasicAuth(); has && o.BasicAuthUser != "" {
				ok = eq(u, o.BasicAuthUser) && eq(p, o.BasicAuthPassword)
			}
			if h := r.Header.Get("Authorization"); !ok && o.BearerToken != "" && strings.HasPrefix(h, "Bearer ") {
				ok = eq(strings.TrimPrefix(h, "Bearer "), o.BearerToken)
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="profstore"`)
				writeError(w, http.StatusUnauthorized, "unauthorized")
				return
			}
		}
		if o.RequireTenant && r.Header.Get(tenantHeader) == "" {
			writeError(w, http.StatusUnauthorized, "no org id")
			return
		}
		next.ServeHTTP(w, r)
	})
}
