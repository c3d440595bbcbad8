// Package github writes a profdiff comparison as GitHub Actions workflow
// commands ("--format github"): one ::error annotation per failing cause (see
// diff.Cause), placed where the SARIF result is (the function's file and
// line in the repository, else its nearest caller's there, else on the run),
// a ::notice per ignored cause, and ::warning annotations for inconclusive
// series and for warnings such as expired ignore rules.
//
// Annotations are what a reviewer sees first — in the checks tab and on the
// diff — so each names the function, the service, the profile type, the size
// of the change and the test's p and q, in the same words as the SARIF alert
// (see package sarif, whose Locator and Describe this package shares).
//
// GitHub shows at most 10 annotations of each level per step and 50 per job;
// causes come worst first, so the ones shown are the ones that matter.
package github

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

// Options tune the annotations. The zero value is usable.
type Options struct {
	// RepoRoot and ModulePath map profile file names to repository paths,
	// as for SARIF (see sarif.Locator). An annotation whose file cannot be
	// mapped is written without file and line, so that GitHub attaches it
	// to the run rather than dropping it.
	RepoRoot   string
	ModulePath string
}

// Write writes r to w as workflow command lines.
func Write(w io.Writer, r *diff.Result, opts Options) error {
	if r == nil {
		return fmt.Errorf("github: nil result")
	}
	bw := bufio.NewWriter(w)
	loc := sarif.Locator{Root: opts.RepoRoot, Module: opts.ModulePath}
	for _, c := range report.Causes(r) {
		switch {
		case c.Failing:
			props := fileProps(loc, c)
			props = append(props, prop{"title", title(r, c)})
			writeCommand(bw, "error", props, sarif.Describe(r, c))
		case c.Kind == diff.KindIgnored:
			// Not a failure, but a reviewer should see that a rule is
			// hiding one, and which.
			props := fileProps(loc, c)
			props = append(props, prop{"title", fmt.Sprintf("profdiff: ignored regression in %s", c.Service)})
			writeCommand(bw, "notice", props, sarif.Describe(r, c))
		}
	}
	for _, s := range r.Series {
		if s.Verdict != diff.Inconclusive {
			continue
		}
		reason := s.Reason
		if reason == "" {
			reason = "no reason given"
		}
		writeCommand(bw, "warning",
			[]prop{{"title", fmt.Sprintf("profdiff: %s %s inconclusive", s.Service, sarif.TypeName(s))}},
			fmt.Sprintf("%s %s is inconclusive: %s. Missing data never passes: fix the collection or rerun.", s.Service, sarif.TypeName(s), reason))
	}
	for _, msg := range r.Warnings {
		writeCommand(bw, "warning", []prop{{"title", "profdiff"}}, msg)
	}
	for _, msg := range r.Notes {
		writeCommand(bw, "notice", []prop{{"title", "profdiff"}}, msg)
	}
	if r.Verdict == diff.Pass {
		msg := fmt.Sprintf("No regression in %d series: %s.", r.Summary.Series, report.CountsPhrase(report.Counts(r)))
		if m := report.Missed(r); m != "" {
			msg += " " + m
		}
		writeCommand(bw, "notice", []prop{{"title", "profdiff: pass"}}, msg)
	}
	return bw.Flush()
}

// Renderer returns Write bound to opts, in the shape of a report format.
func Renderer(opts Options) func(io.Writer, *diff.Result) error {
	return func(w io.Writer, r *diff.Result) error { return Write(w, r, opts) }
}

type prop struct{ key, value string }

func fileProps(loc sarif.Locator, c *diff.Cause) []prop {
	file, line, _ := sarif.InRepo(loc, c)
	if file == "" {
		return nil
	}
	props := []prop{{"file", file}}
	if line >= 1 {
		props = append(props, prop{"line", strconv.FormatInt(line, 10)})
	}
	return props
}

func title(r *diff.Result, c *diff.Cause) string {
	var types []string
	for _, cs := range c.Series {
		types = append(types, cs.Alias)
	}
	if c.Kind == diff.KindNewHotPath {
		return fmt.Sprintf("profdiff: new hot path in %s (%s)", c.Service, strings.Join(types, ", "))
	}
	return fmt.Sprintf("profdiff: %s regression in %s", strings.Join(types, ", "), c.Service)
}

// writeCommand writes "::name k=v,k=v::message" with the values escaped.
func writeCommand(w *bufio.Writer, name string, props []prop, msg string) {
	w.WriteString("::")
	w.WriteString(name)
	for i, p := range props {
		if i == 0 {
			w.WriteByte(' ')
		} else {
			w.WriteByte(',')
		}
		w.WriteString(p.key)
		w.WriteByte('=')
		w.WriteString(EscapeProperty(p.value))
	}
	w.WriteString("::")
	w.WriteString(EscapeData(msg))
	w.WriteByte('\n')
}

// EscapeData escapes a workflow command's message the way the runner
// unescapes it (actions/toolkit's escapeData): "%" first, so that an escape
// sequence already in the text survives, then CR and LF, which would
// otherwise end the command.
func EscapeData(s string) string {
	return dataEscaper.Replace(s)
}

// EscapeProperty escapes a workflow command property value
// (actions/toolkit's escapeProperty): as EscapeData, plus ":" and ",", which
// separate the properties from the message and from each other. Go function
// names contain neither often, but file paths on Windows and generic type
// lists ("F[go.shape.int,go.shape.string]") do.
func EscapeProperty(s string) string {
	return propertyEscaper.Replace(s)
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)
