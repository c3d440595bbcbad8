package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/testenv"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "a duet of the build with itself (A/A: it passes), then with a regression injected into one side (it fails, naming the function); --with-baseline records a baseline and gates against it instead",
		"go run ./testenv/cmd/bankstack demo", stdout)
	sf := addStackFlags(fs)
	lf := addLoadFlags(fs)
	inject := fs.String("regression", "fraud.rules=1.5", "the regression injected into the third run, NAME=FACTOR")
	withBaseline := fs.Bool("with-baseline", false, "record a baseline (8 runs) and gate an A/A run and the injected run against it, instead of the duets")
	keep := fs.String("baseline-out", "", "with --with-baseline: keep the recorded baseline in this directory (default: a temporary one)")
	pairs := fs.Int("pairs", demoDuetPairs, "pairs of blocks per duet")
	mode := fs.String("duet-mode", string(testenv.DefaultDuetMode), "how a duet runs its blocks: simultaneous, interleaved or reuse (see gate --help)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if sf.inject != "" {
		return fail(stderr, "demo", fmt.Errorf("--inject does not apply to demo; use --regression"))
	}
	inj, err := bank.ParseInject(*inject)
	if err != nil || len(inj) != 1 {
		return fail(stderr, "demo", fmt.Errorf("--regression=%q: want one NAME=FACTOR (%v)", *inject, err))
	}
	var hot bank.Hotspot
	for name := range inj {
		hot, _ = bank.HotspotByInject(name)
	}
	if !*withBaseline {
		if *keep != "" {
			return fail(stderr, "demo", fmt.Errorf("--baseline-out needs --with-baseline: a duet records no baseline"))
		}
		return runDemoDuet(ctx, fs, sf, lf, *inject, hot, *pairs, testenv.DuetMode(*mode), stdout, stderr)
	}
	for _, f := range []string{"pairs", "duet-mode"} {
		if fs.Changed(f) {
			return fail(stderr, "demo", fmt.Errorf("--%s applies to the duets, not --with-baseline", f))
		}
	}

	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bankstack-demo-")
		if err != nil {
			return fail(stderr, "demo", err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "baseline")
	}

	fmt.Fprintf(stdout, "== 1/3  recording a baseline: all seven services, %d runs of %s of load at %.0f req/s\n", testenv.DefaultBaselineRuns, lf.duration, lf.rate)
	if err := recordBaseline(ctx, sf, lf, testenv.DefaultBaselineRuns, dir, stdout); err != nil {
		return fail(stderr, "demo", err)
	}

	gate := func(title, injectSpec string) (*diff.Result, error) {
		fmt.Fprintf(stdout, "\n== %s\n", title)
		f := *sf
		f.inject = injectSpec
		s, err := testenv.Start(ctx, f.options(stdout))
		if err != nil {
			return nil, err
		}
		defer s.Close()
		res, _, err := s.Gate(ctx, dir, lf.options(), testenv.GateOptions())
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(stdout)
		report.Text(stdout, res)
		fmt.Fprintf(stdout, "exit status: %d\n", res.Verdict.ExitCode(false))
		return res, nil
	}
	aa, err := gate("2/3  A/A: the same build again, gated against the baseline (expect: pass, exit 0)", "")
	if err != nil {
		return fail(stderr, "demo", err)
	}
	ab, err := gate(fmt.Sprintf("3/3  injected regression %s: %s in %s (expect: regression, exit 1)", *inject, hot.Function, hot.Service), *inject)
	if err != nil {
		return fail(stderr, "demo", err)
	}

	return demoSummary(stdout, aa, ab, hot)
}

// demoSummary prints whether the A/A run passed and the injected run named
// the hot spot, and returns the demo's exit status: 0 when both did.
func demoSummary(stdout io.Writer, aa, ab *diff.Result, hot bank.Hotspot) int {
	fmt.Fprintln(stdout, "\n== summary")
	ok := true
	if aa.Verdict == diff.Pass {
		fmt.Fprintln(stdout, "A/A run:        pass, as expected")
	} else {
		ok = false
		fmt.Fprintf(stdout, "A/A run:        %s — expected a pass (see the report above)\n", aa.Verdict)
	}
	if c := hotCause(ab, hot); c != nil && ab.Verdict == diff.Regression {
		// The cause as the report names it, with its change in each
		// profile type it was seen in (CPU and allocations, say).
		var seen []string
		for _, cs := range c.Series {
			seen = append(seen, fmt.Sprintf("%s %s (%s)", cs.Alias, report.Change(cs.Finding.Change), report.PValue("q", cs.Finding.Q)))
		}
		fmt.Fprintf(stdout, "injected run:   regression, as expected: %s in %s: %s\n", c.Function, hot.Service, strings.Join(seen, ", "))
	} else {
		ok = false
		fmt.Fprintf(stdout, "injected run:   %s — expected a regression naming %s in %s\n", ab.Verdict, hot.Function, hot.Service)
	}
	if !ok {
		return 1
	}
	return 0
}

// hotCause returns the failing cause that names the hot spot's function
// in its service, or nil.
func hotCause(r *diff.Result, hot bank.Hotspot) *diff.Cause {
	for _, c := range r.Causes {
		if c.Failing && c.Service == hot.Service && (c.Function == hot.Function || strings.HasSuffix(c.RawName, hot.Function)) {
			return c
		}
	}
	return nil
}
