// Command bankstack runs the bank stack that profdiff guards: it starts the
// seven services with Pyroscope and Prometheus, drives load, validates the
// deployment, and gates a build: against the build of another commit,
// measured beside it (a duet), or against a recorded baseline.
//
//	bankstack up        start the stack and keep it running (Ctrl-C stops it)
//	bankstack load      drive load against a running stack
//	bankstack validate  check a running stack the way the runbook does
//	bankstack down      stop a stack started by up
//	bankstack baseline  start, load, collect and write a baseline
//	bankstack gate      a duet with --against REF, or compare with --baseline DIR; exit 0/1/2
//	bankstack demo      an A/A duet and a duet with an injected regression (--with-baseline: against a recorded baseline)
//	bankstack images    build the local images the other deploy paths run
//
// Every command takes --backend local|docker (default local: child processes
// and the embedded Pyroscope-compatible server, nothing but Go needed).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/testenv"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"up", "start the stack and keep it running until Ctrl-C (or --detach with docker)", runUp},
	{"load", "drive load against the running stack", runLoad},
	{"validate", "check the running stack: services, Prometheus, Grafana, Pyroscope", runValidate},
	{"down", "stop the stack started by up", runDown},
	{"baseline", "start the stack, drive load, collect and write a baseline", runBaseline},
	{"gate", "measure beside --against REF (a duet) or compare with --baseline DIR; exit 0 pass, 1 regression, 2 inconclusive/error", runGate},
	{"demo", "an A/A duet (passes) and a duet with an injected regression (fails); --with-baseline gates against a recorded baseline", runDemo},
	{"images", "build the local images the compose, Ansible and Terraform paths run where nothing can be pulled", runImages},
	{"calibrate", "measure false alarms on A/A runs and detection of injected regressions; table and JSON", runCalibrate},
}

func main() {
	// --backend docker runs without the testcontainers reaper, whose image
	// cannot be pulled where no registry is reachable; testcontainers reads
	// this once, before the first container.
	if _, ok := os.LookupEnv(testenv.RyukDisabledEnv); !ok {
		os.Setenv(testenv.RyukDisabledEnv, "true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "bankstack: unknown command %q (run bankstack --help)\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "bankstack runs the profiled bank stack and gates profile regressions.")
	fmt.Fprintln(w, "\nUsage: bankstack COMMAND [flags]   (bankstack COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nExample:\n  go run ./testenv/cmd/bankstack demo")
}

// newFlags returns a flag set for a subcommand whose --help prints the
// summary, an example and the flags.
func newFlags(name, summary, example string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bankstack "+name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "bankstack %s: %s\n\nExample:\n  %s\n\nFlags:\n", name, summary, example)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args; it returns (code, true) when the command should end
// now: after --help (0) or a flag error (2, reported in one line).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// fail prints err as one line and returns exit status 2.
func fail(stderr io.Writer, cmd string, err error) int {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(stderr, "bankstack %s: %s\n", cmd, msg)
	return 2
}
