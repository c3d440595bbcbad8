package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report/all"
)

func init() {
	register(&command{name: "report", summary: "render a saved JSON result in other formats (HTML, markdown, SARIF, …)", run: runReport})
}

// resultLimit bounds a JSON result read by report: a result of a whole bank
// stack run with its call trees is well under a MiB.
var resultLimit = inputfile.Limit{What: "a JSON result", Max: 256 << 20}

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("report", `
Usage: profdiff report --from RESULT.json [--format F[=FILE]]... [--output FILE]...
                      [--baseline DIR --current DIR] [--report-url URL]

Renders a result that profdiff compare wrote with --format json (or
json=FILE) in other formats, without comparing anything again: the HTML
report with its flame graphs, the markdown comment, SARIF, JUnit, GitHub
annotations or text, as compare would have written them from the same
comparison. A CI job can keep the JSON result as its artifact and render
the rest later. The markdown report's accept command names the snapshot
directories, which a result does not record: give them with --baseline and
--current.

Reports: as profdiff compare (--format F to standard output, --format
F=FILE, or --output FILE by its extension). Without either, the text report
goes to standard output.

Exit status: the result's own (0 no regression, 1 regression, 2
inconclusive, unless --inconclusive=pass), or 2 for an error.

Formats: `+strings.Join(all.Names(), ", ")+`

Example:
  profdiff compare --baseline base --current cur --format json=result.json
  profdiff report --from result.json --format html=report.html --format markdown=summary.md
`, stdout)
	from := fs.String("from", "", "the JSON result to render (gzipped or not)")
	formats := fs.StringArray("format", nil, "output format, or FORMAT=FILE (repeatable; default text to standard output)")
	outputs := fs.StringArray("output", nil, "file for the plain --format in the same position, or a file whose extension names its format (repeatable)")
	inconclusive := fs.String("inconclusive", "fail", "what an inconclusive result exits with: fail (2) or pass (0)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	const cmd = "report"
	switch {
	case fs.NArg() > 0:
		return fail(stderr, cmd, fmt.Errorf("unexpected argument %q; name the result with --from", fs.Arg(0)))
	case *from == "":
		return fail(stderr, cmd, errors.New("--from is required: the JSON result to render, as profdiff compare --format json=FILE wrote it"))
	case *inconclusive != "pass" && *inconclusive != "fail":
		return fail(stderr, cmd, fmt.Errorf("--inconclusive=%q: want pass or fail", *inconclusive))
	}
	outFormats, outFiles, err := outputPlan(*formats, *outputs)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	data, err := inputfile.Read(*from, resultLimit, inputfile.Options{Gunzip: true})
	if err != nil {
		return fail(stderr, cmd, err)
	}
	res, err := diff.ReadResult(bytes.NewReader(data))
	if err != nil {
		return fail(stderr, cmd, fmt.Errorf("%s: %w", *from, err))
	}
	if err := reportFormats(fs).WriteOutputs(stdout, outFormats, outFiles, res); err != nil {
		return fail(stderr, cmd, err)
	}
	return res.Verdict.ExitCode(*inconclusive == "pass")
}
