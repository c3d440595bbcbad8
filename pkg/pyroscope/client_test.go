package pyroscope

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// failFirst answers the first n requests with status (and body), then
// passes requests through; it counts every request.
func failFirst(n int32, status int, body string, count *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if count.Add(1) <= n {
				if body != "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(status)
				fmt.Fprint(w, body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fail     int32
		status   int
		body     string // a Connect error body, or empty for a bare status
		attempts int32  // requests the server sees
		code     connect.Code
		ok       bool
	}{
		{name: "503 twice then OK", fail: 2, status: 503, attempts: 3, ok: true},
		{name: "429 then OK", fail: 1, status: 429, attempts: 2, ok: true},
		{name: "bare 500 then OK", fail: 1, status: 500, attempts: 2, ok: true},
		{name: "502 then OK", fail: 1, status: 502, attempts: 2, ok: true},
		{name: "connect unavailable then OK", fail: 1, status: 503, body: `{"code":"unavailable","message":"ingester not ready"}`, attempts: 2, ok: true},
		{name: "connect resource_exhausted then OK", fail: 1, status: 429, body: `{"code":"resource_exhausted","message":"too many queries"}`, attempts: 2, ok: true},
		{name: "503 forever", fail: 100, status: 503, attempts: 4, code: connect.CodeUnavailable},
		{name: "400 not retried", fail: 100, status: 400, body: `{"code":"invalid_argument","message":"missing time range in the query"}`, attempts: 1, code: connect.CodeInvalidArgument},
		{name: "bare 400 not retried", fail: 100, status: 400, attempts: 1, code: connect.CodeInternal},
		{name: "401 not retried", fail: 100, status: 401, attempts: 1, code: connect.CodeUnauthenticated},
		{name: "403 not retried", fail: 100, status: 403, attempts: 1, code: connect.CodePermissionDenied},
		{name: "404 not retried", fail: 100, status: 404, attempts: 1, code: connect.CodeUnimplemented},
		{name: "501 not retried", fail: 100, status: 501, attempts: 1, code: connect.CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var count atomic.Int32
			srv := newFake(t, &fakeQuerier{}, failFirst(tt.fail, tt.status, tt.body, &count))
			c, _ := New(srv.URL, WithRetry(4, time.Millisecond))
			_, err := c.ProfileTypes(context.Background(), time.Time{}, time.Time{})
			if got := count.Load(); got != tt.attempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.attempts)
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if connect.CodeOf(err) != tt.code || pe.Code != tt.code || pe.Status != tt.status || int32(pe.Attempts) != tt.attempts {
				t.Errorf("err = %v: code %v status %d attempts %d; want %v %d %d", err, pe.Code, pe.Status, pe.Attempts, tt.code, tt.status, tt.attempts)
			}
		})
	}
}

func TestRetryBackoffGrows(t *testing.T) {
	c, _ := New("http://127.0.0.1:1", WithRetry(10, 100*time.Millisecond))
	for attempt, max := range []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		max *= time.Millisecond
		if attempt >= 6 {
			max = DefaultMaxBackoff
		}
		for range 20 {
			d := c.backoffFor(attempt + 1)
			if d < max/2 || d > max {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", attempt+1, d, max/2, max)
			}
		}
	}
}

func TestCallTimeout(t *testing.T) {
	var count atomic.Int32
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			count.Add(1)
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := newFake(t, &fakeQuerier{}, slow)
	c, _ := New(srv.URL, WithCallTimeout(100*time.Millisecond), WithRetry(2, time.Millisecond))
	start := time.Now()
	_, err := c.ProfileTypes(context.Background(), time.Time{}, time.Time{})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %s; the per-call timeout is 100ms", elapsed)
	}
	if !errors.Is(err, ErrTimeout) || connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if count.Load() != 2 || !strings.Contains(err.Error(), "did not answer ProfileTypes in time (after 2 attempts)") {
		t.Errorf("attempts %d, err %v", count.Load(), err)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	var count atomic.Int32
	srv := newFake(t, &fakeQuerier{}, failFirst(1000, 503, "", &count))
	c, _ := New(srv.URL, WithRetry(100, 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ProfileTypes(ctx, time.Time{}, time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %s; want the context's deadline promptly", err, time.Since(start))
	}
}

func TestAuthHeaders(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name       string
		url        func(string) string
		env        map[string]string
		opts       []Option
		authz, org string
	}{
		{name: "none"},
		{name: "basic", opts: []Option{WithBasicAuth("alice", "s3cret")}, authz: basic("alice", "s3cret")},
		{name: "bearer", opts: []Option{WithBearerToken("tok-123")}, authz: "Bearer tok-123"},
		{name: "tenant", opts: []Option{WithTenant("team-a")}, org: "team-a"},
		{name: "basic in URL", url: func(u string) string { return strings.Replace(u, "http://", "http://bob:pw@", 1) }, authz: basic("bob", "pw")},
		{name: "env", env: map[string]string{"PYROSCOPE_BASIC_AUTH_USER": "u", "PYROSCOPE_BASIC_AUTH_PASSWORD": "p", "PYROSCOPE_TENANT_ID": "t1"},
			opts: []Option{WithAuthFromEnv()}, authz: basic("u", "p"), org: "t1"},
		{name: "PROFDIFF_ env wins", env: map[string]string{"PYROSCOPE_BEARER_TOKEN": "write-token", "PROFDIFF_PYROSCOPE_BEARER_TOKEN": "read-token"},
			opts: []Option{WithAuthFromEnv()}, authz: "Bearer read-token"},
		{name: "flag after env wins", env: map[string]string{"PYROSCOPE_BEARER_TOKEN": "env-token", "PYROSCOPE_TENANT_ID": "env-tenant"},
			opts: []Option{WithAuthFromEnv(), WithBasicAuth("flag", "pw"), WithTenant("flag-tenant")}, authz: basic("flag", "pw"), org: "flag-tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, names := range [][]string{EnvBasicAuthUser, EnvBasicAuthPassword, EnvBearerToken, EnvTenantID} {
				for _, n := range names {
					t.Setenv(n, tt.env[n])
				}
			}
			f := &fakeQuerier{}
			srv := newFake(t, f, nil)
			u := srv.URL
			if tt.url != nil {
				u = tt.url(u)
			}
			c, err := New(u, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.URL(), "@") {
				t.Errorf("URL() = %s keeps credentials", c.URL())
			}
			if _, err := c.Collect(context.Background(), Query{From: t0, Until: t0.Add(10 * time.Second), Window: 10 * time.Second, Types: mustTypes(t, "cpu")}); err != nil {
				t.Fatal(err)
			}
			// Every call carries the headers; check the last.
			h := f.lastHeader()
			if got := h.Get("Authorization"); got != tt.authz {
				t.Errorf("Authorization = %q, want %q", got, tt.authz)
			}
			if got := h.Get("X-Scope-OrgID"); got != tt.org {
				t.Errorf("X-Scope-OrgID = %q, want %q", got, tt.org)
			}
		})
	}
}

