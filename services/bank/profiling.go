package bank

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafana/pyroscope-go"
	"github.com/grafana/pyroscope-go/upstream/remote"

	"github.com/profdiff/profdiff/services/cpuprofile"
	"github.com/profdiff/profdiff/services/heapprofile"
)

// ProfilingConfig is the continuous-profiling setup of one process. It mirrors
// the Pyroscope Java agent's flags (pyroscope.application.name,
// pyroscope.profiler.event, ...) as PYROSCOPE_* environment variables, so a
// deployment of the Go services reads like one of the original stack.
type ProfilingConfig struct {
	// ApplicationName becomes the service_name label (default: the service).
	ApplicationName string
	// ServerAddress is the Pyroscope URL; empty turns profiling off.
	ServerAddress string
	// Events are the profile kinds: cpu, alloc, lock, block, goroutine.
	Events []string
	// AllocRate sets runtime.MemProfileRate in bytes (0 leaves Go's default,
	// 512 KiB — the same as the runbook's "512k").
	AllocRate int
	// Labels are static labels; version and env are always present.
	Labels map[string]string
	// UploadInterval is the window of each profile (default 10s).
	UploadInterval time.Duration
	// CPURate is the CPU sampling rate in Hz (default 100). More samples per
	// window make smaller regressions detectable; see StartProfiling for how
	// a rate other than 100 Hz is collected.
	CPURate int
	// MutexFraction is passed to runtime.SetMutexProfileFraction when lock
	// profiling is on (default 1: every contention event is recorded; it costs
	// one stack capture per contended unlock, and lock samples are scarce).
	MutexFraction int
	// BlockRate is passed to runtime.SetBlockProfileRate when block profiling
	// is on, in nanoseconds (default 100µs).
	BlockRate int
	// BasicAuthUser, BasicAuthPassword and TenantID authenticate against a
	// multi-tenant Pyroscope. The password is never logged.
	BasicAuthUser, BasicAuthPassword, TenantID string
}

// AllEvents are the profile kinds the services collect by default.
var AllEvents = []string{"cpu", "alloc", "lock", "block", "goroutine"}

// eventTypes maps an event to the pyroscope-go profile types it enables.
var eventTypes = map[string][]pyroscope.ProfileType{
	"cpu":       {pyroscope.ProfileCPU},
	"alloc":     {pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace, pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace},
	"lock":      {pyroscope.ProfileMutexCount, pyroscope.ProfileMutexDuration},
	"block":     {pyroscope.ProfileBlockCount, pyroscope.ProfileBlockDuration},
	"goroutine": {pyroscope.ProfileGoroutines},
}

var eventAliases = map[string]string{"itimer": "cpu", "mutex": "lock", "goroutines": "goroutine", "memory": "alloc", "heap": "alloc"}

