package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
)

// Markdown writes a pull-request comment (or $GITHUB_STEP_SUMMARY): a
// headline, the findings that need attention, and the per-series table in a
// collapsed section so a green run stays short.
func Markdown(w io.Writer, r *diff.Result) error {
	bw := bufio.NewWriter(w)
	icon := map[diff.Verdict]string{diff.Pass: "✅", diff.Regression: "❌", diff.Inconclusive: "⚠️"}[r.Verdict]
	fmt.Fprintf(bw, "## %s profdiff: %s\n\n", icon, r.Verdict)
	fmt.Fprintf(bw, "%s\n\n", mdEscape(Headline(r)))
	for _, warn := range r.Warnings {
		fmt.Fprintf(bw, "> **Warning:** %s\n\n", mdEscape(warn))
	}
	var rows []string
	for _, se := range r.Series {
		for _, f := range se.Findings {
			if f.Kind == diff.KindUnchanged || se.Folded(f) {
				continue
			}
			verdict := Verdict(f)
			if Failing(f) {
				verdict = "**" + verdict + "**"
			}
			if f.ExplainedBy != "" && f.ExplainedBy != f.Function {
				verdict += " via `" + mdCode(f.ExplainedBy) + "`"
			}
			if f.Kind == diff.KindIgnored && f.Rule != "" {
				verdict += " (" + mdEscape(f.Rule) + ")"
			}
			if callers := se.Explains(f); len(callers) > 0 {
				verdict += " " + mdEscape(CallersNote(f, callers))
			}
			change := Change(f.Change)
			if iv := Interval(f); iv != "" {
				change += " " + iv
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | `%s` | %s | %s | %s | %s | %s %s, %s | %s |",
				mdEscape(se.Service), se.Alias, mdCode(f.Function), f.Measure,
				Value(f.Baseline, SeriesNormalization(r, se), se.Unit), Value(f.Current, SeriesNormalization(r, se), se.Unit),
				change, PValue("p", f.P), PValue("q", f.Q), N(se), verdict))
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(bw, "| service | type | function | measure | baseline | current | change | evidence | verdict |")
		fmt.Fprintln(bw, "|---|---|---|---|--:|--:|--:|---|---|")
		for _, row := range rows {
			fmt.Fprintln(bw, row)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "<details><summary>%s</summary>\n\n", plural(len(r.Series), "series compared", "series compared"))
	fmt.Fprintln(bw, "| service | type | verdict | windows | samples | tested | note |")
	fmt.Fprintln(bw, "|---|---|---|--:|--:|--:|---|")
	for _, se := range r.Series {
		note := se.Reason
		if note == "" && se.Verdict == diff.Pass {
			note = NoChange(se)
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %d+%d | %d+%d | %d | %s |\n", mdEscape(se.Service), se.Alias, se.Verdict,
			se.BaselineWindows, se.CurrentWindows, se.BaselineSamples, se.CurrentSamples, se.Tested, mdEscape(note))
	}
	fmt.Fprintf(bw, "\n</details>\n\n<sub>%s normalization; p: one-sided Welch t-test on per-window values, q: Benjamini–Hochberg over each series' tested functions; n: windows baseline+current.</sub>\n", r.Normalization)
	return bw.Flush()
}

// mdEscape keeps table cells intact and stops text from being read as markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", "\\|", "\n", " ", "*", "\\*", "_", "\\_", "<", "&lt;", ">", "&gt;", "`", "\\`")
	return r.Replace(s)
}

// mdCode prepares text for a code span inside a table cell.
func mdCode(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ").Replace(s)
}
