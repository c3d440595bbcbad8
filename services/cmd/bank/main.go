// Command bank runs one of the seven bank services:
//
//	bank --service NAME [--addr HOST:PORT] [--inject name=factor,...]
//
// NAME is a full service name (bank-fraud-service) or its short form (fraud).
// Every flag has an environment equivalent, used when the flag is not given:
//
//	--service        BANK_SERVICE
//	--addr           BANK_ADDR             (default :8080 ... :8086 by service)
//	--inject         BANK_INJECT           (e.g. fraud.rules=1.3; off by default)
//	--order-url      BANK_ORDER_URL        (gateway only; default http://127.0.0.1:8081)
//	--payment-url    BANK_PAYMENT_URL      (... :8082)
//	--fraud-url      BANK_FRAUD_URL        (... :8083)
//	--account-url    BANK_ACCOUNT_URL      (... :8084)
//	--loan-url       BANK_LOAN_URL         (... :8085)
//	--notification-url BANK_NOTIFICATION_URL (... :8086)
//	--downstream-timeout BANK_DOWNSTREAM_TIMEOUT (default 2s)
//	--payment-latency    BANK_PAYMENT_LATENCY    (default 2ms; simulated card network)
//	--drain-timeout      BANK_DRAIN_TIMEOUT      (default 15s)
//
// Profiling is configured by the PYROSCOPE_* variables (see bank.ProfilingFromEnv);
// without PYROSCOPE_SERVER_ADDRESS it is off. SIGTERM or SIGINT drains in-flight
// requests and exits 0. Start-up errors (bad flags, unknown service or hot spot,
// bad profiling settings, port in use) exit 2 with a message.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fs := flag.NewFlagSet("bank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		if v := getenv(name); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
			fmt.Fprintf(stderr, "bank: %s=%q is not a duration; using %s\n", name, v, def)
		}
		return def
	}
	service := fs.String("service", env("BANK_SERVICE", ""), "service to run: bank-api-gateway, bank-order-service, ... or gateway, order, payment, fraud, account, loan, notification")
	addr := fs.String("addr", env("BANK_ADDR", ""), "listen address (default :8080-:8086 by service)")
	inject := fs.String("inject", env("BANK_INJECT", ""), "injected regressions, name=factor,... (names: "+fmt.Sprint(bank.InjectNames())+")")
	def := bank.DefaultDownstreams()
	var ds bank.Downstreams
	fs.StringVar(&ds.Order, "order-url", env("BANK_ORDER_URL", def.Order), "order service base URL (gateway)")
	fs.StringVar(&ds.Payment, "payment-url", env("BANK_PAYMENT_URL", def.Payment), "payment service base URL (gateway)")
	fs.StringVar(&ds.Fraud, "fraud-url", env("BANK_FRAUD_URL", def.Fraud), "fraud service base URL (gateway)")
	fs.StringVar(&ds.Account, "account-url", env("BANK_ACCOUNT_URL", def.Account), "account service base URL (gateway)")
	fs.StringVar(&ds.Loan, "loan-url", env("BANK_LOAN_URL", def.Loan), "loan service base URL (gateway)")
	fs.StringVar(&ds.Notification, "notification-url", env("BANK_NOTIFICATION_URL", def.Notification), "notification service base URL (gateway)")
	dsTimeout := fs.Duration("downstream-timeout", envDur("BANK_DOWNSTREAM_TIMEOUT", 2*time.Second), "timeout of each gateway call to a downstream service")
	payLatency := fs.Duration("payment-latency", envDur("BANK_PAYMENT_LATENCY", 2*time.Millisecond), "simulated external payment gateway latency (0 disables)")
	drain := fs.Duration("drain-timeout", envDur("BANK_DRAIN_TIMEOUT", 15*time.Second), "how long shutdown waits for in-flight requests")
	healthURL := fs.String("healthcheck", "", "check URL instead of serving: exit 0 when it answers 200 within 3s, 1 otherwise (for container health checks in a FROM-scratch image, which has no curl)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *healthURL != "" {
		return healthcheck(*healthURL, stderr)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bank: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *service == "" {
		fmt.Fprintln(stderr, "bank: --service (or BANK_SERVICE) is required")
		return 2
	}
	info, err := bank.LookupService(*service)
	if err != nil {
		fmt.Fprintf(stderr, "bank: %v\n", err)
		return 2
	}
	inj, err := bank.ParseInject(*inject)
	if err != nil {
		fmt.Fprintf(stderr, "bank: --inject: %v\n", err)
		return 2
	}
	pcfg, err := bank.ProfilingFromEnv(info.Name, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "bank: %v\n", err)
		return 2
	}
	lat := *payLatency
	if lat == 0 {
		lat = -1 // Config treats 0 as "default"; the flag's 0 means off
	}
	srv, err := bank.New(bank.Config{
		Service: info.Name, Addr: *addr, Downstreams: ds, DownstreamTimeout: *dsTimeout,
		Inject: inj, PaymentLatency: lat, DrainTimeout: *drain, Logger: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "bank: %v\n", err)
		return 2
	}
	prof, err := bank.StartProfiling(pcfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "bank: %v\n", err)
		return 2
	}
	defer prof.Stop()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.Error("exiting", "service", info.Name, "err", err)
		return 1
	}
	return 0
}

// healthcheck probes url once, for a container's HEALTHCHECK: the image is
// FROM scratch, so the binary itself is the only HTTP client it has.
func healthcheck(url string, stderr io.Writer) int {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "bank: healthcheck %s: %v\n", url, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bank: healthcheck %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
