package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/rules"
)

func init() {
	register(&command{name: "compare", summary: "compare a snapshot with the baseline; exit 1 on regression", run: runCompare})
}

func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("compare", `
Usage: profdiff compare --baseline DIR --current DIR [--config FILE] [--format F [--output FILE]]...
       profdiff compare --baseline DIR --pyroscope URL --from T [--until T] [--selector S] ...
       profdiff compare --pyroscope URL --baseline-from T [--baseline-until T] [--baseline-selector S]
                        --from T [--until T] [--selector S] ...

Compares the current snapshot with the baseline, function by function, and
reports regressions (credible increase, at least the threshold, above the
floor), new hot paths, improvements and inconclusive series. --format and
--output pair up in order and may repeat; a format without an output goes to
standard output. Outputs are written atomically.

With --pyroscope the current side is collected from Pyroscope over
--from/--until (for the baseline's services and types), and with
--baseline-from the baseline side too: before and after a deploy (two
ranges), or one version against another (--baseline-selector '{version="v1"}'
--selector '{version="v2"}').
`+strings.TrimPrefix(pyroscopeUsage, "\n")+`
Exit status: 0 no regression, 1 regression, 2 error or inconclusive
(--inconclusive=pass turns inconclusive into 0; an error is always 2).

Formats: `+strings.Join(report.Formats(), ", ")+`

Example:
  profdiff compare --baseline testdata/sample/baseline --current testdata/sample/regressed \
      --config testdata/sample/profdiff.yaml --format text --format junit --output report.xml
`, stdout)
	basePath := fs.String("baseline", "", "baseline snapshot directory (required)")
	curPath := fs.String("current", "", "current snapshot directory (required)")
	config := fs.String("config", "", "rules file (YAML); see pkg/rules")
	formats := fs.StringArray("format", nil, "output format (repeatable; default text)")
	outputs := fs.StringArray("output", nil, "file for the format in the same position (repeatable; default stdout)")
	inconclusive := fs.String("inconclusive", "fail", "what an inconclusive result exits with: fail (2) or pass (0)")
	normalize := fs.String("normalize", "auto", "auto (rate per second when both snapshots record the same fixed load rate, else share), share of each window's total, rest (ratio to the rest of the window's total), or rate per second (needs a fixed load rate)")
	threshold := fs.String("threshold", "", "smallest relative increase that fails, e.g. 10% (overrides the rules file's default)")
	floor := fs.String("floor", "", "smallest share of the profile that can fail, e.g. 1%")
	alpha := fs.Float64("alpha", 0, "false-discovery rate over every function the run tests: the A/A false-alarm rate per run (default 0.05)")
	pf := addPyroscopeFlags(fs, true)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	const cmd = "compare"
	if fs.NArg() > 0 {
		return fail(stderr, cmd, fmt.Errorf("unexpected argument %q (flags take --name value)", fs.Arg(0)))
	}
	if pf.url == "" && (*basePath == "" || *curPath == "") {
		return fail(stderr, cmd, errors.New("--baseline and --current are required (or --pyroscope, see --help)"))
	}
	if *inconclusive != "pass" && *inconclusive != "fail" {
		return fail(stderr, cmd, fmt.Errorf("--inconclusive=%q: want pass or fail", *inconclusive))
	}
	var norm diff.Normalization
	if *normalize != "auto" {
		n, err := diff.ParseNormalization(*normalize)
		if err != nil {
			return fail(stderr, cmd, fmt.Errorf("--normalize: %w (or auto)", err))
		}
		norm = n
	}
	if len(*formats) == 0 {
		*formats = []string{"text"}
	}
	if len(*outputs) > len(*formats) {
		return fail(stderr, cmd, fmt.Errorf("%d --output flags but only %d --format flags; each output needs the format before it", len(*outputs), len(*formats)))
	}
	for _, f := range *formats {
		if !report.Known(f) {
			return fail(stderr, cmd, fmt.Errorf("unknown format %q (known: %s)", f, strings.Join(report.Formats(), ", ")))
		}
	}
	opts := gate.Options{Normalization: norm}
	for _, x := range []struct {
		flag string
		val  string
		dst  *float64
	}{{"threshold", *threshold, &opts.Params.Threshold}, {"floor", *floor, &opts.Params.Floor}} {
		if x.val == "" {
			continue
		}
		v, err := rules.ParseFraction(x.val)
		if err != nil || v <= 0 {
			return fail(stderr, cmd, fmt.Errorf("--%s %q: want a positive percentage like 10%% or a fraction like 0.10", x.flag, x.val))
		}
		*x.dst = v
	}
	opts.Params.Alpha = *alpha
	if err := opts.Params.Merge(diff.DefaultParams()).Validate(); err != nil {
		return fail(stderr, cmd, err)
	}

	base, cur, err := pf.compareSides(*basePath, *curPath, stderr)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	if len(base.Series) == 0 {
		return fail(stderr, cmd, fmt.Errorf("baseline %s holds no series; nothing to gate", *basePath))
	}
	if *config != "" {
		r, err := rules.Load(*config)
		if err != nil {
			return fail(stderr, cmd, err)
		}
		opts.Rules = r
	}
	res, err := gate.Compare(base, cur, opts)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	if err := report.WriteOutputs(stdout, *formats, *outputs, res); err != nil {
		return fail(stderr, cmd, err)
	}
	return res.Verdict.ExitCode(*inconclusive == "pass")
}

// loadSnapshots loads the baseline and the current snapshot at the same
// time: decoding (gunzip and JSON) is most of a compare's cost, and the two
// sides are independent. Errors say which side failed; a baseline error wins
// when both fail.
func loadSnapshots(basePath, curPath string) (base, cur *baseline.Snapshot, err error) {
	var curErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cur, curErr = baseline.Load(curPath)
	}()
	base, err = baseline.Load(basePath)
	<-done
	if err != nil {
		return nil, nil, fmt.Errorf("baseline: %w", err)
	}
	if curErr != nil {
		return nil, nil, fmt.Errorf("current: %w", curErr)
	}
	return base, cur, nil
}
