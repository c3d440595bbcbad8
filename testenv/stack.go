// Package testenv starts the bank stack that profdiff guards — seven
// continuously profiled services, a Pyroscope, and Prometheus where one can
// be had — drives load against it, collects a profile snapshot and gates it:
// against a recorded baseline, or against another build measured beside it
// (Duet). It is the same code behind `go test ./testenv/...`, the
// bankstack command and the CI gate, so what a test proves is what CI runs.
//
// A Stack is owned by whoever started it and must be closed; Close stops
// every process and container the stack started and frees their ports, also
// after a failed test (use StartT, which registers Close with t.Cleanup).
package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

// Backend says where the stack runs.
type Backend string

// The backends.
const (
	// Local runs the services as child processes on free loopback ports,
	// the embedded Pyroscope-compatible server in-process, and Prometheus
	// from PATH when it is installed. It needs nothing but Go.
	Local Backend = "local"
	// Docker runs every component as a container on one network through
	// testcontainers-go, each as docker-compose.yml describes it. The
	// process needs TESTCONTAINERS_RYUK_DISABLED=true in its environment
	// (see RyukDisabledEnv).
	Docker Backend = "docker"
)

// Options configure a stack. The zero value starts all seven services on
// the local backend.
type Options struct {
	Backend Backend
	// Services to start; default all seven. The gateway needs the others.
	Services []string
	// Inject is BANK_INJECT for every service, e.g. "fraud.rules=1.5".
	Inject string
	// BankBinary is a prebuilt services binary (services/cmd/bank) to run
	// instead of building one; it wins over $PROFDIFF_BANK_BIN. A duet sets
	// it to run the base and the candidate builds side by side.
	BankBinary string
	// Version and Env become the services' version and env profile labels
	// (defaults "dev" and "bankstack").
	Version, Env string
	// UploadInterval is the profile upload interval and so the window length
	// (default DefaultUploadInterval).
	UploadInterval time.Duration
	// CPURate is the CPU sampling rate in Hz (default DefaultCPURate).
	CPURate int
	// AllocRate is the allocation sampling rate in bytes, Go's
	// runtime.MemProfileRate (default DefaultAllocRate; in a duet,
	// DefaultDuetAllocRate).
	AllocRate int
	// Prometheus: "auto" (default: run it when the binary or image is
	// available), "on" (fail when it cannot run) or "off".
	Prometheus string
	// Grafana, for the Docker backend: "auto" (default), "on" or "off".
	Grafana string
	// PyroscopeURL points the services at an existing Pyroscope instead of
	// starting one.
	PyroscopeURL string
	// WorkDir holds binaries, generated config and logs; default a new
	// temporary directory removed on Close (logs are kept when KeepLogs).
	WorkDir string
	// KeepLogs keeps WorkDir after Close, e.g. to read logs after a failure.
	KeepLogs bool
	// Images overrides container images for the Docker backend.
	Images Images
	// Progress receives one line per step; nil discards.
	Progress io.Writer

	// bankImageTag is the docker backend's tag for the services image
	// (default bankImage); a duet gives each build its own, so two builds'
	// stacks can run at once.
	bankImageTag string
}

// Sampling defaults of the harness. Allocations are sampled every 64 KiB
// instead of Go's 512 KiB: seven services on two cores allocate little per
// window, and eight times the samples make allocation shares usable. CPU
// stays at 100 Hz: on this project's machines higher rates lose most of
// their samples (measured: 1000 Hz delivered fewer samples per CPU-second
// than 100 Hz; see docs/verdict-quality.md), so more CPU samples have to
// come from more load, not a faster clock. Windows are 5 s: more windows a
// side give the per-window test more degrees of freedom for the same load.
const (
	DefaultCPURate        = 100
	DefaultAllocRate      = 64 << 10
	DefaultUploadInterval = 5 * time.Second
)

// Stack is a running bank stack.
type Stack struct {
	opts     Options
	impl     backend
	progress io.Writer

	// ownWorkDir is set when Start made the work directory, and so may
	// remove it.
	ownWorkDir bool

	mu     sync.Mutex
	closed bool
}

// backend is what a backend implementation provides to Stack.
type backend interface {
	pyroscopeURL() string
	prometheusURL() string
	grafanaURL() string
	serviceURLs() map[string]string
	// allServiceURLs includes services that have stopped.
	allServiceURLs() map[string]string
	// components describes what runs where, one line each, e.g.
	// "pyroscope: embedded profstore (in-process) at http://...".
	components() []string
	// killService stops one service at once, as a crash would.
	killService(name string) error
	logDir() string
	close() error
}

