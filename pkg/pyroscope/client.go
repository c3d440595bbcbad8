package pyroscope

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"

	"github.com/profdiff/profdiff/internal/redact"
)

// Defaults. They suit a CI runner with two shared cores talking to a
// Pyroscope on the same host or network: a few calls in flight keep the
// server busy without starving the services being profiled, and a call that
// takes longer than 30 s is stuck rather than slow.
const (
	DefaultConcurrency   = 4
	DefaultCallTimeout   = 30 * time.Second
	DefaultMaxAttempts   = 4
	DefaultBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultCPUSampleRate = 100 // Hz, the Go runtime's and pyroscope-go's default
	// DefaultReadMaxBytes bounds one response, so a runaway query cannot
	// exhaust the memory of a CI runner.
	DefaultReadMaxBytes = 256 << 20
)

// Environment variables read by WithAuthFromEnv, the first set of each
// list winning. The PROFDIFF_ names come first so that profdiff can use
// read credentials that differ from the write credentials the instrumented
// services get in the same environment; the plain PYROSCOPE_ names are the
// ones pyroscope-go's users already set; the PROFILECLI_ names are Grafana
// profilecli's, so that a job set up for it works unchanged.
var (
	EnvBasicAuthUser     = []string{"PROFDIFF_PYROSCOPE_BASIC_AUTH_USER", "PYROSCOPE_BASIC_AUTH_USER", "PROFILECLI_USERNAME"}
	EnvBasicAuthPassword = []string{"PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD", "PYROSCOPE_BASIC_AUTH_PASSWORD", "PROFILECLI_PASSWORD"}
	EnvBearerToken       = []string{"PROFDIFF_PYROSCOPE_BEARER_TOKEN", "PYROSCOPE_BEARER_TOKEN", "PROFILECLI_TOKEN"}
	EnvTenantID          = []string{"PROFDIFF_PYROSCOPE_TENANT_ID", "PYROSCOPE_TENANT_ID", "PROFILECLI_TENANT_ID"}
)

// Client queries one Pyroscope server. It is safe for concurrent use.
type Client struct {
	url     string // base URL without credentials; the only form ever printed
	cfg     config
	q       querierv1connect.QuerierServiceClient
	secrets *redact.Redactor // every credential in every encoding
}

type config struct {
	httpClient    *http.Client
	user          string
	password      string
	token         string
	tenant        string
	json          bool
	concurrency   int
	callTimeout   time.Duration
	maxAttempts   int
	backoff       time.Duration
	maxBackoff    time.Duration
	cpuSampleRate int64
	allocRate     int64
	logger        *slog.Logger
	envErr        error
}

// Option configures a Client.
type Option func(*config)

// WithBasicAuth sends HTTP basic auth, as Grafana Cloud and most
// reverse-proxied Pyroscopes expect. It replaces a bearer token set earlier.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.user, c.password, c.token = user, password, "" }
}

// WithBearerToken sends "Authorization: Bearer <token>". It replaces basic
// auth set earlier.
func WithBearerToken(token string) Option {
	return func(c *config) { c.token, c.user, c.password = token, "", "" }
}

// WithTenant sends the tenant ID in X-Scope-OrgID, which a multi-tenant
// Pyroscope requires on every query.
func WithTenant(id string) Option { return func(c *config) { c.tenant = id } }

// WithAuthFromEnv reads credentials and tenant from the environment (see
// EnvBasicAuthUser and its siblings). Options after it override what it
// finds, which is how command-line flags take precedence over env.
func WithAuthFromEnv() Option {
	return func(c *config) {
		user, pass, tok := getenv(EnvBasicAuthUser), getenv(EnvBasicAuthPassword), getenv(EnvBearerToken)
		switch {
		case tok != "" && (user != "" || pass != ""):
			basic := envName(EnvBasicAuthUser)
			if basic == "" {
				basic = envName(EnvBasicAuthPassword)
			}
			c.envErr = fmt.Errorf("both basic auth (%s) and a bearer token (%s) are set in the environment; unset one", basic, envName(EnvBearerToken))
		case tok != "":
			WithBearerToken(tok)(c)
		case user != "" || pass != "":
			WithBasicAuth(user, pass)(c)
		}
		if t := getenv(EnvTenantID); t != "" {
			c.tenant = t
		}
	}
}

