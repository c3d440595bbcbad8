package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/services/loadgen"
	"github.com/profdiff/profdiff/testenv"
)

// state is what `up` leaves for load, validate and down to find the stack.
type state struct {
	Backend   string            `json:"backend"`
	PID       int               `json:"pid"` // the `up` process; down signals it
	Started   time.Time         `json:"started"`
	Endpoints testenv.Endpoints `json:"endpoints"`
}

func defaultStatePath() string {
	return filepath.Join(os.TempDir(), "bankstack", "state.json")
}

func readState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no running stack (%s not found); start one with: go run ./testenv/cmd/bankstack up", path)
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &st, nil
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("up", "start the stack and keep it running until Ctrl-C", "go run ./testenv/cmd/bankstack up --inject fraud.rules=1.3", stdout)
	sf := addStackFlags(fs)
	statePath := fs.String("state", defaultStatePath(), "where to record the running stack for load, validate and down")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if _, err := readState(*statePath); err == nil {
		return fail(stderr, "up", fmt.Errorf("a stack is already recorded in %s; stop it with bankstack down (or remove the file if it is stale)", *statePath))
	}
	fmt.Fprintln(stdout, "starting the bank stack ...")
	s, err := testenv.Start(ctx, sf.options(stdout))
	if err != nil {
		return fail(stderr, "up", err)
	}
	defer s.Close()
	st := state{Backend: sf.backend, PID: os.Getpid(), Started: time.Now().UTC(), Endpoints: s.Endpoints()}
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := report.WriteFileAtomic(*statePath, data); err != nil {
		return fail(stderr, "up", err)
	}
	defer os.Remove(*statePath)
	printEndpoints(stdout, st.Endpoints)
	fmt.Fprintln(stdout, "\nthe stack is up; Ctrl-C (or bankstack down) stops it")
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping ...")
	if err := s.Close(); err != nil {
		return fail(stderr, "up", err)
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}

func printEndpoints(w io.Writer, ep testenv.Endpoints) {
	fmt.Fprintf(w, "  %-26s %s\n", "pyroscope", ep.Pyroscope)
	if ep.Prometheus != "" {
		fmt.Fprintf(w, "  %-26s %s\n", "prometheus", ep.Prometheus)
	}
	if ep.Grafana != "" {
		fmt.Fprintf(w, "  %-26s %s\n", "grafana", ep.Grafana)
	}
	for _, n := range slices.Sorted(maps.Keys(ep.Services)) {
		fmt.Fprintf(w, "  %-26s %s\n", n, ep.Services[n])
	}
}

func runDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("down", "stop the stack started by bankstack up", "go run ./testenv/cmd/bankstack down", stdout)
	statePath := fs.String("state", defaultStatePath(), "the state file bankstack up wrote")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	st, err := readState(*statePath)
	if err != nil {
		return fail(stderr, "down", err)
	}
	proc, err := os.FindProcess(st.PID)
	if err == nil {
		err = proc.Signal(syscall.SIGTERM)
	}
	if err != nil {
		os.Remove(*statePath)
		fmt.Fprintf(stdout, "the stack's process %d is gone; removed the stale %s\n", st.PID, *statePath)
		return 0
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(*statePath); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stdout, "stopped")
			return 0
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fail(stderr, "down", fmt.Errorf("process %d did not stop within 60s", st.PID))
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("load", "drive load against the running stack", "go run ./testenv/cmd/bankstack load --duration 2m --rate 300", stdout)
	lf := addLoadFlags(fs)
	tf := addTargetFlags(fs)
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	ep, err := tf.endpoints()
	if err != nil {
		return fail(stderr, "load", err)
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		Targets: ep.Services, Rate: lf.rate, Duration: lf.duration, Concurrency: lf.conc, Seed: lf.seed,
		Arrivals: lf.arrivals.a, Progress: stdout, InPlace: isTerminal(stdout),
	})
	if err != nil {
		return fail(stderr, "load", err)
	}
	fmt.Fprintln(stdout)
	res.WriteTable(stdout)
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := report.WriteFileAtomic(*jsonOut, data); err != nil {
			return fail(stderr, "load", err)
		}
	}
	return 0
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "check the running stack the way the runbook does; one line per check",
		"go run ./testenv/cmd/bankstack validate", stdout)
	tf := addTargetFlags(fs)
	wait := fs.Duration("profile-wait", 30*time.Second, "how long to wait for each service's profiles to reach Pyroscope")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	ep, err := tf.endpoints()
	if err != nil {
		return fail(stderr, "validate", err)
	}
	checks := testenv.Validate(ctx, ep, testenv.ValidateOptions{ProfileWait: *wait, Out: stdout})
	if n := testenv.Failed(checks); n > 0 {
		fmt.Fprintf(stdout, "%d of %d checks failed\n", n, len(checks))
		return 1
	}
	fmt.Fprintf(stdout, "all %d checks passed\n", len(checks))
	return 0
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