// ProfilingFromEnv reads the PYROSCOPE_* variables through getenv (os.Getenv
// in production, a map in tests):
//
//	PYROSCOPE_APPLICATION_NAME        service_name (default: the service name)
//	PYROSCOPE_SERVER_ADDRESS          e.g. http://pyroscope:4040; unset = profiling off
//	PYROSCOPE_PROFILER_EVENT          cpu,alloc,lock,block,goroutine (default all)
//	PYROSCOPE_PROFILER_ALLOC          allocation sampling: 512k, 1m, 4096
//	PYROSCOPE_LABELS                  k=v,... (version=dev and env=local unless given)
//	PYROSCOPE_UPLOAD_INTERVAL         10s
//	PYROSCOPE_CPU_RATE                CPU sampling rate in Hz (default 100)
//	PYROSCOPE_MUTEX_PROFILE_FRACTION  runtime.SetMutexProfileFraction (default 1)
//	PYROSCOPE_BLOCK_PROFILE_RATE      runtime.SetBlockProfileRate, ns (default 100000)
//	PYROSCOPE_BASIC_AUTH_USER, PYROSCOPE_BASIC_AUTH_PASSWORD, PYROSCOPE_TENANT_ID
func ProfilingFromEnv(service string, getenv func(string) string) (ProfilingConfig, error) {
	c := ProfilingConfig{
		ApplicationName:   strings.TrimSpace(getenv("PYROSCOPE_APPLICATION_NAME")),
		ServerAddress:     strings.TrimSpace(getenv("PYROSCOPE_SERVER_ADDRESS")),
		BasicAuthUser:     getenv("PYROSCOPE_BASIC_AUTH_USER"),
		BasicAuthPassword: getenv("PYROSCOPE_BASIC_AUTH_PASSWORD"),
		TenantID:          strings.TrimSpace(getenv("PYROSCOPE_TENANT_ID")),
	}
	if c.ApplicationName == "" {
		c.ApplicationName = service
	}
	var err error
	if c.Events, err = ParseEvents(getenv("PYROSCOPE_PROFILER_EVENT")); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(getenv("PYROSCOPE_PROFILER_ALLOC")); v != "" {
		if c.AllocRate, err = ParseSize(v); err != nil || c.AllocRate <= 0 {
			return c, fmt.Errorf("PYROSCOPE_PROFILER_ALLOC=%q: want a positive size such as 512k", v)
		}
	}
	if c.Labels, err = ParseLabels(getenv("PYROSCOPE_LABELS")); err != nil {
		return c, fmt.Errorf("PYROSCOPE_LABELS: %w", err)
	}
	if v := strings.TrimSpace(getenv("PYROSCOPE_UPLOAD_INTERVAL")); v != "" {
		if c.UploadInterval, err = time.ParseDuration(v); err != nil || c.UploadInterval < 100*time.Millisecond {
			return c, fmt.Errorf("PYROSCOPE_UPLOAD_INTERVAL=%q: want a duration of at least 100ms, such as 10s", v)
		}
	}
	for _, iv := range []struct {
		env      string
		dst      *int
		min, max int
	}{
		{"PYROSCOPE_CPU_RATE", &c.CPURate, 1, 1000},
		{"PYROSCOPE_MUTEX_PROFILE_FRACTION", &c.MutexFraction, 1, 1 << 20},
		{"PYROSCOPE_BLOCK_PROFILE_RATE", &c.BlockRate, 1, 1 << 40},
	} {
		v := strings.TrimSpace(getenv(iv.env))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < iv.min || n > iv.max {
			return c, fmt.Errorf("%s=%q: want an integer in [%d, %d]", iv.env, v, iv.min, iv.max)
		}
		*iv.dst = n
	}
	if c.ServerAddress != "" {
		u, err := url.Parse(c.ServerAddress)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("PYROSCOPE_SERVER_ADDRESS=%q: want an http(s) URL", c.ServerAddress)
		}
	}
	return c, nil
}

// ParseEvents parses a PYROSCOPE_PROFILER_EVENT list. Empty means AllEvents.
func ParseEvents(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return append([]string(nil), AllEvents...), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if a, ok := eventAliases[e]; ok {
			e = a
		}
		if _, ok := eventTypes[e]; !ok {
			return nil, fmt.Errorf("PYROSCOPE_PROFILER_EVENT: unknown event %q (want %s)", e, strings.Join(AllEvents, ","))
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// ParseSize parses a byte size with an optional k/m/g suffix (powers of 1024),
// the form the Java agent takes for its allocation threshold ("512k").
func ParseSize(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.ToLower(s), "b")))
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > (1<<31)/mult {
		return 0, fmt.Errorf("size %q: want a number with optional k, m or g", s)
	}
	return n * mult, nil
}

var (
	labelKey     = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.]*$`)
	labelBadChar = regexp.MustCompile(`[{}=,"\s]`)
)

