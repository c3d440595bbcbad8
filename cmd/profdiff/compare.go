package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
	"github.com/profdiff/profdiff/pkg/report/all"
	"github.com/profdiff/profdiff/pkg/rules"
)

func init() {
	register(&command{name: "compare", summary: "compare a snapshot with the baseline; exit 1 on regression", run: runCompare})
}

func runCompare(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("compare", `
Usage: profdiff compare BASE CURRENT [--type TYPE]... [--format F[=FILE]]...
       profdiff compare --baseline DIR --current DIR [--config FILE] [--format F[=FILE]]...
       profdiff compare --baseline DIR --pyroscope URL --from T [--until T] [--selector S] ...
       profdiff compare --pyroscope URL --baseline-selector S --selector S --from T [--until T] ...
       profdiff compare --pyroscope URL --baseline-from T [--baseline-until T] --from T [--until T] ...

Compares the current side with the baseline, function by function, and
reports regressions (credible increase, at least the threshold, above the
floor), new hot paths, improvements and inconclusive series.

BASE and CURRENT, as pprof -diff_base and benchstat old new take them, are
each a pprof file (one window), a directory of pprof files (one per window,
*.pb.gz, *.pb, *.pprof) or a snapshot directory; no snapshot step is needed.
The profile type is read from the profiles (--type names it where they
cannot tell, e.g. block for a block profile). A side of one profile has no
window-to-window variance: it is judged on sampling noise alone, and the
report says so.

With --pyroscope the current side is collected from Pyroscope over
--from/--until (for the baseline's services and types). The baseline side is
then the --baseline directory, or collected from the same Pyroscope too:
with --baseline-selector alone over the same range (a duet by label: one
version against another, measured over the same wall-clock windows), or
over --baseline-from/--baseline-until (before and after a deploy).
`+strings.TrimPrefix(pyroscopeUsage, "\n")+`
Reports: --format F writes format F to standard output; --format F=FILE
writes it to FILE; --output FILE after a plain --format F pairs with it (the
nth --output with the nth plain --format), and an --output with no format to
pair takes the format its extension names (.json, .html, .md, .xml for
JUnit, .sarif, .txt). Only one format may go to standard output. Files are
written atomically. Without either, the text report goes to standard output.

Exit status: 0 no regression, 1 regression, 2 error or inconclusive
(--inconclusive=pass turns inconclusive into 0; an error is always 2).

Formats: `+strings.Join(all.Names(), ", ")+`

Example:
  profdiff compare base.pb.gz current.pb.gz
  profdiff compare --baseline testdata/sample/baseline --current testdata/sample/regressed \
      --config testdata/sample/profdiff.yaml --format text --format junit=report.xml
  profdiff compare --url http://127.0.0.1:4040 --from now-15m --until now \
      --baseline-selector '{version="base"}' --query '{version="pr"}' --format markdown=summary.md
`, stdout)
	basePath := fs.String("baseline", "", "baseline snapshot directory")
	curPath := fs.String("current", "", "current snapshot directory")
	config := fs.String("config", "", "rules file (YAML); see pkg/rules")
	formats := fs.StringArray("format", nil, "output format, or FORMAT=FILE (repeatable; default text to standard output)")
	outputs := fs.StringArray("output", nil, "file for the plain --format in the same position, or a file whose extension names its format (repeatable)")
	inconclusive := fs.String("inconclusive", "fail", "what an inconclusive result exits with: fail (2) or pass (0)")
	normalize := fs.String("normalize", "auto", "auto (rate per second when both snapshots record the same fixed load rate, else share), share of each window's total, rest (ratio to the rest of the window's total), or rate per second (needs a fixed load rate)")
	threshold := fs.String("threshold", "", "smallest relative increase that fails, e.g. 10% (overrides the rules file's default)")
	floor := fs.String("floor", "", "smallest share of the profile that can fail, e.g. 1%")
	alpha := fs.Float64("alpha", 0, "false-discovery rate over every function the run tests: the A/A false-alarm rate per run (default 0.05)")
	maxMiB := fs.Int("max-profile-mib", defaultMaxProfileMiB, "BASE CURRENT: refuse a pprof file larger than this many MiB, read or decompressed")
	pf := addPyroscopeFlags(fs, true)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	const cmd = "compare"
	if err := pf.resolveNames(); err != nil {
		return fail(stderr, cmd, err)
	}
	positional := fs.NArg() > 0
	switch {
	case fs.NArg() == 1 || fs.NArg() > 2:
		return fail(stderr, cmd, fmt.Errorf("want two inputs, BASE and CURRENT (pprof files, directories of them, or snapshots), not %d; or name them with --baseline and --current", fs.NArg()))
	case positional && (*basePath != "" || *curPath != ""):
		return fail(stderr, cmd, errors.New("give the two sides either as BASE CURRENT or as --baseline and --current, not both"))
	case positional && (pf.url != "" || pf.from != "" || pf.baseFrom != ""):
		return fail(stderr, cmd, errors.New("BASE CURRENT are files or directories; collecting from Pyroscope takes --from (and --baseline DIR or --baseline-selector) instead"))
	case !positional && pf.url == "" && pf.from == "" && (*basePath == "" || *curPath == ""):
		return fail(stderr, cmd, errors.New("--baseline and --current are required (or BASE CURRENT, or --pyroscope, see --help)"))
	case *maxMiB < 1 || *maxMiB > 4096:
		return fail(stderr, cmd, fmt.Errorf("--max-profile-mib %d: want 1 to 4096", *maxMiB))
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
	outFormats, outFiles, err := outputPlan(*formats, *outputs)
	if err != nil {
		return fail(stderr, cmd, err)
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
	if *config != "" {
		r, err := rules.Load(*config)
		if err != nil {
			return fail(stderr, cmd, err)
		}
		opts.Rules = r
	}

	var base, cur *baseline.Snapshot
	var notes, warnings []string
	if positional {
		profileLimit.Max = int64(*maxMiB) << 20
		var bin, cin *input
		base, cur, bin, cin, err = loadInputs(fs.Arg(0), fs.Arg(1), pf)
		if err != nil {
			return fail(stderr, cmd, err)
		}
		nb, nc := windows(bin, base), windows(cin, cur)
		if w := fewWindowsWarning(nb, nc); w != "" {
			warnings = append(warnings, w)
		}
		// Fewer windows than the gate's default are judged, not refused:
		// the two inputs are all there is, and the warning says what the
		// test can see in them.
		if m := min(nb, nc); m < diff.DefaultMinWindows {
			opts.Params.MinWindows = max(m, 1)
		}
		// The markdown report's accept command names snapshot directories.
		if bin.snapshot {
			*basePath = fs.Arg(0)
		}
		if cin.snapshot {
			*curPath = fs.Arg(1)
		}
	} else {
		base, cur, notes, err = pf.compareSides(*basePath, *curPath, stderr)
		if err != nil {
			return fail(stderr, cmd, err)
		}
	}
	if len(base.Series) == 0 {
		what := *basePath
		if positional {
			what = fs.Arg(0)
		}
		return fail(stderr, cmd, fmt.Errorf("baseline %s holds no series; nothing to gate", what))
	}
	res, err := gate.Compare(base, cur, opts)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	res.Warnings = append(warnings, res.Warnings...)
	res.Notes = append(notes, res.Notes...)
	if err := reportFormats(fs).WriteOutputs(stdout, outFormats, outFiles, res); err != nil {
		return fail(stderr, cmd, err)
	}
	return res.Verdict.ExitCode(*inconclusive == "pass")
}

// loadInputs reads BASE and CURRENT (see input) at the same time: parsing
// pprof is most of a direct compare's cost, and the sides are independent.
// It returns the snapshots and the inputs they were read from.
func loadInputs(basePath, curPath string, pf *pyroscopeFlags) (base, cur *baseline.Snapshot, bin, cin *input, err error) {
	if bin, err = openInput("baseline", basePath); err != nil {
		return nil, nil, nil, nil, err
	}
	if cin, err = openInput("current", curPath); err != nil {
		return nil, nil, nil, nil, err
	}
	var ids []profiletype.ID
	if len(pf.types) > 0 {
		if ids, err = profiletype.ParseList(pf.types); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("--type: %w", err)
		}
	}
	services := splitList(pf.services)
	if len(services) > 1 {
		return nil, nil, nil, nil, errors.New("--service: BASE CURRENT compare one service; give it once")
	}
	service := ""
	if len(services) == 1 {
		service = services[0]
	}
	var curErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cur, curErr = readInput(cin, service, ids)
	}()
	base, err = readInput(bin, service, ids)
	<-done
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("baseline %w", err)
	}
	if curErr != nil {
		return nil, nil, nil, nil, fmt.Errorf("current %w", curErr)
	}
	// A pprof side names its series after the other side's service when
	// that side is a snapshot of one service.
	for _, x := range []struct {
		in, otherIn *input
		snap, other *baseline.Snapshot
	}{{bin, cin, base, cur}, {cin, bin, cur, base}} {
		if service == "" && !x.in.snapshot && x.otherIn.snapshot {
			if svcs := x.other.Services(); len(svcs) == 1 {
				for _, se := range x.snap.Series {
					se.Service = svcs[0]
				}
			}
		}
	}
	if !bin.snapshot && !cin.snapshot && len(ids) == 0 {
		if b, c := typesOf(base), typesOf(cur); b != c {
			return nil, nil, nil, nil, fmt.Errorf("the baseline holds %s profiles and the current side %s profiles; compare like with like (or name the type with --type)", b, c)
		}
	}
	return base, cur, bin, cin, nil
}

// typesOf lists a snapshot's profile types by alias, for messages.
func typesOf(s *baseline.Snapshot) string {
	var out []string
	for _, id := range seriesTypes(s) {
		out = append(out, id.Alias())
	}
	return strings.Join(out, ", ")
}

// defaultService names the series of pprof inputs when --service does not:
// a pprof profile carries no service name.
const defaultService = "profile"

// readInput reads one side. Errors begin with the path (the caller puts
// the side before it).
func readInput(in *input, service string, ids []profiletype.ID) (*baseline.Snapshot, error) {
	if in.snapshot {
		return baseline.Load(in.path)
	}
	if service == "" {
		service = defaultService
	}
	snap := &baseline.Snapshot{}
	if _, err := reduce.AddProfileFilesDetect(snap, service, ids, in.files, profileLimit, detectTypes); err != nil {
		return nil, err
	}
	fillMeta(&snap.Meta, snap, "pprof "+in.path)
	return snap, nil
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
