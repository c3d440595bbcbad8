package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/testenv"
)

// duetFlags are the flags of a duet: gate --against, and demo.
type duetFlags struct {
	against    string
	baseBinary string
	pairs      int
	mode       string
	timeout    time.Duration
	keep       string
}

func addDuetFlags(fs *pflag.FlagSet) *duetFlags {
	f := &duetFlags{}
	fs.StringVar(&f.against, "against", "", "git revision to build the base from (e.g. the pull request's merge base); the working tree is the candidate, measured beside it (a duet)")
	fs.StringVar(&f.baseBinary, "base-binary", "", "prebuilt base services binary, or a directory holding one named bank (a duet without a checkout)")
	fs.IntVar(&f.pairs, "pairs", testenv.DefaultDuetPairs, "duet: pairs of blocks (base and candidate each measured once per pair)")
	fs.StringVar(&f.mode, "duet-mode", string(testenv.DefaultDuetMode), "duet: interleaved (one fresh stack per block, B C C B ...), simultaneous (both stacks loaded at once) or reuse (two running stacks, alternated)")
	fs.DurationVar(&f.timeout, "timeout", testenv.DefaultDuetTimeout, "duet: bound on the whole duet, builds included")
	fs.StringVar(&f.keep, "keep-snapshots", "", "duet: write the merged base and candidate snapshots to DIR/base and DIR/current")
	return f
}

// duetOptions are the library options the flags describe. A --duration
// left at its default means the duet's block length, not a gate run's.
func (f *duetFlags) duetOptions(fs *pflag.FlagSet, sf *stackFlags, lf *loadFlags, inject string, progress io.Writer) testenv.DuetOptions {
	load := lf.options()
	if !fs.Changed("duration") {
		load.Duration = testenv.DefaultDuetBlock
	}
	st := sf.options(progress)
	st.Inject = ""
	duetStack(fs, &st)
	return testenv.DuetOptions{
		BaseRef:    f.against,
		BaseBinary: f.baseBinary,
		Inject:     inject,
		Pairs:      f.pairs,
		Load:       load,
		Stack:      st,
		Mode:       testenv.DuetMode(f.mode),
		Timeout:    f.timeout,
		Progress:   progress,
	}
}

// runDuetGate is gate --against: a duet of the base build and this working
// tree, with --inject applied to the candidate only.
func runDuetGate(ctx context.Context, fs *pflag.FlagSet, sf *stackFlags, lf *loadFlags, gf *gateFlags, df *duetFlags, stdout, stderr io.Writer) int {
	if fs.Changed("runs") {
		return fail(stderr, "gate", fmt.Errorf("--runs applies to --baseline; a duet's size is --pairs"))
	}
	if sf.workDir != "" {
		return fail(stderr, "gate", fmt.Errorf("--work-dir does not apply to a duet: every block gets its own"))
	}
	gopts, err := gf.gateOptions()
	if err != nil {
		return fail(stderr, "gate", err)
	}
	o := df.duetOptions(fs, sf, lf, sf.inject, stderr)
	o.Gate = &gopts
	res, err := testenv.Duet(ctx, o)
	if err != nil {
		return fail(stderr, "gate", err)
	}
	writeBlockTable(stderr, res)
	if df.keep != "" {
		if err := keepSnapshots(df.keep, res); err != nil {
			return fail(stderr, "gate", err)
		}
		fmt.Fprintf(stderr, "duet: snapshots written to %s and %s\n", filepath.Join(df.keep, "base"), filepath.Join(df.keep, "current"))
	}
	formats := gf.formats
	if len(formats) == 0 {
		formats = []string{"text"}
	}
	if err := reportFormats().WriteOutputs(stdout, formats, gf.outputs, res.Result); err != nil {
		return fail(stderr, "gate", err)
	}
	return res.Result.Verdict.ExitCode(gf.inconclusive == "pass")
}

// writeBlockTable prints one line per block: what ran, how the load went.
func writeBlockTable(w io.Writer, res *testenv.DuetResult) {
	fmt.Fprintf(w, "duet: %d pairs, %s; blocks in the order they ran:\n", res.Pairs, res.Mode)
	fmt.Fprintf(w, "  %-4s  %-9s  %8s  %8s  %6s  %7s\n", "pair", "side", "requests", "req/s", "errors", "seconds")
	for _, b := range res.Blocks {
		l := b.Measurement.Load
		fmt.Fprintf(w, "  %-4d  %-9s  %8d  %8.1f  %6d  %7.1f\n", b.Pair+1, b.Side, l.Requests, l.Achieved, l.Errors, b.Elapsed.Seconds())
	}
}

func keepSnapshots(dir string, res *testenv.DuetResult) error {
	if err := baseline.Write(filepath.Join(dir, "base"), res.Base); err != nil {
		return err
	}
	return baseline.Write(filepath.Join(dir, "current"), res.Current)
}