// ParseLabels parses "k=v,..." static labels and adds version=dev and
// env=local when absent, so every profile can be told apart by build and
// environment (the gate compares like with like).
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !labelKey.MatchString(k) || v == "" || labelBadChar.MatchString(v) {
			return nil, fmt.Errorf("label %q: want key=value (key [a-zA-Z_][a-zA-Z0-9_.]*, value without {}=, or spaces)", item)
		}
		if k == "service_name" || k == "__name__" {
			return nil, fmt.Errorf("label %q: %s is set by PYROSCOPE_APPLICATION_NAME", item, k)
		}
		out[k] = v
	}
	if out["version"] == "" {
		out["version"] = "dev"
	}
	if out["env"] == "" {
		out["env"] = "local"
	}
	return out, nil
}

// Profiler is a running profiling session; the zero value (profiling off) is
// valid and Stop does nothing.
type Profiler struct {
	sdk  *pyroscope.Profiler
	cpu  *cpuprofile.Collector
	heap *heapprofile.Collector
	up   *remote.Remote
	// restore puts back the runtime sampling rates changed at start.
	restore []func()
}

// Stop uploads what is buffered and stops profiling. It is safe on nil.
func (p *Profiler) Stop() {
	if p == nil {
		return
	}
	if p.cpu != nil {
		p.cpu.Stop()
	}
	if p.heap != nil {
		p.heap.Stop()
	}
	if p.up != nil {
		p.up.Flush()
		p.up.Stop()
	}
	if p.sdk != nil {
		_ = p.sdk.Stop()
	}
	for _, f := range p.restore {
		f()
	}
	p.restore = nil
}

