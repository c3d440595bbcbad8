// Package report renders a diff.Result for people and machines: text for a
// terminal, markdown for a pull-request comment, JSON with a versioned schema
// (docs/json-schema.md), and JUnit XML for CI test tabs. Other renderers
// (SARIF, GitHub annotations, HTML) live in subpackages; package all puts
// every format in one Formats for a repository. A program chooses the
// formats it offers and passes them where it writes reports: nothing
// registers itself, and nothing here reads the environment.
//
// Renderers follow benchstat's manner: numbers with the test's words beside
// them ("+34.2% (p=0.001 q=0.004, n=6+6)"), "~" for no credible change, and
// a pass that says what it could have missed ("min detectable +12%").
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
)

// RenderFunc writes one rendering of a result.
type RenderFunc func(w io.Writer, r *diff.Result) error

// Format is one report format: the name --format takes, a line for help
// texts, and its renderer.
type Format struct {
	Name        string
	Description string
	Render      RenderFunc
}

// Formats is the set of formats a program offers. The program chooses it
// and passes it where reports are written (Builtin, or the fuller set of
// package all, with the options it knows); no renderer registers itself.
type Formats []Format

// Builtin returns this package's formats, with their default options:
// text, markdown, json and junit.
func Builtin() Formats {
	return Formats{
		{"text", "aligned table for a terminal, worst first, with a one-line summary", Text},
		{"markdown", "pull-request comment or $GITHUB_STEP_SUMMARY", Markdown},
		{"json", "the full result, schema in docs/json-schema.md", JSON},
		{"junit", "JUnit XML, one test case per service and profile type", JUnit},
	}
}

// Add returns fs with f added. It panics when f's name is empty or taken,
// or it has no renderer: a programming error, found at start-up.
func (fs Formats) Add(f Format) Formats {
	if f.Name == "" || f.Render == nil {
		panic("report: format with empty name or nil renderer")
	}
	if _, ok := fs.lookup(f.Name); ok {
		panic("report: format " + f.Name + " added twice")
	}
	return append(fs[:len(fs):len(fs)], f)
}

// With returns fs with the renderer of format name replaced by render,
// keeping its description: how a program sets the options it knows (a
// repository, full names, an artifact URL). It panics when fs has no such
// format.
func (fs Formats) With(name string, render RenderFunc) Formats {
	i, ok := fs.lookup(name)
	if !ok || render == nil {
		panic("report: cannot set the renderer of format " + name)
	}
	out := append(Formats(nil), fs...)
	out[i].Render = render
	return out
}

func (fs Formats) lookup(name string) (int, bool) {
	for i, f := range fs {
		if f.Name == name {
			return i, true
		}
	}
	return 0, false
}

// Names returns the formats' names, sorted.
func (fs Formats) Names() []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

// Describe returns the description of a format, or "".
func (fs Formats) Describe(name string) string {
	if i, ok := fs.lookup(name); ok {
		return fs[i].Description
	}
	return ""
}

// Known reports whether fs has a format of that name.
func (fs Formats) Known(name string) bool {
	_, ok := fs.lookup(name)
	return ok
}

// Render writes r in the named format.
func (fs Formats) Render(w io.Writer, name string, r *diff.Result) error {
	i, ok := fs.lookup(name)
	if !ok {
		return fmt.Errorf("unknown format %q (known: %s)", name, strings.Join(fs.Names(), ", "))
	}
	if r == nil {
		return fmt.Errorf("report: nil result")
	}
	return fs[i].Render(w, r)
}

// The helpers below are exported for the other renderers, so all formats
// word numbers the same way.

// Value formats a mean per-window value: a share (or, under rest
// normalization, a ratio to the rest of the profile) as a percentage, a rate
// in the sample unit per second (CPU nanoseconds per second read as cores).
func Value(v float64, normalization, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if normalization != string(diff.Rate) {
		return Percent(v)
	}
	switch unit {
	case "nanoseconds":
		return fmt.Sprintf("%.3g cores", v/1e9)
	case "bytes":
		return bytesPerSecond(v)
	}
	return fmt.Sprintf("%.3g/s", v)
}