// envName is the first of names that is set, or "".
func envName(names []string) string {
	for _, n := range names {
		if os.Getenv(n) != "" {
			return n
		}
	}
	return ""
}

func getenv(names []string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// WithHTTPClient sets the HTTP client, e.g. for TLS settings or a proxy.
// Its Timeout should be zero: per-call timeouts are WithCallTimeout's job.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithConnectJSON makes the client speak Connect with the JSON codec
// instead of binary protobuf. Both are what a real Pyroscope accepts;
// protobuf is the default because merged profiles are several times smaller
// and faster to decode that way. JSON helps behind proxies that inspect
// bodies, and when debugging with curl.
func WithConnectJSON() Option { return func(c *config) { c.json = true } }

// WithConcurrency bounds the number of queries in flight (default 4).
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithCallTimeout bounds each attempt of each call (default 30 s). The
// caller's context bounds the whole operation.
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// WithRetry sets how many attempts a call gets on a transient failure
// (default 4; 1 disables retries) and the first backoff, which doubles on
// every retry up to 5 s, with jitter.
func WithRetry(maxAttempts int, backoff time.Duration) Option {
	return func(c *config) {
		if maxAttempts > 0 {
			c.maxAttempts = maxAttempts
		}
		if backoff > 0 {
			c.backoff = backoff
		}
	}
}

// WithCPUSampleRate sets the CPU sampling rate, in Hz, assumed when the
// server cannot tell it (see Collect). The default is 100 Hz.
func WithCPUSampleRate(hz int) Option {
	return func(c *config) {
		if hz > 0 {
			c.cpuSampleRate = int64(hz)
		}
	}
}

// WithAllocSampleRate sets the allocation sampling rate of the profiled
// services in bytes (Go's runtime.MemProfileRate, pyroscope-go's
// ProfileAllocations rate; Go's default is 512 KiB). A merged heap profile
// states a period that need not be the services' rate, and the rate decides
// how many sampled allocations a value stands for: at 64 KiB one sampled
// 16-byte allocation reads as 4,096 objects, at 512 KiB as 32,768. 0 keeps
// the merged profile's period.
func WithAllocSampleRate(bytes int) Option {
	return func(c *config) {
		if bytes > 0 {
			c.allocRate = int64(bytes)
		}
	}
}

// WithLogger receives one line per retried call. Lines never hold
// credentials. The default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// New returns a client for the Pyroscope at baseURL, e.g.
// "http://127.0.0.1:4040" or "https://profiles.example.com/pyroscope".
// Credentials in the URL ("https://user:pass@host") are taken as basic auth
// and removed from the URL, so they are never printed with it.
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{
		concurrency:   DefaultConcurrency,
		callTimeout:   DefaultCallTimeout,
		maxAttempts:   DefaultMaxAttempts,
		backoff:       DefaultBackoff,
		maxBackoff:    DefaultMaxBackoff,
		cpuSampleRate: DefaultCPUSampleRate,
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pyroscope URL %q: want http://host:port or https://host[/path]", redactURL(baseURL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("pyroscope URL %q: must not have a query or fragment", redactURL(baseURL))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		cfg.user, cfg.password = u.User.Username(), pass
		u.User = nil
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.envErr != nil {
		return nil, cfg.envErr
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{url: strings.TrimRight(u.String(), "/"), cfg: cfg}
	c.secrets = secretForms(cfg)

	hc := cfg.httpClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.concurrency + 1
		hc = &http.Client{Transport: t}
	}
	// A shallow copy, so the caller's client is not modified: its transport
	// is wrapped to learn each response's HTTP status, which decides retries.
	hcCopy := *hc
	base := hcCopy.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hcCopy.Transport = statusRecorder{base: base}
	copts := []connect.ClientOption{
		connect.WithInterceptors(c.headerInterceptor()),
		connect.WithReadMaxBytes(DefaultReadMaxBytes),
	}
	if cfg.json {
		copts = append(copts, connect.WithProtoJSON())
	}
	c.q = querierv1connect.NewQuerierServiceClient(&hcCopy, c.url, copts...)
	return c, nil
}

// URL returns the server's base URL, without credentials.
func (c *Client) URL() string { return c.url }

func (c *Client) headerInterceptor() connect.UnaryInterceptorFunc {
	var auth string
	switch {
	case c.cfg.token != "":
		auth = "Bearer " + c.cfg.token
	case c.cfg.user != "" || c.cfg.password != "":
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.cfg.user+":"+c.cfg.password))
	}
	tenant := c.cfg.tenant
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if auth != "" {
				req.Header().Set("Authorization", auth)
			}
			if tenant != "" {
				req.Header().Set("X-Scope-OrgID", tenant)
			}
			return next(ctx, req)
		}
	}
}