func TestEnvBothAuthKindsIsAnError(t *testing.T) {
	t.Setenv("PYROSCOPE_BASIC_AUTH_USER", "u")
	t.Setenv("PYROSCOPE_BEARER_TOKEN", "very-secret-token")
	_, err := New("http://127.0.0.1:4040", WithAuthFromEnv())
	if err == nil || strings.Contains(err.Error(), "very-secret-token") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, _ := New("http://"+addr, WithRetry(2, time.Millisecond))
	_, err = c.Collect(context.Background(), Query{From: t0, Until: t0.Add(time.Minute)})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "cannot reach Pyroscope at http://" + addr + " (after 2 attempts): dial tcp " + addr + ": connect: connection refused"
	if err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}

func TestRefusedCredentials(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var count atomic.Int32
			srv := newFake(t, &fakeQuerier{}, failFirst(100, status, "", &count))
			c, _ := New(srv.URL, WithBasicAuth("u", "wrong"))
			_, err := c.Collect(context.Background(), Query{From: t0, Until: t0.Add(time.Minute)})
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v", err)
			}
			if want := fmt.Sprintf("Pyroscope at %s refused the credentials (%d)", srv.URL, status); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %v, want it to start %q", err, want)
			}
		})
	}
}

// TestSecretsNeverPrinted uses a server that echoes the request's
// Authorization header (and so the secret) in its error messages, as a badly
// configured proxy might; neither the error nor the log may show it.
func TestSecretsNeverPrinted(t *testing.T) {
	const password, token = "hunter2-p4ss", "tok-SUPER-secret-42"
	echo := func(status int) func(http.Handler) http.Handler {
		return func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, pass, _ := r.BasicAuth()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				auth := r.Header.Get("Authorization")
				_, cred, _ := strings.Cut(auth, " ")
				// Every form a server has been seen to echo: as sent,
				// lower-cased, URL-encoded and hex-dumped.
				fmt.Fprintf(w, `{"code":"%s","message":"bad auth header '%s' (password %s); %s; auth=%s; hex %x"}`,
					map[int]string{401: "unauthenticated", 503: "unavailable", 400: "invalid_argument"}[status],
					auth, pass, strings.ToLower(auth), url.QueryEscape(cred), cred)
			})
		}
	}
	tests := []struct {
		name string
		wrap func(http.Handler) http.Handler
		opts []Option
		url  func(string) string
	}{
		{name: "basic 401", wrap: echo(401), opts: []Option{WithBasicAuth("alice", password)}},
		{name: "bearer 401", wrap: echo(401), opts: []Option{WithBearerToken(token)}},
		{name: "bearer 503 retried", wrap: echo(503), opts: []Option{WithBearerToken(token)}},
		{name: "basic 400", wrap: echo(400), opts: []Option{WithBasicAuth("alice", password)}},
		{name: "password in URL, unreachable", url: func(string) string { return "http://alice:" + password + "@127.0.0.1:1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := "http://127.0.0.1:1"
			if tt.wrap != nil {
				u = newFake(t, &fakeQuerier{}, tt.wrap).URL
			}
			if tt.url != nil {
				u = tt.url(u)
			}
			var logs bytes.Buffer
			opts := append(tt.opts, WithRetry(2, time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			c, err := New(u, opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Collect(context.Background(), Query{From: t0, Until: t0.Add(time.Minute)})
			if err == nil {
				t.Fatal("no error")
			}
			out := err.Error() + "\n" + fmt.Sprintf("%+v %#v", err, errors.Unwrap(err)) + "\n" + logs.String()
			basic := base64.StdEncoding.EncodeToString([]byte("alice:" + password))
			for _, secret := range []string{password, token, basic, url.QueryEscape(basic), fmt.Sprintf("%x", token), fmt.Sprintf("%x", basic)} {
				if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
					t.Errorf("output shows a secret:\n%s", out)
				}
			}
			if tt.wrap != nil && !strings.Contains(out, "[REDACTED]") {
				t.Errorf("expected the echoed secret to be redacted:\n%s", out)
			}
		})
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:4040", "ftp://host", "http://", "http://host/?q=1", "http://u:topsecret@host/?x"} {
		_, err := New(u)
		if err == nil {
			t.Errorf("New(%q) accepted", u)
		} else if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("New(%q) error shows the password: %v", u, err)
		}
	}
}
