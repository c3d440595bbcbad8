package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/profdiff/profdiff/internal/composestack"
)

// Images names the third-party container images of the Docker backend.
// Empty fields take the images docker-compose.yml names (its variables at
// their defaults), or the environment's overrides (PyroscopeImageEnv, ...).
type Images struct {
	Pyroscope, Prometheus, Grafana string
}

// Environment variables that override the images docker-compose.yml names
// (Options.Images wins over them). They let CI, or a user behind a mirror,
// pin other images without changing code.
const (
	PyroscopeImageEnv  = "BANKSTACK_PYROSCOPE_IMAGE"
	PrometheusImageEnv = "BANKSTACK_PROMETHEUS_IMAGE"
	GrafanaImageEnv    = "BANKSTACK_GRAFANA_IMAGE"
)

// withDefaults fills empty fields from the environment's overrides, else
// from compose, the images docker-compose.yml names.
func (im Images) withDefaults(compose Images) Images {
	pick := func(set *string, env, def string) {
		if *set != "" {
			return
		}
		if v := strings.TrimSpace(os.Getenv(env)); v != "" {
			*set = v
			return
		}
		*set = def
	}
	pick(&im.Pyroscope, PyroscopeImageEnv, compose.Pyroscope)
	pick(&im.Prometheus, PrometheusImageEnv, compose.Prometheus)
	pick(&im.Grafana, GrafanaImageEnv, compose.Grafana)
	return im
}

// Labels put on every container and network the Docker backend creates.
// There is no reaper (see startDocker), so these labels are how leftovers
// are found: by Close for the stack's own session, by DockerCleanup for any.
const (
	// LabelSession holds the stack's random session id.
	LabelSession = "profdiff.bankstack.session"
	// LabelComponent names the component: a service name, "pyroscope",
	// "prometheus" or "grafana".
	LabelComponent = "profdiff.bankstack.component"
	// labelContext marks images the harness built, with a hash of their
	// build context, so an unchanged image is reused instead of rebuilt.
	labelContext = "profdiff.bankstack.context"
)

// RyukDisabledEnv must be "true" in the environment of a process that starts
// Docker stacks: it turns off the testcontainers reaper, which runs from an
// image that testcontainers pulls, so where no registry can be reached every
// start would fail. The backend removes what it creates itself instead.
// testcontainers-go (v0.45) reads it once per process, from the environment
// or ~/.testcontainers.properties (ryuk.disabled=true), and offers no
// per-call switch, so it belongs where the process starts: a command's main,
// or a TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Setenv(testenv.RyukDisabledEnv, "true")
//		os.Exit(m.Run())
//	}
const RyukDisabledEnv = "TESTCONTAINERS_RYUK_DISABLED"

// requireNoReaper fails at once when the reaper is on, rather than letting
// the first container wait for a reaper image that cannot be pulled.
func requireNoReaper() error {
	if !testcontainers.ReadConfig().RyukDisabled {
		return fmt.Errorf("docker backend: set %s=true in the environment (the testcontainers reaper's image cannot be pulled where no registry is reachable; the backend removes its own containers)", RyukDisabledEnv)
	}
	return nil
}

// The compose names of the non-service components, which are also their
// network aliases, so config/ (Prometheus targets, Grafana data sources)
// works unchanged on the harness's network. Their ports, like everything
// else about their containers, come from docker-compose.yml.
const (
	aliasPyroscope  = "pyroscope"
	aliasPrometheus = "prometheus"
	aliasGrafana    = "grafana"
)

// dockerStack is the Docker backend: every component a container on one
// network of its own, each port published on the host's loopback.
type dockerStack struct {
	opts     *Options
	progress io.Writer
	session  string
	logs     string
	images   Images
	compose  *composestack.Stack // the compose files' description, read by loadCompose

	provider *testcontainers.DockerProvider
	tclog    *os.File    // testcontainers' own log lines, kept with the logs
	logger   *log.Logger // writes to tclog
	hostIP   string      // where published ports are reachable from here
	net      *testcontainers.DockerNetwork

	mu         sync.Mutex
	containers []*dockerComponent // in the order they were created
	comps      []string

	pyroURL, promURL, grafURL string
	urls                      map[string]string
}

// dockerComponent is one container the stack owns.
type dockerComponent struct {
	name   string // component: service name, "pyroscope", ...
	ctr    *testcontainers.DockerContainer
	killed bool
}