// secretForms returns the redactor for cfg's credentials: the token, the
// password and the basic auth pair, each in every encoding a server could
// echo (see package redact).
func secretForms(cfg config) *redact.Redactor {
	var secrets []string
	if cfg.token != "" {
		secrets = append(secrets, cfg.token)
	}
	if cfg.user != "" || cfg.password != "" {
		secrets = append(secrets, cfg.user+":"+cfg.password, cfg.password)
	}
	return redact.New(secrets...)
}

// redact removes every credential from s. Errors from a server or a proxy
// may echo request headers back; this is the last line of defence.
func (c *Client) redact(s string) string { return c.secrets.String(s) }

func redactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "[REDACTED]@" + s[i+1:]
		}
		return s
	}
	u.User = nil
	return u.String()
}

// callInfo travels in the context of one attempt so that statusRecorder can
// report the HTTP status connect does not expose. Connect maps a bare HTTP
// 400 to CodeInternal and 500 to CodeUnknown; only the status tells a
// permanent "bad request" from a transient server failure.
type callInfo struct{ status atomic.Int32 }

type callInfoKey struct{}

type statusRecorder struct{ base http.RoundTripper }

func (s statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(r)
	if ci, ok := r.Context().Value(callInfoKey{}).(*callInfo); ok && resp != nil {
		ci.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// call runs one unary call with a per-attempt timeout, retrying transient
// failures with exponential backoff and jitter.
func call[Req, Res any](ctx context.Context, c *Client, op string,
	fn func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), msg *Req) (*Res, error) {
	for attempt := 1; ; attempt++ {
		ci := &callInfo{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, callInfoKey{}, ci), c.cfg.callTimeout)
		resp, err := fn(actx, connect.NewRequest(msg))
		cancel()
		if err == nil {
			return resp.Msg, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pyroscope %s: %w", op, context.Cause(ctx))
		}
		status := int(ci.status.Load())
		e := c.newError(op, err, status, attempt)
		if !retryable(err, status) || attempt >= c.cfg.maxAttempts {
			return nil, e
		}
		wait := c.backoffFor(attempt)
		c.cfg.logger.Info("pyroscope: retrying", "op", op, "attempt", attempt, "wait", wait, "error", e.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pyroscope %s: %w (last error: %v)", op, context.Cause(ctx), e)
		case <-t.C:
		}
	}
}

func (c *Client) backoffFor(attempt int) time.Duration {
	d := c.cfg.backoff << (attempt - 1)
	if d > c.cfg.maxBackoff || d <= 0 {
		d = c.cfg.maxBackoff
	}
	// Full jitter on the upper half keeps parallel workers from retrying in
	// lockstep against a recovering server.
	return d/2 + rand.N(d/2+1)
}

// retryable reports whether a failed call may succeed if repeated: the
// server was unreachable, overloaded (429, 502-504) or failed internally
// (5xx), or the attempt timed out. A request the server understood and
// refused (400, 401, 403, 404, and any other 4xx) never is.
func retryable(err error, status int) bool {
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
		return false
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeResourceExhausted, connect.CodeDeadlineExceeded, connect.CodeAborted:
		return true
	case connect.CodeUnknown, connect.CodeInternal:
		return status >= 500 && status != http.StatusNotImplemented
	}
	return false
}
