package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/profdiff/profdiff/pkg/diff"
)

// Text writes an aligned table, worst first: every regression, new hot path,
// ignored finding and improvement (callers whose cumulative increase a
// listed function explains are folded into its row: see
// diff.SeriesResult.Folded), one row per series that had none (with
// what it could have detected), one per inconclusive series (with the
// reason), then warnings and a one-line summary. Unchanged functions are in
// the JSON form, not here: a terminal is for what needs attention.
func Text(w io.Writer, r *diff.Result) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tTYPE\tFUNCTION\tMEASURE\tBASELINE\tCURRENT\tCHANGE\tVERDICT")
	for _, se := range r.Series {
		shown := 0
		for _, f := range se.Findings {
			if f.Kind == diff.KindUnchanged || se.Folded(f) {
				continue
			}
			shown++
			change := Evidence(f, se)
			if iv := Interval(f); iv != "" {
				change = Change(f.Change) + " " + iv + strings.TrimPrefix(change, Change(f.Change))
			}
			verdict := Verdict(f)
			if f.ExplainedBy != "" && f.ExplainedBy != f.Function {
				verdict += " (via " + ShortName(f.ExplainedBy) + ")"
			}
			if f.Kind == diff.KindIgnored && f.Rule != "" {
				verdict += " (" + f.Rule + ")"
			}
			if callers := se.Explains(f); len(callers) > 0 {
				verdict += " " + CallersNote(f, callers)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", se.Service, se.Alias, f.Function, f.Measure,
				Value(f.Baseline, SeriesNormalization(r, se), se.Unit), Value(f.Current, SeriesNormalization(r, se), se.Unit), change, verdict)
		}
		if shown > 0 {
			continue
		}
		switch {
		case se.Verdict == diff.Inconclusive:
			fmt.Fprintf(tw, "%s\t%s\t-\t\t\t\t?\tinconclusive: %s\n", se.Service, se.Alias, se.Reason)
		case se.NoBaseline:
			fmt.Fprintf(tw, "%s\t%s\t-\t\t\t\t\t%s\n", se.Service, se.Alias, se.Reason)
		default:
			fmt.Fprintf(tw, "%s\t%s\t-\t\t\t\t%s\tpass (%d tested)\n", se.Service, se.Alias, NoChange(se), se.Tested)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", warn)
	}
	fmt.Fprintf(bw, "\n%s\n", Headline(r))
	return bw.Flush()
}