// StartProfiling starts continuous profiling with pyroscope-go, process-wide.
// With no ServerAddress it logs "profiling off" and returns a no-op Profiler.
// Uploads run in the background with a bounded queue: a Pyroscope that is
// down or slow costs failed uploads (logged, rate-limited), never requests.
//
// CPU profiles are not collected by the SDK but by package cpuprofile, at
// CPURate, in windows on the upload interval's grid like the SDK's other
// profile types, and uploaded through an uploader of the SDK's own
// (remote.Remote) under the same ingest name; that package says why. At any
// rate but 100 Hz the Go runtime prints "cannot set cpu profile rate" to
// stderr once per window; that line is expected. Allocation profiles are
// collected by package heapprofile, which runs a garbage collection at each
// window boundary so that a window holds the allocations made in it, and
// uploaded the same way.
func StartProfiling(cfg ProfilingConfig, log *slog.Logger) (*Profiler, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.ServerAddress == "" {
		log.Info("profiling off: PYROSCOPE_SERVER_ADDRESS is not set", "app", cfg.ApplicationName)
		return &Profiler{}, nil
	}
	if cfg.ApplicationName == "" {
		return nil, fmt.Errorf("profiling: application name is required")
	}
	if cfg.UploadInterval <= 0 {
		cfg.UploadInterval = 10 * time.Second
	}
	if cfg.Labels == nil {
		cfg.Labels, _ = ParseLabels("")
	}
	if len(cfg.Events) == 0 {
		cfg.Events = append([]string(nil), AllEvents...)
	}
	if cfg.MutexFraction <= 0 {
		cfg.MutexFraction = 1
	}
	if cfg.BlockRate <= 0 {
		cfg.BlockRate = 100_000
	}
	customCPU, customHeap := false, false
	p := &Profiler{}
	var types []pyroscope.ProfileType
	for _, e := range cfg.Events {
		ts, ok := eventTypes[e]
		if !ok {
			return nil, fmt.Errorf("profiling: unknown event %q", e)
		}
		switch e {
		case "cpu":
			// CPU profiles are collected by package cpuprofile, not
			// by the SDK: see there for why.
			customCPU = true
			continue
		case "alloc":
			if cfg.AllocRate > 0 {
				runtime.MemProfileRate = cfg.AllocRate
			}
			// Collected by package heapprofile, not by the SDK: see there
			// for why.
			customHeap = true
			continue
		case "lock":
			old := runtime.SetMutexProfileFraction(cfg.MutexFraction)
			p.restore = append(p.restore, func() { runtime.SetMutexProfileFraction(old) })
		case "block":
			runtime.SetBlockProfileRate(cfg.BlockRate)
			p.restore = append(p.restore, func() { runtime.SetBlockProfileRate(0) })
		}
		types = append(types, ts...)
	}
	plog := &rateLimitedLogger{log: log.With("component", "pyroscope"), every: time.Minute}
	if len(types) > 0 {
		sdk, err := pyroscope.Start(pyroscope.Config{
			ApplicationName:   cfg.ApplicationName,
			ServerAddress:     cfg.ServerAddress,
			Tags:              cfg.Labels,
			UploadRate:        cfg.UploadInterval,
			ProfileTypes:      types,
			Logger:            plog,
			BasicAuthUser:     cfg.BasicAuthUser,
			BasicAuthPassword: cfg.BasicAuthPassword,
			TenantID:          cfg.TenantID,
		})
		if err != nil {
			p.Stop()
			return nil, fmt.Errorf("profiling: %w", err)
		}
		p.sdk = sdk
	}
	rate := cfg.CPURate
	if rate == 0 {
		rate = 100
	}
	if customCPU || customHeap {
		up, err := remote.NewRemote(remote.Config{
			BasicAuthUser: cfg.BasicAuthUser, BasicAuthPassword: cfg.BasicAuthPassword, TenantID: cfg.TenantID,
			Threads: 1, Address: cfg.ServerAddress, Timeout: 30 * time.Second, Logger: plog,
		})
		if err != nil {
			p.Stop()
			return nil, fmt.Errorf("profiling: %w", err)
		}
		up.Start()
		p.up = up
		name := appNameWithLabels(cfg.ApplicationName, cfg.Labels)
		if customCPU {
			p.cpu = cpuprofile.Start(cpuprofile.Config{
				Name: name, Hz: rate, Interval: cfg.UploadInterval, Upstream: up, Logger: plog,
			})
		}
		if customHeap {
			p.heap = heapprofile.Start(heapprofile.Config{
				Name: name, Interval: cfg.UploadInterval, Upstream: up, Logger: plog,
			})
		}
	}
	log.Info("profiler attached: pyroscope-go "+pyroscopeVersion+" sending to "+redactURL(cfg.ServerAddress),
		"app", cfg.ApplicationName, "events", strings.Join(cfg.Events, ","), "labels", formatLabels(cfg.Labels),
		"upload_interval", cfg.UploadInterval, "cpu_hz", rate, "alloc_rate", runtime.MemProfileRate,
		"auth", cfg.BasicAuthUser != "", "tenant", cfg.TenantID)
	return p, nil
}

const pyroscopeVersion = "v1.5.0"

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// appNameWithLabels renders the ingest name "app{k=v,...}" the way the SDK
// does, so custom-rate CPU profiles land in the same series as the rest.
func appNameWithLabels(app string, labels map[string]string) string {
	return app + "{" + formatLabels(labels) + "}"
}

// rateLimitedLogger passes pyroscope-go's messages to slog. Errors are rate
// limited per message format, so a Pyroscope that is down yields one line per
// kind per minute instead of one per upload.
type rateLimitedLogger struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func (l *rateLimitedLogger) Infof(string, ...any)  {} // the SDK's session banner; we log our own line
func (l *rateLimitedLogger) Debugf(string, ...any) {}
func (l *rateLimitedLogger) Errorf(format string, args ...any) {
	l.mu.Lock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	now := time.Now()
	if t, ok := l.last[format]; ok && now.Sub(t) < l.every {
		l.mu.Unlock()
		return
	}
	l.last[format] = now
	l.mu.Unlock()
	l.log.Error(fmt.Sprintf(format, args...))
}