// startDocker starts the stack on Docker through testcontainers-go, its
// containers as the compose files describe them (see specs).
//
// It needs TESTCONTAINERS_RYUK_DISABLED=true (RyukDisabledEnv) and fails at
// once without it. Without a reaper, cleanup is explicit: close removes
// every container and the network, also after a start that failed halfway,
// and everything carries LabelSession so strays from a killed process can
// be found and removed (DockerCleanup).
func startDocker(ctx context.Context, opts *Options, progress io.Writer) (_ backend, err error) {
	started := time.Now()
	if err := requireNoReaper(); err != nil {
		return nil, err
	}
	session, err := newSessionID()
	if err != nil {
		return nil, err
	}
	d := &dockerStack{
		opts: opts, progress: progress, session: session,
		logs: filepath.Join(opts.WorkDir, "logs"),
		urls: map[string]string{},
	}
	if err := os.MkdirAll(d.logs, 0o755); err != nil {
		return nil, err
	}
	d.tclog, err = os.Create(filepath.Join(d.logs, "testcontainers.log"))
	if err != nil {
		return nil, err
	}
	d.logger = log.New(d.tclog, "", log.LstdFlags)
	defer func() {
		if err != nil {
			if dir := d.saveLogs(); dir != "" {
				fmt.Fprintf(progress, "docker: start failed; container logs saved in %s\n", dir)
			}
			if cerr := d.close(); cerr != nil {
				err = fmt.Errorf("%w\n(cleanup: %v)", err, cerr)
			}
		}
	}()

	d.provider, err = testcontainers.NewDockerProvider(testcontainers.WithLogger(d.logger))
	if err != nil {
		return nil, fmt.Errorf("docker backend: no Docker engine: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = d.provider.Health(hctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("docker backend: Docker engine not reachable: %w", err)
	}
	if d.hostIP, err = d.publishHost(); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "docker: session %s (label %s=%s)\n", session, LabelSession, session)

	plan, err := d.prepareImages(ctx)
	if err != nil {
		return nil, err
	}

	d.net, err = network.New(ctx, network.WithLabels(d.labels("network")))
	if err != nil {
		return nil, fmt.Errorf("create network: %w", err)
	}

	// Everything starts at once: the services find Pyroscope and each other
	// by network alias, and neither the profiler nor Prometheus minds a peer
	// that comes up a moment later.
	specs, err := d.specs(plan)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "docker: starting %d containers on network %s\n", len(specs), d.net.Name)
	// The first failure stops the others' waits: the start has failed, and
	// a component that would have come up late is no news.
	rctx, failed := context.WithCancel(ctx)
	defer failed()
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = d.run(rctx, sp); errs[i] != nil {
				failed()
			}
		}()
	}
	wg.Wait()
	var real []error
	for _, e := range errs {
		// Waits cut short by another's failure say nothing of their own.
		if e != nil && (ctx.Err() != nil || !errors.Is(e, context.Canceled)) {
			real = append(real, e)
		}
	}
	if len(real) > 0 {
		return nil, errors.Join(real...)
	}
	d.comps = append(d.comps, plan.notes...)
	d.comps = append(d.comps, "services: image "+plan.bank+", built on this machine from services/Dockerfile")
	sort.Strings(d.comps)
	fmt.Fprintf(progress, "docker: stack ready in %s\n", time.Since(started).Round(100*time.Millisecond))
	return d, nil
}

func newSessionID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// labels are the labels of one resource of this stack.
func (d *dockerStack) labels(component string) map[string]string {
	return map[string]string{LabelSession: d.session, LabelComponent: component}
}

// publishHost decides where published ports are bound and reached. With an
// engine on this machine (a unix socket, or TCP on loopback) they are bound
// to 127.0.0.1 only, so the stack (no authentication anywhere) is not
// exposed to the network; with a remote engine they are bound on all its
// interfaces and reached at its host name. It reads the engine's address
// itself: testcontainers' own guess, inside a container, is the container's
// gateway, which is not where a port published on 127.0.0.1 answers.
func (d *dockerStack) publishHost() (string, error) {
	raw := d.provider.Client().DaemonHost()
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("docker host %q: %w", raw, err)
	}
	switch u.Scheme {
	case "unix", "npipe", "":
		return "127.0.0.1", nil
	}
	host := u.Hostname()
	if host == "localhost" || host == "" {
		return "127.0.0.1", nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return "127.0.0.1", nil
	}
	return host, nil
}

