package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/all"
	"github.com/profdiff/profdiff/pkg/rules"
	"github.com/profdiff/profdiff/testenv"
)

func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("baseline", "start the stack, drive load, collect and write a baseline",
		"go run ./testenv/cmd/bankstack baseline --out testenv/baselines/local", stdout)
	sf := addStackFlags(fs)
	lf := addLoadFlags(fs)
	out := fs.String("out", "", "baseline directory to write (required; replaced atomically)")
	runs := fs.Int("runs", testenv.DefaultBaselineRuns, "independent runs to record the baseline over (shows run-to-run variation)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if *out == "" {
		return fail(stderr, "baseline", fmt.Errorf("--out is required"))
	}
	if err := recordBaseline(ctx, sf, lf, *runs, *out, stdout); err != nil {
		return fail(stderr, "baseline", err)
	}
	return 0
}

// recordBaseline records a baseline over runs runs and writes it to dir.
func recordBaseline(ctx context.Context, sf *stackFlags, lf *loadFlags, runs int, dir string, w io.Writer) error {
	kept, dropped, err := testenv.RecordBaseline(ctx, sf.options(w), lf.options(), runs)
	if err != nil {
		return err
	}
	for _, d := range dropped {
		fmt.Fprintf(w, "not gated: %s\n", d)
	}
	if len(kept.Series) == 0 {
		return fmt.Errorf("no series has enough data to gate; drive more load (--duration, --rate)")
	}
	if err := baseline.Write(dir, kept); err != nil {
		return err
	}
	fmt.Fprintf(w, "baseline: %d series of %d services over %d runs written to %s\n", len(kept.Series), len(kept.Services()), runs, dir)
	return nil
}

// gateFlags are the report and verdict flags of gate and demo.
type gateFlags struct {
	formats, outputs []string
	inconclusive     string
	config           string
}

func addGateFlags(fs interface {
	StringArrayVar(*[]string, string, []string, string)
	StringVar(*string, string, string, string)
}) *gateFlags {
	g := &gateFlags{}
	fs.StringArrayVar(&g.formats, "format", nil, "report format (repeatable): "+formatList()+" (default text)")
	fs.StringArrayVar(&g.outputs, "output", nil, "file for the format in the same position (repeatable; default stdout)")
	fs.StringVar(&g.inconclusive, "inconclusive", "fail", "what an inconclusive result exits with: fail (2) or pass (0)")
	fs.StringVar(&g.config, "config", "", "profdiff rules file (YAML)")
	return g
}

func formatList() string {
	s := ""
	for i, f := range all.Names() {
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}

// reportFormats is every report format, file names mapped to the
// repository at $GITHUB_WORKSPACE in a GitHub Actions job, else the one
// holding the working directory.
func reportFormats() report.Formats {
	dir := os.Getenv("GITHUB_WORKSPACE")
	if dir == "" {
		dir, _ = os.Getwd()
	}
	return all.Formats(report.FindLocator(dir))
}

func (g *gateFlags) gateOptions() (gate.Options, error) {
	o := testenv.GateOptions()
	if g.config != "" {
		r, err := rules.Load(g.config)
		if err != nil {
			return o, err
		}
		o.Rules = rules.Layer(o.Rules, r)
	}
	if g.inconclusive != "fail" && g.inconclusive != "pass" {
		return o, fmt.Errorf("--inconclusive=%s: want fail or pass", g.inconclusive)
	}
	formats := g.formats
	if len(formats) == 0 {
		formats = []string{"text"}
	}
	for _, f := range formats {
		if !slices.Contains(all.Names(), f) {
			return o, fmt.Errorf("unknown format %q (known: %s)", f, formatList())
		}
	}
	return o, nil
}

func runGate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gate", "measure this working tree beside the build of --against REF (a duet), or against a recorded --baseline; exit 0 (pass), 1 (regression) or 2 (inconclusive or error)",
		"go run ./testenv/cmd/bankstack gate --against HEAD --inject fraud.rules=1.5", stdout)
	sf := addStackFlags(fs)
	lf := addLoadFlags(fs)
	gf := addGateFlags(fs)
	base := fs.String("baseline", "", "baseline directory to gate against (instead of a duet with --against)")
	runs := fs.Int("runs", testenv.DefaultGateRuns, "with --baseline: independent runs to measure the build over, each on a fresh stack for --duration (more runs carry less of one process start's drift; runs shorter than 60 s blur allocation profiles; see docs/verdict-quality.md)")
	df := addDuetFlags(fs)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if df.against != "" || df.baseBinary != "" {
		if *base != "" {
			return fail(stderr, "gate", fmt.Errorf("--baseline and --against are two ways to gate; give one"))
		}
		return runDuetGate(ctx, fs, sf, lf, gf, df, stdout, stderr)
	}
	if *base == "" {
		return fail(stderr, "gate", fmt.Errorf("give --against REF (a duet: the base build measured beside this working tree) or --baseline DIR (a recorded baseline)"))
	}
	if *runs < 1 {
		return fail(stderr, "gate", fmt.Errorf("--runs=%d: want at least 1", *runs))
	}
	gopts, err := gf.gateOptions()
	if err != nil {
		return fail(stderr, "gate", err)
	}
	if _, err := baseline.Load(*base); err != nil {
		return fail(stderr, "gate", err)
	}
	res, err := testenv.GateRuns(ctx, sf.options(stderr), *base, lf.options(), gopts, *runs)
	if err != nil {
		return fail(stderr, "gate", err)
	}
	formats := gf.formats
	if len(formats) == 0 {
		formats = []string{"text"}
	}
	if err := reportFormats().WriteOutputs(stdout, formats, gf.outputs, res); err != nil {
		return fail(stderr, "gate", err)
	}
	return res.Verdict.ExitCode(gf.inconclusive == "pass")
}