// Percent formats a share: 0.0512 → "5.12%".
func Percent(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.0001:
		return "<0.01%"
	case v < 0.1:
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func bytesPerSecond(v float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.3g %s", v, units[i])
}

// Change formats a relative change: +0.342 → "+34.2%", +Inf → "new".
func Change(c float64) string {
	switch {
	case math.IsInf(c, 1):
		return "new"
	case math.IsInf(c, -1) || math.IsNaN(c):
		return "-"
	case math.Abs(c) >= 10:
		return fmt.Sprintf("%+.0f%%", 100*c)
	}
	return fmt.Sprintf("%+.1f%%", 100*c)
}

// PValue formats a p- or q-value the way benchstat does, with a floor so
// that rounding never prints a certain-looking 0.
func PValue(name string, p float64) string {
	switch {
	case math.IsNaN(p):
		return name + "=?"
	case p < 0.001:
		return name + "<0.001"
	}
	return fmt.Sprintf("%s=%.3f", name, p)
}

// N formats the window counts: "n=8+8".
func N(s *diff.SeriesResult) string {
	return fmt.Sprintf("n=%d+%d", s.BaselineWindows, s.CurrentWindows)
}

// Evidence is the change in benchstat's words:
// "+34.2% (p=0.001 q=0.004, n=6+6)".
func Evidence(f diff.Finding, s *diff.SeriesResult) string {
	return fmt.Sprintf("%s (%s %s, %s)", Change(f.Change), PValue("p", f.P), PValue("q", f.Q), N(s))
}

// Interval formats the finding's interval: "[+21.0%, +47.3%]", or "" when
// there is none.
func Interval(f diff.Finding) string {
	if math.IsInf(f.Change, 0) || f.ChangeLow == f.ChangeHigh {
		return ""
	}
	return "[" + Change(f.ChangeLow) + ", " + Change(f.ChangeHigh) + "]"
}

// NoChange words a pass: "~ (n=8+8, min detectable +12%)".
func NoChange(s *diff.SeriesResult) string {
	if s.MinDetectable > 0 {
		return fmt.Sprintf("~ (%s, min detectable %s)", N(s), Change(s.MinDetectable))
	}
	return fmt.Sprintf("~ (%s)", N(s))
}

// Verdict words a finding's kind as the verdict column shows it.
func Verdict(f diff.Finding) string {
	switch f.Kind {
	case diff.KindNewHotPath:
		return "new hot path"
	case diff.KindIgnored:
		return "ignored"
	}
	return string(f.Kind)
}

// Headline is the one-line summary of a result, in causes, e.g.
// "REGRESSION: 1 failing cause, 0 ignored, 2 improvements in 3 series, 1
// inconclusive; headline: bank-fraud-service cpu bank.(*rules).Match +28.0%".
func Headline(r *diff.Result) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(string(r.Verdict)))
	b.WriteString(": ")
	b.WriteString(CountsPhrase(Counts(r)))
	fmt.Fprintf(&b, " in %s", plural(r.Summary.Series, "series", "series"))
	if r.Summary.Inconclusive > 0 {
		fmt.Fprintf(&b, ", %d inconclusive", r.Summary.Inconclusive)
	}
	if c := HeadlineCause(r); c != nil {
		cs := c.Series[0]
		fmt.Fprintf(&b, "; headline: %s %s %s %s", c.Service, cs.Alias, Name(c.Function, false), Change(cs.Finding.Change))
	}
	return b.String()
}

// HeadlineCause is the failing cause a one-line summary names, or nil: the
// one that credibly added the most cost (see diff.FindCauses).
func HeadlineCause(r *diff.Result) *diff.Cause {
	for _, c := range Causes(r) {
		if c.Failing {
			return c
		}
	}
	return nil
}

// Worst returns the headline cause's own finding and its series, or nil.
func Worst(r *diff.Result) (diff.Finding, *diff.SeriesResult) {
	c := HeadlineCause(r)
	if c == nil {
		return diff.Finding{}, nil
	}
	return c.Series[0].Finding, r.SeriesOf(c, c.Series[0])
}

// CallersNote says how many callers' cumulative regressions a finding
// explains, naming the nearest few, e.g. "(raises 3 callers: fraud.check,
// bank.(*Server).handle, …)". Reports print it in place of a row per caller.
func CallersNote(f diff.Finding, callers []diff.Finding) string {
	if len(callers) == 0 {
		return ""
	}
	const show = 2
	var names []string
	for _, c := range diff.CallerNames(f, callers) {
		names = append(names, ShortName(c))
	}
	if len(names) == 0 {
		return "(and its cumulative value)"
	}
	list := names
	if len(list) > show {
		list = append(list[:show:show], "…")
	}
	return fmt.Sprintf("(raises %s: %s)", plural(len(names), "caller", "callers"), strings.Join(list, ", "))
}

// Failing reports whether a finding fails the run.
func Failing(f diff.Finding) bool {
	return f.Kind == diff.KindRegression || f.Kind == diff.KindNewHotPath
}

// ShortName drops a function name's import path for places where the full
// name was already shown: "github.com/x/fraud.(*E).m" → "fraud.(*E).m".
func ShortName(name string) string {
	// The import path ends at the last slash before the first '(' or the
	// package's dot; function names have no slash after that.
	cut := name
	if i := strings.IndexByte(cut, '('); i >= 0 {
		cut = cut[:i]
	}
	if i := strings.LastIndexByte(cut, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// SeriesNormalization is how a series' values are expressed: the series'
// own normalization, or the run's when the series does not say.
func SeriesNormalization(r *diff.Result, se *diff.SeriesResult) string {
	if se != nil && se.Normalization != "" {
		return se.Normalization
	}
	return r.Normalization
}