// Start starts a stack and waits until every component is ready.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	own := opts.WorkDir == ""
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	s := &Stack{opts: opts, progress: opts.Progress, ownWorkDir: own}
	if s.progress == nil {
		s.progress = io.Discard
	}
	var err error
	switch opts.Backend {
	case Local:
		s.impl, err = startLocal(ctx, &s.opts, s.progress)
	case Docker:
		s.impl, err = startDocker(ctx, &s.opts, s.progress)
	default:
		return nil, fmt.Errorf("unknown backend %q (want local or docker)", opts.Backend)
	}
	if err != nil {
		// The work directory is kept: its logs say why.
		return nil, fmt.Errorf("%w (logs in %s)", err, filepath.Join(opts.WorkDir, "logs"))
	}
	for _, c := range s.impl.components() {
		fmt.Fprintf(s.progress, "  %s\n", c)
	}
	return s, nil
}

// StartT starts a stack for a test and closes it when the test ends. When
// the test fails the log directory is kept and its path logged.
func StartT(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Progress == nil {
		opts.Progress = testWriter{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			s.opts.KeepLogs = true
			t.Logf("stack logs kept in %s", s.impl.logDir())
		}
		if err := s.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
	})
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WithDefaults returns the options with every default filled in as Start
// fills them, without creating the work directory Start would: what a
// stack of these options will run with (its backend, sampling rates and
// window), for a caller that describes the runs before starting any.
func (o Options) WithDefaults() (Options, error) {
	cp := o
	cp.WorkDir = os.TempDir()
	if err := cp.setDefaults(); err != nil {
		return o, err
	}
	cp.WorkDir = o.WorkDir
	return cp, nil
}

func (o *Options) setDefaults() error {
	if o.Backend == "" {
		o.Backend = Local
	}
	if len(o.Services) == 0 {
		for _, s := range bank.Services {
			o.Services = append(o.Services, s.Name)
		}
	}
	for i, name := range o.Services {
		info, err := bank.LookupService(name)
		if err != nil {
			return err
		}
		o.Services[i] = info.Name
	}
	if _, err := bank.ParseInject(o.Inject); err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Env == "" {
		o.Env = "bankstack"
	}
	if o.CPURate == 0 {
		o.CPURate = DefaultCPURate
	}
	if o.AllocRate == 0 {
		o.AllocRate = DefaultAllocRate
	}
	if o.UploadInterval == 0 {
		o.UploadInterval = DefaultUploadInterval
	}
	for _, f := range []*string{&o.Prometheus, &o.Grafana} {
		switch *f {
		case "":
			*f = "auto"
		case "auto", "on", "off":
		default:
			return fmt.Errorf("component mode %q: want auto, on or off", *f)
		}
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "bankstack-")
		if err != nil {
			return err
		}
		o.WorkDir = dir
	} else if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return err
	}
	return nil
}

// PyroscopeURL is the base URL of the stack's Pyroscope.
func (s *Stack) PyroscopeURL() string { return s.impl.pyroscopeURL() }

// PrometheusURL is the base URL of the stack's Prometheus, or "" when it
// does not run.
func (s *Stack) PrometheusURL() string { return s.impl.prometheusURL() }

// GrafanaURL is the base URL of Grafana, or "" when it does not run.
func (s *Stack) GrafanaURL() string { return s.impl.grafanaURL() }

// ServiceURL is the base URL of a service (full or short name), or "".
func (s *Stack) ServiceURL(name string) string {
	info, err := bank.LookupService(name)
	if err != nil {
		return ""
	}
	return s.impl.serviceURLs()[info.Name]
}

// ServiceURLs maps each running service to its base URL.
func (s *Stack) ServiceURLs() map[string]string {
	out := map[string]string{}
	for k, v := range s.impl.serviceURLs() {
		out[k] = v
	}
	return out
}

// Services lists the running services, sorted.
func (s *Stack) Services() []string {
	var out []string
	for k := range s.impl.serviceURLs() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Components describes which component runs where and from which image or
// binary, one line each.
func (s *Stack) Components() []string { return s.impl.components() }

// Options returns the options the stack runs with, defaults filled in.
func (s *Stack) Options() Options { return s.opts }

// LogDir is where component logs are written.
func (s *Stack) LogDir() string { return s.impl.logDir() }

// KillService stops a service at once, as a crash would; the gate must then
// call its data inconclusive, never a pass.
func (s *Stack) KillService(name string) error {
	info, err := bank.LookupService(name)
	if err != nil {
		return err
	}
	return s.impl.killService(info.Name)
}

// Close stops everything the stack started. It is safe to call twice.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.impl.close()
	if s.ownWorkDir && !s.opts.KeepLogs {
		os.RemoveAll(s.opts.WorkDir)
	}
	return err
}
