package testenv

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/profdiff/profdiff/internal/strict"
)

// requireDocker skips the test when no Docker engine answers, or fails it
// under PROFDIFF_STRICT=1.
func requireDocker(t *testing.T) {
	t.Helper()
	skip := func(reason string) {
		t.Helper()
		strict.SkipOrFail(t, "%s", reason)
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
	if strict.On() {
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

// TestDockerStartFailureCleansUp makes one component fail after others have
// started (a "Pyroscope" image that exits at once) and checks that Start
// says which, saves every container's log, and leaves nothing behind.
func TestDockerStartFailureCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers; skipped in -short mode")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	work := t.TempDir()
	var progress strings.Builder
	// The bank image is built before Pyroscope starts; run as Pyroscope it
	// rejects Pyroscope's flags and exits.
	_, err := Start(ctx, Options{
		Backend: Docker, Services: []string{"fraud"}, WorkDir: work,
		Prometheus: "off", Grafana: "off",
		Images:   Images{Pyroscope: bankImage},
		Progress: &progress,
	})
	t.Log(progress.String())
	if err == nil {
		t.Fatal("start succeeded with a Pyroscope that exits")
	}
	t.Logf("start failed as it should: %v", err)
	// Depending on how fast the container dies, the start fails while
	// waiting for it or while reading its published port; either way the
	// error must name the component that failed.
	if msg := err.Error(); !strings.Contains(msg, "pyroscope exited before it was ready") && !strings.HasPrefix(msg, "pyroscope: ") {
		t.Errorf("error does not name pyroscope as what failed: %v", err)
	}
	// Pyroscope's log says why; the service's container may not have been
	// created yet when the failure cut the start short.
	if b, err := os.ReadFile(filepath.Join(work, "logs", "pyroscope.log")); err != nil {
		t.Errorf("log not saved: %v", err)
	} else if !strings.Contains(string(b), "-config.file") {
		t.Errorf("pyroscope.log does not hold the container's output:\n%s", b)
	}
	_, session, ok := strings.Cut(progress.String(), LabelSession+"=")
	if !ok {
		t.Fatalf("progress does not name the session:\n%s", progress.String())
	}
	session, _, _ = strings.Cut(session, ")")
	assertNoLeftovers(t, session)
}

// TestDockerCleanup checks that DockerCleanup finds and removes what a
// stack killed before Close would leave: a labelled network and container.
func TestDockerCleanup(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	session, err := newSessionID()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{LabelSession: session, LabelComponent: "stray"}
	nw, err := network.New(ctx, network.WithLabels(labels))
	if err != nil {
		t.Fatal(err)
	}
	// Any image present will do for a created, never started container;
	// the test stack's images are built by the other tests, so make sure of
	// one without depending on their order.
	images, err := p.Client().ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var image string
	for _, im := range images.Items {
		if len(im.RepoTags) > 0 && image == "" {
			image = im.RepoTags[0]
		}
	}
	if image == "" {
		nw.Remove(ctx)
		t.Skip("no tagged image on the engine to create a container from (TestDockerStack builds some)")
	}
	_, err = p.Client().ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:             "bankstack-" + session + "-stray",
		Config:           &container.Config{Image: image, Labels: labels},
		NetworkingConfig: &mobynet.NetworkingConfig{EndpointsConfig: map[string]*mobynet.EndpointSettings{nw.Name: {}}},
	})
	if err != nil {
		nw.Remove(ctx)
		t.Fatal(err)
	}
	nc, nn, err := DockerCleanup(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	if nc != 1 || nn != 1 {
		t.Errorf("DockerCleanup removed %d containers and %d networks, want 1 and 1", nc, nn)
	}
	assertNoLeftovers(t, session)
}

// TestDockerInterruptedStartCleansUp cancels Start's context while the
// containers are being created and started, as Ctrl-C or a test timeout
// would, and checks that nothing is left behind.
func TestDockerInterruptedStartCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers; skipped in -short mode")
	}
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress strings.Builder
	w := writerFunc(func(p []byte) (int, error) {
		progress.Write(p)
		if strings.Contains(string(p), "starting") {
			// Some containers are created by then, some are being created,
			// none is ready yet.
			time.AfterFunc(700*time.Millisecond, cancel)
		}
		return len(p), nil
	})
	s, err := Start(ctx, Options{Backend: Docker, Prometheus: "off", Grafana: "off", WorkDir: t.TempDir(), Progress: w})
	if err == nil {
		s.Close()
		t.Fatal("start succeeded after its context was cancelled")
	}
	t.Logf("start failed as it should: %v", firstLine(err.Error()))
	_, session, ok := strings.Cut(progress.String(), LabelSession+"=")
	if !ok {
		t.Fatalf("progress does not name the session:\n%s", progress.String())
	}
	session, _, _ = strings.Cut(session, ")")
	assertNoLeftovers(t, session)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDockerNeedsRyukDisabled checks that without TESTCONTAINERS_RYUK_DISABLED
// a Docker start fails at once, saying what to set, instead of waiting for a
// reaper image that cannot be pulled. testcontainers reads the variable once
// per process, so the check runs in a child process of this test binary.
func TestDockerNeedsRyukDisabled(t *testing.T) {
	if os.Getenv("PROFDIFF_TEST_REAPER_CHILD") == "1" {
		start := time.Now()
		_, err := Start(context.Background(), Options{Backend: Docker, WorkDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), RyukDisabledEnv+"=true") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err %v, want a one-line error naming %s=true", err, RyukDisabledEnv)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("failed after %s, want at once", d)
		}
		t.Logf("without the variable: %v", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDockerNeedsRyukDisabled$", "-test.v")
	cmd.Env = append(os.Environ(), "PROFDIFF_TEST_REAPER_CHILD=1", RyukDisabledEnv+"=false")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "without the variable") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
