// Command loadgen drives the bank services at a fixed request rate and prints
// a per-endpoint table of requests, errors and latency percentiles.
//
//	loadgen [flags] URL... [DURATION]
//	loadgen [flags] --target bank-fraud-service=http://127.0.0.1:8083 ...
//
// The first form is the runbook's: give the services' base URLs and, last, a
// duration ("300" seconds or "5m"); each URL's GET /health tells which service
// it is. Requests go only to the URLs given. Flags:
//
//	--rate 50            total requests per second (open loop)
//	--concurrency 32     requests in flight at most; requests due beyond it are dropped and counted
//	--duration 60s       how long to run (default 60s unless --requests is set)
//	--requests N         stop after N requests
//	--timeout 5s         per-request timeout
//	--json FILE          also write the result as JSON ("-" for stdout)
//	--seed 1             request-mix and arrival-gap seed
//	--arrivals poisson   request spacing: poisson (random gaps, the default) or uniform
//	--quiet              no progress line
//
// Exit status: 0 when the run completed, 1 when every request failed, 2 on
// bad arguments or unreachable targets.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
)

type targetsFlag map[string]string

func (t targetsFlag) String() string { return fmt.Sprint(map[string]string(t)) }

func (t targetsFlag) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want service=URL")
	}
	info, err := bank.LookupService(name)
	if err != nil {
		return err
	}
	t[info.Name] = u
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parsePositional splits the runbook form into URLs and an optional trailing
// duration: a plain number is seconds, as in generate-load.sh.
func parsePositional(args []string) (urls []string, d time.Duration, err error) {
	if n := len(args); n > 0 && !strings.Contains(args[n-1], "://") {
		last := args[n-1]
		if secs, err := strconv.Atoi(last); err == nil && secs > 0 {
			d = time.Duration(secs) * time.Second
		} else if d, err = time.ParseDuration(last); err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("%q is neither a URL nor a duration", last)
		}
		args = args[:n-1]
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "http://") && !strings.HasPrefix(a, "https://") {
			return nil, 0, fmt.Errorf("%q is not an http(s) URL", a)
		}
	}
	return args, d, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := targetsFlag{}
	fs.Var(targets, "target", "service=URL (repeatable), e.g. fraud=http://127.0.0.1:8083")
	rate := fs.Float64("rate", 50, "total requests per second (open loop)")
	conc := fs.Int("concurrency", 32, "maximum requests in flight")
	dur := fs.Duration("duration", 0, "run time (default 60s unless --requests is set)")
	reqs := fs.Int("requests", 0, "stop after this many requests")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	jsonOut := fs.String("json", "", "write the result as JSON to this file (- for stdout)")
	seed := fs.Uint64("seed", 1, "request-mix and arrival-gap seed")
	arrivalsName := fs.String("arrivals", string(loadgen.ArrivalsPoisson), "request spacing: poisson (random gaps; keeps CPU profiles from aliasing with the kernel tick) or uniform")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	arrivals, err := loadgen.ParseArrivals(*arrivalsName)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	urls, posDur, err := parsePositional(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	if len(urls) > 0 {
		found, err := loadgen.Identify(ctx, nil, urls)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 2
		}
		for name, u := range found {
			if prev, ok := targets[name]; ok && prev != u {
				fmt.Fprintf(stderr, "loadgen: %s given twice (%s, %s)\n", name, prev, u)
				return 2
			}
			targets[name] = u
		}
	}
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "loadgen: no targets: give service URLs or --target service=URL")
		return 2
	}
	d := *dur
	if posDur > 0 {
		if d > 0 && d != posDur {
			fmt.Fprintf(stderr, "loadgen: duration given twice (%s, %s)\n", d, posDur)
			return 2
		}
		d = posDur
	}
	if d == 0 && *reqs == 0 {
		d = 60 * time.Second
	}
	cfg := loadgen.Config{Targets: targets, Rate: *rate, Concurrency: *conc, Duration: d, Requests: *reqs, Timeout: *timeout, Seed: *seed, Arrivals: arrivals}
	if !*quiet {
		cfg.Progress, cfg.InPlace = stderr, tty
		if !tty {
			cfg.ProgressInterval = 10 * time.Second
		}
	}
	fmt.Fprintf(stderr, "loadgen: %.1f req/s for %s over %d services (concurrency %d)\n", *rate, describe(d, *reqs), len(targets), *conc)
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	if err := res.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: writing JSON: %v\n", err)
			return 2
		}
	}
	if res.Requests > 0 && res.Errors == res.Requests {
		fmt.Fprintln(stderr, "loadgen: every request failed")
		return 1
	}
	return 0
}

func describe(d time.Duration, n int) string {
	switch {
	case d > 0 && n > 0:
		return fmt.Sprintf("%s or %d requests", d, n)
	case n > 0:
		return fmt.Sprintf("%d requests", n)
	}
	return d.String()
}
