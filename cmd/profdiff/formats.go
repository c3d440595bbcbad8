package main

import (
	"io"
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/all"
)

// The formats that map profile file names to repository paths are
// registered for the repository profdiff runs in.
func init() { all.Register() }

// addFormatFlags adds the report flags to the commands that render reports
// (compare): --full-names for the text report, and --report-url, the HTML
// report's address that the markdown comment links. The markdown report's
// accept command names the run's --current and --baseline directories,
// read when it renders.
func addFormatFlags(cmd string, fs *pflag.FlagSet) {
	if cmd != "compare" {
		return
	}
	fs.Var(&fullNames{}, "full-names", "text report: write function names in full, however wide the lines get (default: shortened to fit 160 columns)")
	fs.Lookup("full-names").NoOptDefVal = "true"
	url := fs.String("report-url", os.Getenv("PROFDIFF_REPORT_URL"), "markdown report: link the HTML report at this URL, e.g. the CI artifact's (env PROFDIFF_REPORT_URL)")
	flag := func(name string) string {
		if f := fs.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	loc := all.Locator()
	_ = report.Configure("markdown", func(w io.Writer, r *diff.Result) error {
		return report.MarkdownWith(report.MarkdownOptions{ReportURL: *url, SnapshotDir: flag("current"), BaselineDir: flag("baseline"), Locator: loc})(w, r)
	})
	_ = report.Configure("text", report.Text)
}

// fullNames is --full-names: setting it switches the text format to full
// names at once, so that no other code has to pass the flag along.
type fullNames struct{ on bool }

func (f *fullNames) String() string { return strconv.FormatBool(f.on) }
func (f *fullNames) Type() string   { return "bool" }
func (f *fullNames) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	f.on = v
	return report.Configure("text", report.TextWith(report.TextOptions{FullNames: v}))
}
