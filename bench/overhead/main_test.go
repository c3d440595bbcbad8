package main

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/repotest"
)

func TestParseStatCPU(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       time.Duration
		err        string
	}{
		// utime 250 and stime 50 ticks: 3 s.
		{"plain", "4242 (bank) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0", 3 * time.Second, ""},
		// A command name with spaces and a ')' must not shift the fields.
		{"odd name", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0 5 0 0", 150 * time.Millisecond, ""},
		{"no name", "7 a R 1", 0, "no command name"},
		{"short", "7 (bank) S 1 2 3", 0, "fields after the command name"},
		{"not a count", "7 (bank) S 1 7 7 0 -1 0 0 0 0 0 x 3 0 0", 0, "not a count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStatCPU(c.line)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

// TestProcessCPUOfThisProcess: /proc's count of this process's CPU time
// agrees with getrusage's, which the kernel keeps from the same clock, over
// some spinning (to within a few 10 ms ticks).
func TestProcessCPUOfThisProcess(t *testing.T) {
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Skip(err) // not Linux
	}
	ru0 := rusage()
	for rusage()-ru0 < 300*time.Millisecond {
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got, want := after-before, rusage()-ru0
	if d := got - want; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("/proc counted %v of CPU where getrusage counted %v", got, want)
	}
}

// TestPairedChangeCoverage checks the interval against a known truth: pairs
// whose two sides share a drifting machine speed (which pairing cancels) and
// carry their own noise; the stated 95% interval must hold the true change
// in about 95% of simulated runs, and the estimate must not be biased by the
// drift.
func TestPairedChangeCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, truth := range []float64{0, 0.03, -0.05} {
		covered, runs := 0, 2000
		var sumEst float64
		for range runs {
			var blocks []block
			speed := 1000.0
			for p := range 10 {
				speed *= math.Exp(0.1 * rng.NormFloat64()) // the machine drifts a lot between pairs
				off := speed * math.Exp(0.03*rng.NormFloat64())
				on := speed * (1 + truth) * math.Exp(0.03*rng.NormFloat64())
				blocks = append(blocks,
					block{Pair: p, Requests: int(off * 5), Seconds: 5},
					block{Pair: p, Profiled: true, Requests: int(on * 5), Seconds: 5})
			}
			c, err := pairedChange(blocks, block.rate)
			if err != nil {
				t.Fatal(err)
			}
			if c.Lo <= truth && truth <= c.Hi {
				covered++
			}
			sumEst += c.Est
		}
		cover := float64(covered) / float64(runs)
		if cover < 0.93 || cover > 0.97 {
			t.Errorf("truth %+.0f%%: the 95%% interval held it in %.1f%% of runs", 100*truth, 100*cover)
		}
		if bias := sumEst/float64(runs) - truth; math.Abs(bias) > 0.003 {
			t.Errorf("truth %+.0f%%: mean estimate off by %+.2f%%", 100*truth, 100*bias)
		}
	}
}

// TestMeanChangeCoverage: services with their own true costs and their own
// noise (sd of a pair's log ratio from 1% to 10%); the interval of the mean
// over services must hold the mean of the true log costs about 95% of the
// time.
func TestMeanChangeCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	truths := []float64{0.01, 0.05, 0, -0.02, 0.03, 0.01, 0}
	sds := []float64{0.03, 0.01, 0.05, 0.10, 0.04, 0.08, 0.06}
	var want float64
	for _, x := range truths {
		want += math.Log1p(x) / float64(len(truths))
	}
	covered, runs := 0, 2000
	for range runs {
		var cs []change
		for i := range truths {
			var blocks []block
			for p := range 16 {
				off := 1000 * math.Exp(0.2*rng.NormFloat64())
				on := off * (1 + truths[i]) * math.Exp(sds[i]*rng.NormFloat64())
				blocks = append(blocks, block{Pair: p, Requests: 1, CPUSecond: off, Seconds: 1},
					block{Pair: p, Profiled: true, Requests: 1, CPUSecond: on, Seconds: 1})
			}
			c, err := pairedChange(blocks, block.cpuPerReq)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		m := meanChange(cs)
		if math.Log1p(m.Lo) <= want && want <= math.Log1p(m.Hi) {
			covered++
		}
	}
	if cover := float64(covered) / float64(runs); cover < 0.93 || cover > 0.97 {
		t.Errorf("the 95%% interval of the mean over services held the truth in %.1f%% of runs", 100*cover)
	}
}

func TestPairedChangeErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		blocks []block
		want   string
	}{
		{"one pair", []block{{Pair: 0, Requests: 10, Seconds: 1}, {Pair: 0, Profiled: true, Requests: 10, Seconds: 1}}, "complete pairs"},
		{"unpaired", []block{{Pair: 0, Requests: 10, Seconds: 1}, {Pair: 1, Profiled: true, Requests: 10, Seconds: 1}}, "complete pairs"},
		{"zero", []block{{Pair: 0, Requests: 0, Seconds: 1}, {Pair: 0, Profiled: true, Requests: 10, Seconds: 1},
			{Pair: 1, Requests: 10, Seconds: 1}, {Pair: 1, Profiled: true, Requests: 10, Seconds: 1}}, "not positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := pairedChange(c.blocks, block.rate); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pairs", "2"}, "at least 3"},
		{[]string{"--services", "atm"}, `unknown service "atm"`},
		{[]string{"--block", "10ms"}, "--block"},
		{[]string{"--events", "gpu"}, "--events"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--from-json", "no-such-file.json"}, "no-such-file.json"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// TestMeasureNotification runs the whole measurement on the lightest
// service with short blocks: both processes answer, the profiled one
// uploads, and the table has the service's row with an interval.
func TestMeasureNotification(t *testing.T) {
	if testing.Short() {
		t.Skip("starts bank processes")
	}
	bin := filepath.Join(t.TempDir(), "bank")
	build := exec.Command("go", "build", "-o", bin, "./services/cmd/bank")
	build.Dir = repotest.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	jsonOut := filepath.Join(t.TempDir(), "blocks.json")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--bank", bin, "--services", "notification", "--pairs", "3", "--block", "1s",
		"--warmup", "200ms", "--upload-interval", "500ms", "--json", jsonOut}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	row := ""
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "notification") {
			row = l
		}
	}
	if !strings.Contains(row, "% [") {
		t.Fatalf("no notification row with an interval in:\n%s", stdout.String())
	}
	if f := strings.Fields(row); f[len(f)-1] == "0" {
		t.Errorf("the profiled process uploaded nothing: %s", row)
	}
	if b, err := os.ReadFile(jsonOut); err != nil || !strings.Contains(string(b), `"profiled": true`) {
		t.Errorf("blocks JSON: %v\n%.300s", err, b)
	}
	var again bytes.Buffer
	if code := run(t.Context(), []string{"--services", "notification", "--from-json", jsonOut}, &again, &stderr); code != 0 || again.String() != stdout.String() {
		t.Errorf("--from-json: exit %d, printed\n%s\nwant\n%s", code, again.String(), stdout.String())
	}
}
