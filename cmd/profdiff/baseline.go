package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/profdiff/profdiff/pkg/baseline"
)

func init() {
	register(&command{name: "baseline", summary: "baseline accept: make a snapshot the new baseline", run: runBaseline})
}

const baselineUsage = `
Usage: profdiff baseline accept --from SNAPSHOT_DIR --to BASELINE_DIR

Loads and validates the snapshot in SNAPSHOT_DIR and writes it to
BASELINE_DIR as the new baseline, atomically: until the final rename the old
baseline stays whole, and if anything fails it is left untouched. Commit
BASELINE_DIR to git.

Example:
  profdiff baseline accept --from out/snapshot --to .profdiff/baseline
`

func runBaseline(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "accept" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fs := flagSet("baseline accept", baselineUsage, stdout)
			acceptFlags(fs)
			fs.Usage()
			return exitOK
		}
		return fail(stderr, "baseline", errors.New("want a subcommand: baseline accept --from SNAPSHOT_DIR --to BASELINE_DIR"))
	}
	fs := flagSet("baseline accept", baselineUsage, stdout)
	from, to := acceptFlags(fs)
	if code, done := parse(fs, args[1:], stderr); done {
		return code
	}
	switch {
	case *from == "" || *to == "":
		return fail(stderr, "baseline accept", errors.New("--from and --to are required"))
	case fs.NArg() > 0:
		return fail(stderr, "baseline accept", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	snap, err := baseline.Load(*from)
	if err != nil {
		return fail(stderr, "baseline accept", err)
	}
	if len(snap.Series) == 0 {
		return fail(stderr, "baseline accept", fmt.Errorf("snapshot %s holds no series; refusing to accept an empty baseline", *from))
	}
	if err := baseline.Write(*to, snap); err != nil {
		return fail(stderr, "baseline accept", err)
	}
	windows := 0
	for _, se := range snap.Series {
		windows += len(se.Windows)
	}
	fmt.Fprintf(stdout, "baseline %s: accepted %s (%d series, %d windows)\n", *to, *from, len(snap.Series), windows)
	return exitOK
}

func acceptFlags(fs interface {
	String(name, value, usage string) *string
}) (from, to *string) {
	from = fs.String("from", "", "snapshot directory to accept (required)")
	to = fs.String("to", "", "baseline directory to write (required)")
	return from, to
}
