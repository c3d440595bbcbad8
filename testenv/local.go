package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/pkg/profstore"
	"github.com/profdiff/profdiff/services/bank"
)

// bankPackage is built into the services' binary; it is an import path so
// the harness also works from another module that depends on profdiff.
const bankPackage = "github.com/profdiff/profdiff/services/cmd/bank"

// BankBinaryEnv names a prebuilt bank binary to use instead of building one.
const BankBinaryEnv = "PROFDIFF_BANK_BIN"

type localStack struct {
	opts     *Options
	progress io.Writer
	logs     string

	store   *profstore.Server
	pyroURL string

	mu       sync.Mutex
	services map[string]*process
	urls     map[string]string

	prom    *process
	promURL string
	comps   []string
}

func startLocal(ctx context.Context, opts *Options, progress io.Writer) (_ backend, err error) {
	l := &localStack{opts: opts, progress: progress, logs: filepath.Join(opts.WorkDir, "logs"),
		services: map[string]*process{}, urls: map[string]string{}}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	bin, err := bankBinary(ctx, opts, progress)
	if err != nil {
		return nil, err
	}

	if opts.PyroscopeURL != "" {
		l.pyroURL = strings.TrimRight(opts.PyroscopeURL, "/")
		l.comps = append(l.comps, "pyroscope: external at "+l.pyroURL)
	} else {
		// Real Pyroscope's ingestion limits, stated: the stack keeps well
		// within them, so a harness run that passes here passes against a
		// real Pyroscope with its defaults too. Measured (2026-12-02, seven
		// services every 5 s under load, on the 2-core test machine): the
		// largest upload 30 KiB decompressed, at most 0.25 MiB in any
		// second, the bucket never below 1.87 of its 2 MiB; at 10 times
		// the CPU rate, 16 times the allocation rate and twice the load,
		// 81 KiB, 0.49 MiB and 1.74 MiB.
		l.store, err = profstore.Run(context.WithoutCancel(ctx),
			profstore.WithRetention(2*time.Hour), profstore.WithMaxBytes(1<<30),
			profstore.WithIngestionLimit(profstore.DefaultIngestionRateMB, profstore.DefaultIngestionBurstSizeMB),
		)
		if err != nil {
			return nil, fmt.Errorf("start embedded Pyroscope: %w", err)
		}
		l.pyroURL = l.store.URL()
		l.comps = append(l.comps, "pyroscope: embedded Pyroscope-compatible server (in-process) at "+l.pyroURL)
	}

	// A port picked free can be taken by another program (an outgoing
	// connection's local port, another stack starting) before the service
	// binds it; the service then exits with "address already in use". The
	// services are started afresh on new ports, a few times.
	for attempt := 1; ; attempt++ {
		err := l.startServices(ctx, bin)
		if err == nil {
			break
		}
		clash := l.portClash()
		l.stopServices()
		if clash == "" || attempt == startAttempts {
			return nil, err
		}
		fmt.Fprintf(progress, "%s: its port was taken before it could bind it; starting the services again on new ports\n", clash)
	}
	l.comps = append(l.comps, fmt.Sprintf("services: %d child processes of %s on loopback", len(opts.Services), bin))

	if err := l.startPrometheus(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// startAttempts bounds the service start-ups a port clash may cost.
const startAttempts = 3

// startServices picks the services' ports, starts them and waits until each
// answers /health.
func (l *localStack) startServices(ctx context.Context, bin string) error {
	// Ports first, so the gateway can be told where the others are.
	// A port is free when picked, and the kernel may hand the same one out
	// again at the next pick: two services given one port would both pass
	// their health check on the one that bound it, and the other's callers
	// would reach the wrong service. So no port is given twice.
	ports := map[string]int{}
	given := map[int]bool{}
	for _, name := range l.opts.Services {
		p, err := pickPort()
		for tries := 1; err == nil && given[p]; tries++ {
			if tries == 20 {
				return fmt.Errorf("%s: no free port that another service was not given (20 tries)", name)
			}
			p, err = pickPort()
		}
		if err != nil {
			return err
		}
		given[p] = true
		ports[name] = p
		l.urls[name] = "http://" + loopbackAddr(p)
	}
	fmt.Fprintf(l.progress, "starting %d services (%s)\n", len(l.opts.Services), bin)
	for _, name := range l.opts.Services {
		p, err := startProcess(name, l.logs, l.serviceEnv(name, ports), bin, "--service", name, "--addr", loopbackAddr(ports[name]))
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.services[name] = p
		l.mu.Unlock()
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, name := range l.opts.Services {
		if err := waitHTTP(wctx, l.urls[name]+"/health", l.services[name]); err != nil {
			return err
		}
	}
	// Another program answering on a service's port passes its health
	// check too; a service that exited meanwhile is a failed start.
	for _, name := range l.opts.Services {
		if done, err := l.services[name].Exited(); done {
			return fmt.Errorf("%s exited after the services started: %v", name, err)
		}
	}
	return nil
}

// portClash names a service that exited because its port was taken, or "".
func (l *localStack) portClash() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range l.opts.Services {
		p := l.services[name]
		if p == nil {
			continue
		}
		if done, _ := p.Exited(); done && strings.Contains(p.tail(4096), "address already in use") {
			return name
		}
	}
	return ""
}

// stopServices kills the services started so far.
func (l *localStack) stopServices() {
	l.mu.Lock()
	procs := l.services
	l.services = map[string]*process{}
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
}

// bankBinary returns a bank binary: opts.BankBinary, else
// $PROFDIFF_BANK_BIN when set, else one built into the work directory.
func bankBinary(ctx context.Context, opts *Options, progress io.Writer) (string, error) {
	if opts.BankBinary != "" {
		if _, err := os.Stat(opts.BankBinary); err != nil {
			return "", fmt.Errorf("bank binary: %w", err)
		}
		return opts.BankBinary, nil
	}
	dir := opts.WorkDir
	if p := os.Getenv(BankBinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BankBinaryEnv, p, err)
		}
		return p, nil
	}
	fmt.Fprintf(progress, "building %s\n", bankPackage)
	return goBuild(ctx, filepath.Join(dir, "bin"), bankPackage, "bank")
}

