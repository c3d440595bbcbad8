package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/services/loadgen"
	"github.com/profdiff/profdiff/testenv"
)

// stackFlags are the flags of every command that starts a stack.
type stackFlags struct {
	backend    string
	services   []string
	inject     string
	version    string
	env        string
	interval   time.Duration
	cpuRate    int
	allocRate  int
	prometheus string
	grafana    string
	pyroscope  string
	workDir    string
	keepLogs   bool
}

func addStackFlags(fs *pflag.FlagSet) *stackFlags {
	f := &stackFlags{}
	fs.StringVar(&f.backend, "backend", "local", "where the stack runs: local (child processes, embedded Pyroscope) or docker")
	fs.StringSliceVar(&f.services, "service", nil, "services to start (repeatable; default all seven)")
	fs.StringVar(&f.inject, "inject", "", "injected regressions for the services, NAME=FACTOR,... (e.g. fraud.rules=1.5)")
	fs.StringVar(&f.version, "version-label", "dev", "the services' version profile label")
	fs.StringVar(&f.env, "env-label", "bankstack", "the services' env profile label")
	fs.DurationVar(&f.interval, "upload-interval", testenv.DefaultUploadInterval, "profile upload interval, and so the comparison window")
	fs.IntVar(&f.cpuRate, "cpu-rate", testenv.DefaultCPURate, "CPU sampling rate in Hz")
	fs.IntVar(&f.allocRate, "alloc-rate", 0, fmt.Sprintf("allocation sampling rate in bytes (Go's MemProfileRate) (default %d; %d in a duet)", testenv.DefaultAllocRate, testenv.DefaultDuetAllocRate))
	fs.StringVar(&f.prometheus, "prometheus", "auto", "run Prometheus: auto (when available), on, off")
	fs.StringVar(&f.grafana, "grafana", "auto", "run Grafana (docker backend): auto, on, off")
	fs.StringVar(&f.pyroscope, "pyroscope", "", "use this Pyroscope instead of starting one")
	fs.StringVar(&f.workDir, "work-dir", "", "directory for binaries, config and logs (default: a temporary one)")
	fs.BoolVar(&f.keepLogs, "keep-logs", false, "keep the work directory and its logs after the stack stops")
	return f
}

func (f *stackFlags) options(progress io.Writer) testenv.Options {
	return testenv.Options{
		Backend:        testenv.Backend(f.backend),
		Services:       append([]string(nil), f.services...),
		Inject:         f.inject,
		Version:        f.version,
		Env:            f.env,
		UploadInterval: f.interval,
		CPURate:        f.cpuRate,
		AllocRate:      f.allocRate,
		Prometheus:     f.prometheus,
		Grafana:        f.grafana,
		PyroscopeURL:   f.pyroscope,
		WorkDir:        f.workDir,
		KeepLogs:       f.keepLogs,
		Progress:       progress,
	}
}

// duetStack leaves a duet's stack options to the duet where the flags were
// not given: unless asked for, a duet's blocks run without Prometheus and
// Grafana (see testenv.DuetOptions.Stack), whatever the flags' defaults.
func duetStack(fs *pflag.FlagSet, st *testenv.Options) {
	for flag, v := range map[string]*string{"prometheus": &st.Prometheus, "grafana": &st.Grafana} {
		if !fs.Changed(flag) {
			*v = ""
		}
	}
}

// loadFlags size a load run.
type loadFlags struct {
	rate     float64
	duration time.Duration
	warmup   time.Duration
	conc     int
	seed     uint64
	arrivals arrivalsFlag
}

// arrivalsFlag checks --arrivals while the flags are parsed, so a typo is
// refused before a stack is started.
type arrivalsFlag struct{ a loadgen.Arrivals }

func (f *arrivalsFlag) String() string { return string(f.a) }
func (f *arrivalsFlag) Type() string   { return "poisson|uniform" }
func (f *arrivalsFlag) Set(s string) error {
	a, err := loadgen.ParseArrivals(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "loadgen: "))
	}
	f.a = a
	return nil
}

func addLoadFlags(fs *pflag.FlagSet) *loadFlags {
	f := &loadFlags{}
	fs.Float64Var(&f.rate, "rate", testenv.DefaultRate, "total request rate per second over all services (fixed, open loop)")
	fs.DurationVar(&f.duration, "duration", testenv.DefaultDuration, "measured load per run, after the warm-up")
	fs.DurationVar(&f.warmup, "warmup", 0, "load before measuring starts (default one upload interval)")
	fs.IntVar(&f.conc, "concurrency", 0, "requests in flight at most (default the load generator's)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the request mix and of the arrival gaps")
	f.arrivals.a = loadgen.ArrivalsPoisson
	fs.Var(&f.arrivals, "arrivals", "request spacing: poisson (random gaps; keeps CPU profiles from aliasing with the kernel tick) or uniform")
	return f
}

func (f *loadFlags) options() testenv.LoadOptions {
	return testenv.LoadOptions{Rate: f.rate, Duration: f.duration, Warmup: f.warmup, Concurrency: f.conc, Seed: f.seed, Arrivals: f.arrivals.a}
}
