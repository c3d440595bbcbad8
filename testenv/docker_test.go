package testenv

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// strictEnv makes a test that would skip for a missing outside tool fail
// instead, so CI cannot go green by skipping (.ci/run sets it).
const strictEnv = "PROFDIFF_STRICT"

// requireDocker skips the test when no Docker engine answers, or fails it
// under PROFDIFF_STRICT=1.
func requireDocker(t *testing.T) {
	t.Helper()
	if _, ok := os.LookupEnv(ryukEnv); !ok {
		// Before testcontainers first reads its configuration (once per
		// process), or it would try to start the reaper from an image.
		os.Setenv(ryukEnv, "true")
	}
	skip := func(reason string) {
		t.Helper()
		if os.Getenv(strictEnv) == "1" {
			t.Fatalf("%s=1 and %s", strictEnv, reason)
		}
		t.Skip(reason)
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		skip("no Docker engine: " + err.Error())
		return
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Health(ctx); err != nil {
		skip("Docker engine not reachable: " + err.Error())
	}
}

// TestDockerStack starts the whole stack on Docker (with the substitutes
// where the third-party images cannot be had, as on this project's CI),
// checks every service through its published port, sees profiles of every
// service reach Pyroscope and Prometheus scrape them, kills a service, and
// checks that Close leaves no container or network behind.
func TestDockerStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ten containers; skipped in -short mode")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	opts := Options{Backend: Docker, UploadInterval: 5 * time.Second, Progress: testWriter{t}}
	if os.Getenv(strictEnv) == "1" {
		// CI installs Debian's prometheus, so the substitute image must work.
		opts.Prometheus = "on"
	}
	start := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Logf("docker stack up in %s", time.Since(start).Round(100*time.Millisecond))
	d := s.impl.(*dockerStack)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()

	// Every component says which image it runs.
	comps := strings.Join(s.Components(), "\n")
	for _, want := range []string{"pyroscope: image", "prometheus:", "grafana:", "service bank-fraud-service: image " + bankImage} {
		if !strings.Contains(comps, want) {
			t.Errorf("components lack %q:\n%s", want, comps)
		}
	}

	if got := len(s.Services()); got != 7 {
		t.Fatalf("running services = %d, want 7: %v", got, s.Services())
	}
	for name, u := range s.ServiceURLs() {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s at %s: want a loopback URL", name, u)
		}
		resp, err := http.Get(u + "/health")
		if err != nil {
			t.Errorf("%s /health: %v", name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s /health: %s", name, resp.Status)
		}
	}

	// Some traffic, so every profile type has samples.
	if _, err := s.DriveLoad(ctx, LoadOptions{Rate: 100, Duration: 5 * time.Second, Warmup: time.Second}); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := s.WaitForProfiles(ctx, nil, nil, 60*time.Second); err != nil {
		t.Fatalf("profiles: %v", err)
	}

	checks := Validate(ctx, s.Endpoints(), ValidateOptions{ProfileWait: 30 * time.Second})
	for _, c := range checks {
		t.Log(c)
	}
	if n := Failed(checks); n > 0 {
		t.Errorf("%d validation checks failed", n)
	}
	if s.PrometheusURL() == "" {
		t.Log("prometheus did not run: its checks were skipped")
	}

	if err := s.KillService("fraud"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if u := s.ServiceURL("bank-fraud-service"); u != "" {
		t.Errorf("killed service still listed at %s", u)
	}
	if got := len(s.Services()); got != 6 {
		t.Errorf("running services after kill = %d, want 6", got)
	}

	session := d.session
	closeStart := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	t.Logf("closed in %s", time.Since(closeStart).Round(100*time.Millisecond))
	assertNoLeftovers(t, session)
}

// assertNoLeftovers fails when any container or network of session remains.
func assertNoLeftovers(t *testing.T, session string) {
	t.Helper()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	left, err := dockerLeftovers(ctx, p.Client(), LabelSession+"="+session)
	if err != nil {
		t.Fatal(err)
	}
	if !left.empty() {
		t.Errorf("session %s left %s", session, left)
	}
}
