package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/rules"
)

func init() {
	register(&command{name: "baseline", summary: "baseline accept: make a snapshot the new baseline", run: runBaseline})
}

const baselineUsage = `
Usage: profdiff baseline accept --from SNAPSHOT_DIR [--from SNAPSHOT_DIR ...] --to BASELINE_DIR [--config FILE]

Loads and validates the snapshot in SNAPSHOT_DIR and writes it to
BASELINE_DIR as the new baseline, atomically: until the final rename the old
baseline stays whole, and if anything fails it is left untouched. Commit
BASELINE_DIR to git.

Several --from snapshots, each collected from an independent run of the
same build (a fresh deploy or process start), make one baseline whose
windows are numbered by run. A process's level drifts from one start to
the next, which the windows of one run cannot show; from two runs on,
compare measures that drift per series (see docs/verdict-quality.md). One
snapshot cannot show it at all.

Series the gate could never judge are left out, each named with the
reason: those the rules (--config, over the gate's defaults) ignore as a
whole, and those too thin to gate even against themselves.

Example:
  profdiff baseline accept --from out/snapshot --to .profdiff/baseline
  profdiff baseline accept --from run1 --from run2 --from run3 --from run4 --to .profdiff/baseline
`

func runBaseline(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "accept" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fs := flagSet("baseline accept", baselineUsage, stdout)
			acceptFlags(fs)
			fs.Usage()
			return exitOK
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return fail(stderr, "baseline", fmt.Errorf("unknown subcommand %q; the one subcommand is accept: baseline accept --from SNAPSHOT_DIR [--from ...] --to BASELINE_DIR", args[0]))
		}
		return fail(stderr, "baseline", errors.New("want a subcommand: baseline accept --from SNAPSHOT_DIR [--from ...] --to BASELINE_DIR"))
	}
	fs := flagSet("baseline accept", baselineUsage, stdout)
	from, to := acceptFlags(fs)
	config := fs.String("config", "", "rules file (YAML) whose whole-series ignores leave series out, as compare --config")
	if code, done := parse(fs, args[1:], stderr); done {
		return code
	}
	switch {
	case len(*from) == 0 || *to == "":
		return fail(stderr, "baseline accept", errors.New("--from and --to are required"))
	case fs.NArg() > 0:
		return fail(stderr, "baseline accept", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	var runs []*baseline.Snapshot
	for _, dir := range *from {
		snap, err := baseline.Load(dir)
		if err != nil {
			return fail(stderr, "baseline accept", err)
		}
		if len(snap.Series) == 0 {
			return fail(stderr, "baseline accept", fmt.Errorf("snapshot %s holds no series; refusing to accept an empty baseline", dir))
		}
		runs = append(runs, snap)
	}
	snap := runs[0]
	if len(runs) > 1 {
		var err error
		if snap, err = baseline.MergeRuns(runs...); err != nil {
			return fail(stderr, "baseline accept", err)
		}
		if snap.Meta.Labels == nil {
			snap.Meta.Labels = map[string]string{}
		}
		snap.Meta.Labels["baseline_runs"] = fmt.Sprint(len(runs))
	}
	var gopts gate.Options
	if *config != "" {
		r, err := rules.Load(*config)
		if err != nil {
			return fail(stderr, "baseline accept", err)
		}
		gopts.Rules = r
	}
	kept, dropped, err := gate.Prune(snap, gopts)
	if err != nil {
		return fail(stderr, "baseline accept", err)
	}
	if len(kept.Series) == 0 {
		return fail(stderr, "baseline accept", fmt.Errorf("no series of %s can be gated (%s); record longer or under more load", strings.Join(*from, ", "), strings.Join(dropped, "; ")))
	}
	for _, d := range dropped {
		fmt.Fprintf(stdout, "not gated: %s\n", d)
	}
	snap = kept
	if err := baseline.Write(*to, snap); err != nil {
		return fail(stderr, "baseline accept", err)
	}
	windows := 0
	for _, se := range snap.Series {
		windows += len(se.Windows)
	}
	what := (*from)[0]
	if len(runs) > 1 {
		what = fmt.Sprintf("%d runs (%s)", len(runs), strings.Join(*from, ", "))
	}
	fmt.Fprintf(stdout, "baseline %s: accepted %s (%d series, %d windows)\n", *to, what, len(snap.Series), windows)
	return exitOK
}

func acceptFlags(fs interface {
	String(name, value, usage string) *string
	StringArray(name string, value []string, usage string) *[]string
}) (from *[]string, to *string) {
	from = fs.StringArray("from", nil, "snapshot directory to accept (required; repeat it for the runs of a multi-run baseline)")
	to = fs.String("to", "", "baseline directory to write (required)")
	return from, to
}
