package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/testenv"
)

// demoDuetPairs is the demo's duet size: fewer pairs than the gate's
// default, so both duets finish within about six minutes on 2 cores.
const demoDuetPairs = 4

// runDemoDuet is the demo: the working tree's build measured beside
// itself (an A/A duet: it must pass), then beside itself with the
// regression injected into the candidate only (it must name the hot spot).
// One build serves both sides of both duets, so the A/A is exactly that.
func runDemoDuet(ctx context.Context, fs *pflag.FlagSet, sf *stackFlags, lf *loadFlags, inject string, hot bank.Hotspot, pairs int, mode testenv.DuetMode, stdout, stderr io.Writer) int {
	if sf.workDir != "" {
		return fail(stderr, "demo", fmt.Errorf("--work-dir applies to --with-baseline; a duet gives every block its own"))
	}
	start := time.Now()
	tmp, err := os.MkdirTemp("", "bankstack-demo-")
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(stdout, "== 1/3  building the services from the working tree\n")
	bin, err := testenv.BuildServices(ctx, "", filepath.Join(tmp, "bin"))
	if err != nil {
		return fail(stderr, "demo", err)
	}
	df := &duetFlags{baseBinary: bin, pairs: pairs, mode: string(mode), timeout: testenv.DefaultDuetTimeout}
	duet := func(title, injectSpec string) (*diff.Result, error) {
		fmt.Fprintf(stdout, "\n== %s\n", title)
		o := df.duetOptions(fs, sf, lf, injectSpec, stdout)
		o.CandidateBinary = bin
		res, err := testenv.Duet(ctx, o)
		if err != nil {
			return nil, err
		}
		writeBlockTable(stdout, res)
		fmt.Fprintln(stdout)
		report.Text(stdout, res.Result)
		fmt.Fprintf(stdout, "exit status: %d\n", res.Result.Verdict.ExitCode(false))
		return res.Result, nil
	}
	aa, err := duet(fmt.Sprintf("2/3  A/A duet: the build beside itself, %d pairs of %s blocks (expect: pass, exit 0)", pairs, blockLength(fs, lf)), "")
	if err != nil {
		return fail(stderr, "demo", err)
	}
	ab, err := duet(fmt.Sprintf("3/3  duet with %s injected into the candidate: %s in %s (expect: regression, exit 1)", inject, hot.Function, hot.Service), inject)
	if err != nil {
		return fail(stderr, "demo", err)
	}
	code := demoSummary(stdout, aa, ab, hot)
	fmt.Fprintf(stdout, "demo took %s\n", time.Since(start).Round(time.Second))
	return code
}

// blockLength is the duet's block length the flags give.
func blockLength(fs *pflag.FlagSet, lf *loadFlags) time.Duration {
	if fs.Changed("duration") {
		return lf.duration
	}
	return testenv.DefaultDuetBlock
}