// containerSpec is what run needs to start one component.
type containerSpec struct {
	name     string // component name, also the network alias
	image    string
	port     int    // the port it serves on inside the network, published
	ready    string // path (and query) that answers 200 on port once it is ready
	cmd      []string
	env      map[string]string
	files    []testcontainers.ContainerFile
	tmpfs    map[string]string
	memoryMB int // 0: no limit
	timeout  time.Duration
	// url is where to record the component's host URL.
	url func(string)
	// note describes the component once it runs, given its host URL.
	note func(string) string
}

// run creates and starts one container, waits until it is ready and records
// its URL. The container is recorded before anything can fail, so close
// removes it whatever happens.
func (d *dockerStack) run(ctx context.Context, sp containerSpec) error {
	port := strconv.Itoa(sp.port) + "/tcp"
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(d.logger),
		testcontainers.WithName("bankstack-" + d.session + "-" + sp.name),
		testcontainers.WithLabels(d.labels(sp.name)),
		testcontainers.WithExposedPorts(port),
		testcontainers.WithEnv(sp.env),
		network.WithNetwork([]string{sp.name}, d.net),
	}
	if d.hostIP == "127.0.0.1" {
		// docker run -p 127.0.0.1::PORT: a random host port on loopback only.
		p, err := mobynet.ParsePort(port)
		if err != nil {
			return err
		}
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			if hc.PortBindings == nil {
				hc.PortBindings = mobynet.PortMap{}
			}
			hc.PortBindings[p] = []mobynet.PortBinding{{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}}
		}))
	}
	if sp.memoryMB > 0 {
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Memory = int64(sp.memoryMB) << 20
		}))
	}
	if len(sp.cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(sp.cmd...))
	}
	if len(sp.files) > 0 {
		opts = append(opts, testcontainers.WithFiles(sp.files...))
	}
	if len(sp.tmpfs) > 0 {
		opts = append(opts, testcontainers.WithTmpfs(sp.tmpfs))
	}
	ctr, err := testcontainers.Run(ctx, sp.image, opts...)
	if ctr != nil {
		d.mu.Lock()
		d.containers = append(d.containers, &dockerComponent{name: sp.name, ctr: ctr})
		d.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("%s (%s): %w", sp.name, sp.image, err)
	}
	// The probe waits for the published port too, and gives up at once when
	// the container stops, rather than waiting out the deadline for a
	// process that has already crashed.
	ready := wait.ForHTTP(sp.ready).WithPort(port).
		WithPollInterval(100 * time.Millisecond).WithStartupTimeout(sp.timeout)
	if err := ready.WaitUntilReady(ctx, publishedOn{ctr, d.hostIP}); err != nil {
		return notReady(ctx, sp, ctr, err)
	}
	mapped, err := ctr.MappedPort(ctx, port)
	if err != nil {
		return fmt.Errorf("%s: published port of %s: %w", sp.name, port, err)
	}
	base := "http://" + net.JoinHostPort(d.hostIP, strconv.Itoa(int(mapped.Num())))
	d.mu.Lock()
	sp.url(base)
	d.comps = append(d.comps, sp.note(base))
	d.mu.Unlock()
	return nil
}

// publishedOn is a container whose published ports are reached at host.
// The wait strategies ask their target for the host; testcontainers' own
// answer, inside a container, is the container's gateway, which is not
// where a port published on 127.0.0.1 answers (see publishHost).
type publishedOn struct {
	*testcontainers.DockerContainer
	host string
}

func (p publishedOn) Host(context.Context) (string, error) { return p.host, nil }

// notReady is the error of a component that did not become ready: which,
// why, and the end of its log.
func notReady(ctx context.Context, sp containerSpec, ctr *testcontainers.DockerContainer, err error) error {
	if ctx.Err() != nil {
		// Cut short (the caller gave up, or another component failed): no
		// news about this one.
		return fmt.Errorf("%s: %w", sp.name, err)
	}
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tail := containerTail(lctx, ctr, 20)
	if st, serr := ctr.State(lctx); serr == nil && !st.Running {
		return fmt.Errorf("%s exited before it was ready (%s, exit code %d); its last log lines:\n%s", sp.name, st.Status, st.ExitCode, tail)
	}
	return fmt.Errorf("%s was not ready within %s (GET %s on port %d: %w); its last log lines:\n%s", sp.name, sp.timeout, sp.ready, sp.port, err, tail)
}

