package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/all"
)

// reportFormats is every report format, set up for this run: file names
// mapped to the repository at $GITHUB_WORKSPACE in a GitHub Actions job,
// else the one holding the working directory, and compare's report flags
// applied (see addFormatFlags).
func reportFormats(fs *pflag.FlagSet) report.Formats {
	dir := os.Getenv("GITHUB_WORKSPACE")
	if dir == "" {
		dir, _ = os.Getwd()
	}
	loc := report.FindLocator(dir)
	formats := all.Formats(loc)
	flag := func(name string) string {
		if f := fs.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if fs.Lookup("full-names") == nil {
		return formats
	}
	full, _ := strconv.ParseBool(flag("full-names"))
	return formats.
		With("text", report.TextWith(report.TextOptions{FullNames: full})).
		With("markdown", report.MarkdownWith(report.MarkdownOptions{
			ReportURL: flag("report-url"), SnapshotDir: flag("current"), BaselineDir: flag("baseline"), Locator: loc,
		}))
}

// addFormatFlags adds the report flags to the commands that render reports
// (compare, report): --full-names for the text report, and --report-url, the
// HTML report's address that the markdown comment links. The markdown
// report's accept command names the run's --current and --baseline
// directories. reportFormats reads them all once the flags are parsed.
func addFormatFlags(cmd string, fs *pflag.FlagSet) {
	switch cmd {
	case "compare":
	case "report":
		// A saved result does not know the directories it was compared
		// from; the markdown report's accept command names them.
		fs.String("baseline", "", "markdown report: the baseline directory its accept command names")
		fs.String("current", "", "markdown report: the current snapshot directory its accept command names")
	default:
		return
	}
	fs.Var(&fullNames{}, "full-names", "text report: write function names in full, however wide the lines get (default: shortened to fit 160 columns)")
	fs.Lookup("full-names").NoOptDefVal = "true"
	fs.String("report-url", os.Getenv("PROFDIFF_REPORT_URL"), "markdown report: link the HTML report at this URL, e.g. the CI artifact's (env PROFDIFF_REPORT_URL)")
}

// fullNames is --full-names, a bool flag whose parse error names the flag.
type fullNames struct{ on bool }

func (f *fullNames) String() string { return strconv.FormatBool(f.on) }
func (f *fullNames) Type() string   { return "bool" }
func (f *fullNames) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	f.on = v
	return nil
}

// extFormats infers a report's format from its file's extension, for an
// --output without a --format; the longest suffix wins (.sarif.json is
// SARIF).
var extFormats = []struct{ ext, format string }{
	{".sarif.json", "sarif"},
	{".sarif", "sarif"},
	{".json", "json"},
	{".html", "html"},
	{".htm", "html"},
	{".md", "markdown"},
	{".markdown", "markdown"},
	{".xml", "junit"},
	{".txt", "text"},
}

// formatOf is the format an output file's extension names, or "".
func formatOf(file string) string {
	lower := strings.ToLower(file)
	for _, e := range extFormats {
		if strings.HasSuffix(lower, e.ext) && len(lower) > len(e.ext) {
			return e.format
		}
	}
	return ""
}

// outputPlan turns --format and --output into the formats to render and
// the file each goes to ("" for standard output), refusing what would
// clobber or mix reports:
//
//   - --format F=FILE names a format and its file in one flag (FILE "-" is
//     standard output);
//   - a plain --format F pairs with the --output in the same position among
//     the plain ones, as before (--format junit --output r.xml);
//   - an --output with no plain --format left to pair with takes the format
//     its extension names (.json, .html, .md, .xml for JUnit, .sarif,
//     .txt), and is refused when the extension names none;
//   - with neither, the text report goes to standard output.
//
// Two formats both to standard output would interleave into something no
// reader can parse, and two formats into one file would keep only the
// last: both are refused.
func outputPlan(formatFlags, outputFlags []string) (formats, files []string, err error) {
	var plain []int // indices into formats of the formats without a file
	for _, f := range formatFlags {
		name, file, hasFile := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !slices.Contains(all.Names(), name) {
			return nil, nil, fmt.Errorf("unknown format %q (known: %s)", name, strings.Join(all.Names(), ", "))
		}
		if hasFile && file == "" {
			return nil, nil, fmt.Errorf("--format %s: no file after =; write --format %s=FILE, or --format %s for standard output", f, name, name)
		}
		if !hasFile {
			plain = append(plain, len(formats))
		}
		if file == "-" {
			file = ""
		}
		formats = append(formats, name)
		files = append(files, file)
	}
	for i, out := range outputFlags {
		if out == "-" {
			out = ""
		}
		if i < len(plain) {
			files[plain[i]] = out
			continue
		}
		f := formatOf(out)
		if f == "" || !slices.Contains(all.Names(), f) {
			exts := make([]string, 0, len(extFormats))
			for _, e := range extFormats {
				exts = append(exts, e.ext)
			}
			what := fmt.Sprintf("--output %s", out)
			if out == "" {
				what = "--output -"
			}
			return nil, nil, fmt.Errorf("%s has no --format and its extension names none (%s); give one: --format json=%s", what, strings.Join(exts, ", "), orDash(out))
		}
		formats = append(formats, f)
		files = append(files, out)
	}
	if len(formats) == 0 {
		return []string{"text"}, []string{""}, nil
	}
	stdout, byFile := -1, map[string]int{}
	for i, file := range files {
		if file == "" {
			if stdout >= 0 {
				return nil, nil, fmt.Errorf("formats %s and %s would both go to standard output and mix; give all but one a file, e.g. --format %s=report%s",
					formats[stdout], formats[i], formats[i], extOf(formats[i]))
			}
			stdout = i
			continue
		}
		if j, dup := byFile[file]; dup {
			return nil, nil, fmt.Errorf("formats %s and %s would both be written to %s and only the last would stay; give each its own file", formats[j], formats[i], file)
		}
		byFile[file] = i
	}
	return formats, files, nil
}

// extOf is the usual extension of a format's file, for messages.
func extOf(format string) string {
	for _, e := range extFormats {
		if e.format == format && e.ext != ".sarif.json" {
			return e.ext
		}
	}
	return ".txt"
}

func orDash(s string) string {
	if s == "" {
		return "FILE"
	}
	return s
}
