package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
)

// MarkdownOptions tune the markdown report. The zero value is usable.
type MarkdownOptions struct {
	// ReportURL, when set, is linked as the HTML report (a CI artifact).
	ReportURL string
	// SnapshotDir and BaselineDir fill in the accept command; empty ones
	// are written as placeholders.
	SnapshotDir, BaselineDir string
	// Locator maps file names to repository paths for file:line.
	Locator Locator
}

// Markdown writes the markdown report with the default options.
func Markdown(w io.Writer, r *diff.Result) error { return MarkdownWith(MarkdownOptions{})(w, r) }

// MarkdownWith returns the markdown renderer with opts: a pull-request
// comment or $GITHUB_STEP_SUMMARY. Causes come first, each with its
// service, profile types, function, file:line, baseline → current, change
// with interval and test, what it folds, and what to do about it (the
// command that accepts it into the baseline and an ignore-rule stub). Then
// improvements in one table, the per-series table in a collapsed section,
// and the footnotes. A pass says in one line what it could have missed.
func MarkdownWith(opts MarkdownOptions) RenderFunc {
	return func(w io.Writer, r *diff.Result) error {
		bw := bufio.NewWriter(w)
		icon := map[diff.Verdict]string{diff.Pass: "✅", diff.Regression: "❌", diff.Inconclusive: "⚠️"}[r.Verdict]
		fmt.Fprintf(bw, "## %s profdiff: %s\n\n", icon, r.Verdict)
		fmt.Fprintf(bw, "%s\n\n", mdEscape(Headline(r)))
		if opts.ReportURL != "" {
			fmt.Fprintf(bw, "[HTML report with flame graphs](%s)\n\n", strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(opts.ReportURL))
		}
		if r.Verdict == diff.Pass {
			if m := Missed(r); m != "" {
				fmt.Fprintf(bw, "%s\n\n", mdEscape(m))
			}
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(bw, "> **Warning:** %s\n\n", mdEscape(warn))
		}
		for _, note := range r.Notes {
			fmt.Fprintf(bw, "Note: %s\n\n", mdEscape(note))
		}
		var improvements []*diff.Cause
		n := 0
		for _, c := range Causes(r) {
			if !c.Failing && c.Kind != diff.KindIgnored {
				improvements = append(improvements, c)
				continue
			}
			n++
			mdCause(bw, r, c, n, opts)
		}
		if len(improvements) > 0 {
			fmt.Fprintf(bw, "### %s\n\n", plural(len(improvements), "improvement", "improvements"))
			fmt.Fprintln(bw, "| service | type | function | baseline → current | change [lo, hi] | evidence |")
			fmt.Fprintln(bw, "|---|---|---|--:|--:|---|")
			for _, c := range improvements {
				for _, cs := range c.Series {
					s := r.SeriesOf(c, cs)
					if s == nil {
						continue
					}
					f := cs.Finding
					fmt.Fprintf(bw, "| %s | %s | `%s` | %s | %s | %s |\n", mdEscape(c.Service), cs.Alias, mdCode(CauseName(c, cs, false)),
						FromTo(r, s, f), ChangeWithInterval(f), Stats(f, s))
				}
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
		fmt.Fprintf(bw, "\n</details>\n\n<sub>%s normalization. %s. %s.</sub>\n", r.Normalization, TestFootnote, IntervalFootnote(r))
		return bw.Flush()
	}
}

func mdCause(bw *bufio.Writer, r *diff.Result, c *diff.Cause, n int, opts MarkdownOptions) {
	icon := "❌"
	if !c.Failing {
		icon = "➖"
	}
	var types []string
	for _, cs := range c.Series {
		types = append(types, cs.Alias)
	}
	fmt.Fprintf(bw, "### %d. %s `%s` in %s (%s): %s\n\n", n, icon, mdCode(Name(displayName(c.Function, c.RawName), false)), mdEscape(c.Service),
		strings.Join(types, ", "), mdEscape(CauseVerdict(c)))
	where := "`" + mdCode(displayName(c.Function, c.RawName)) + "`"
	if at := Location(opts.Locator, c); at != "" {
		where += " at `" + mdCode(at) + "`"
	}
	if rule := IgnoredBy(c); rule != "" && !c.Failing {
		where += " · ignored by " + mdEscape(rule)
	}
	fmt.Fprintf(bw, "%s\n\n", where)
	fmt.Fprintln(bw, "| type | measure | baseline → current | change [lo, hi] | evidence |")
	fmt.Fprintln(bw, "|---|---|--:|--:|---|")
	var folded []string
	for _, cs := range c.Series {
		s := r.SeriesOf(c, cs)
		if s == nil {
			continue
		}
		f := cs.Finding
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", cs.Alias, f.Measure, FromTo(r, s, f), ChangeWithInterval(f), Stats(f, s))
		if fo := Folded(cs, 3, false); fo != "" {
			folded = append(folded, cs.Alias+": "+fo)
		}
	}
	fmt.Fprintln(bw)
	for _, fo := range folded {
		fmt.Fprintf(bw, "- %s\n", mdEscape(fo))
	}
	if len(folded) > 0 {
		fmt.Fprintln(bw)
	}
	if !c.Failing {
		return // already accepted by a rule: nothing to do
	}
	fmt.Fprintf(bw, "<details><summary>Accept or ignore it</summary>\n\n")
	fmt.Fprintf(bw, "If the cost is intended, make this run the baseline and commit it:\n\n```sh\n%s\n```\n\n", AcceptCommand(opts.SnapshotDir, opts.BaselineDir))
	fmt.Fprintf(bw, "Or accept it for now in the rules file (`--config`), with a real reason:\n\n```yaml\n%s```\n\n</details>\n\n", IgnoreStub(r, c))
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