// containerTail returns the last n lines of a container's log.
func containerTail(ctx context.Context, ctr *testcontainers.DockerContainer, n int) string {
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// externalPyroscope checks that an external Pyroscope URL can be reached
// from inside containers: loopback cannot, since each container has its own.
func externalPyroscope(raw string) (string, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("pyroscope URL %q: want http(s)://host:port", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		return "", fmt.Errorf("pyroscope URL %s: loopback is not reachable from the containers; use an address of this host that containers can reach", raw)
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "", fmt.Errorf("pyroscope URL %s: loopback is not reachable from the containers; use an address of this host that containers can reach", raw)
	}
	return u.String(), nil
}

func (d *dockerStack) pyroscopeURL() string  { return d.pyroURL }
func (d *dockerStack) prometheusURL() string { return d.promURL }
func (d *dockerStack) grafanaURL() string    { return d.grafURL }
func (d *dockerStack) logDir() string        { return d.logs }

func (d *dockerStack) components() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.comps...)
}

// serviceURLs lists the services whose containers still run: a service that
// was killed, or crashed, is left out, as the local backend leaves out an
// exited process.
func (d *dockerStack) allServiceURLs() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for _, c := range d.containers {
		if u, ok := d.urls[c.name]; ok {
			out[c.name] = u
		}
	}
	return out
}

func (d *dockerStack) serviceURLs() map[string]string {
	d.mu.Lock()
	var live []*dockerComponent
	out := map[string]string{}
	for _, c := range d.containers {
		if u, ok := d.urls[c.name]; ok && !c.killed {
			live = append(live, c)
			out[c.name] = u
		}
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range live {
		if st, err := c.ctr.State(ctx); err == nil && !st.Running {
			delete(out, c.name)
		}
	}
	return out
}

// killService sends SIGKILL to a service's container, as a crash (or the
// OOM killer) would: no drain, no final profile upload.
func (d *dockerStack) killService(name string) error {
	d.mu.Lock()
	var c *dockerComponent
	for _, x := range d.containers {
		if x.name == name {
			c = x
		}
	}
	ready := d.urls[name] != ""
	d.mu.Unlock()
	if c == nil || !ready {
		return fmt.Errorf("service %s is not running", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := d.provider.Client().ContainerKill(ctx, c.ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	// Wait until the engine reports it stopped, so a caller that looks
	// right after sees it gone.
	wait.ForExit().WithPollInterval(50*time.Millisecond).WaitUntilReady(ctx, c.ctr)
	d.mu.Lock()
	c.killed = true
	d.mu.Unlock()
	return nil
}

// saveLogs writes every container's log to the log folder and returns the
// folder, or "" when there was nothing to save.
func (d *dockerStack) saveLogs() string {
	d.mu.Lock()
	ctrs := append([]*dockerComponent(nil), d.containers...)
	d.mu.Unlock()
	if len(ctrs) == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range ctrs {
		rc, err := c.ctr.Logs(ctx)
		if err != nil {
			continue
		}
		f, err := os.Create(filepath.Join(d.logs, c.name+".log"))
		if err == nil {
			io.Copy(f, rc)
			f.Close()
		}
		rc.Close()
	}
	return d.logs
}

// close removes every container and the network of this stack. It works
// from a fresh context, as it also runs after the caller's context was
// cancelled (an interrupted start), and it ends with a sweep by session
// label that catches a container created but never handed back.
func (d *dockerStack) close() error {
	if d.opts.KeepLogs {
		d.saveLogs()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	var emu sync.Mutex
	d.mu.Lock()
	ctrs := d.containers
	d.containers = nil
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(5*time.Second)); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("remove %s: %w", c.name, err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	if d.net != nil {
		if err := d.net.Remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", d.net.Name, err))
		}
	}
	if d.provider != nil {
		if err := removeLabelled(ctx, d.provider.Client(), LabelSession+"="+d.session); err != nil {
			errs = append(errs, err)
		}
		d.provider.Close()
	}
	if d.tclog != nil {
		d.tclog.Close()
	}
	return errors.Join(errs...)
}