func (l *localStack) serviceEnv(name string, ports map[string]int) []string {
	env := []string{
		"PYROSCOPE_SERVER_ADDRESS=" + l.pyroURL,
		"PYROSCOPE_APPLICATION_NAME=" + name,
		"PYROSCOPE_LABELS=version=" + l.opts.Version + ",env=" + l.opts.Env,
		"PYROSCOPE_UPLOAD_INTERVAL=" + l.opts.UploadInterval.String(),
		"BANK_INJECT=" + l.opts.Inject,
	}
	if l.opts.CPURate > 0 {
		env = append(env, "PYROSCOPE_CPU_RATE="+strconv.Itoa(l.opts.CPURate))
	}
	if l.opts.AllocRate > 0 {
		env = append(env, "PYROSCOPE_PROFILER_ALLOC="+strconv.Itoa(l.opts.AllocRate))
	}
	url := func(s string) string {
		if p, ok := ports[s]; ok {
			return "http://" + loopbackAddr(p)
		}
		return "http://127.0.0.1:1" // not started: calls fail fast and are reported
	}
	env = append(env,
		"BANK_ORDER_URL="+url(bank.ServiceOrder),
		"BANK_PAYMENT_URL="+url(bank.ServicePayment),
		"BANK_FRAUD_URL="+url(bank.ServiceFraud),
		"BANK_ACCOUNT_URL="+url(bank.ServiceAccount),
		"BANK_LOAN_URL="+url(bank.ServiceLoan),
		"BANK_NOTIFICATION_URL="+url(bank.ServiceNotification),
	)
	return env
}

// startPrometheus runs Prometheus from PATH against the services, with the
// project's own scrape config and alert rules rewritten for loopback.
func (l *localStack) startPrometheus(ctx context.Context) error {
	if l.opts.Prometheus == "off" {
		l.comps = append(l.comps, "prometheus: off")
		return nil
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if l.opts.Prometheus == "on" {
			return errors.New("prometheus is not on PATH (Debian: apt-get install prometheus)")
		}
		l.comps = append(l.comps, "prometheus: skipped (not on PATH; Debian: apt-get install prometheus)")
		return nil
	}
	dir := filepath.Join(l.opts.WorkDir, "prometheus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	addrs := map[string]string{}
	for name, u := range l.urls {
		addrs[name] = strings.TrimPrefix(u, "http://")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	addrs["prometheus"] = loopbackAddr(port)
	cfg, err := config.LocalPrometheusConfig(addrs, config.LocalOptions{ScrapeInterval: 5 * time.Second, EvaluationInterval: 5 * time.Second})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		return err
	}
	rules, err := config.AlertRulesWithFor(time.Hour) // the rules as shipped
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		return err
	}
	l.prom, err = startProcess("prometheus", l.logs, nil, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+loopbackAddr(port),
		"--web.enable-lifecycle")
	if err != nil {
		return err
	}
	l.promURL = "http://" + loopbackAddr(port)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitHTTP(wctx, l.promURL+"/-/ready", l.prom); err != nil {
		return err
	}
	l.comps = append(l.comps, "prometheus: "+bin+" at "+l.promURL)
	return nil
}

func (l *localStack) pyroscopeURL() string  { return l.pyroURL }
func (l *localStack) prometheusURL() string { return l.promURL }
func (l *localStack) grafanaURL() string    { return "" }
func (l *localStack) logDir() string        { return l.logs }
func (l *localStack) components() []string {
	return append(l.comps, "grafana: not run by the local backend (provisioning is checked statically)")
}

func (l *localStack) serviceURLs() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for name, p := range l.services {
		if done, _ := p.Exited(); !done {
			out[name] = l.urls[name]
		}
	}
	return out
}

func (l *localStack) allServiceURLs() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for name, u := range l.urls {
		out[name] = u
	}
	return out
}

func (l *localStack) killService(name string) error {
	l.mu.Lock()
	p := l.services[name]
	l.mu.Unlock()
	if p == nil {
		return fmt.Errorf("service %s is not running", name)
	}
	p.Kill()
	return nil
}

func (l *localStack) close() error {
	var errs []error
	var wg sync.WaitGroup
	l.mu.Lock()
	procs := make([]*process, 0, len(l.services)+1)
	for _, p := range l.services {
		procs = append(procs, p)
	}
	l.mu.Unlock()
	if l.prom != nil {
		procs = append(procs, l.prom)
	}
	var emu sync.Mutex
	for _, p := range procs {
		wg.Add(1)
		go func(p *process) {
			defer wg.Done()
			if err := p.Stop(20 * time.Second); err != nil && !isSignalExit(err) {
				emu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
				emu.Unlock()
			}
		}(p)
	}
	wg.Wait()
	if l.store != nil {
		if err := l.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isSignalExit reports whether a process ended because it was killed, which
// is expected for a service the test killed on purpose.
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited()
}
