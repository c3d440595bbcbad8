package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/profdiff/profdiff/pkg/diff"
)

// DefaultWidth is the text report's width in columns: a wide terminal or a
// CI log, without wrapping.
const DefaultWidth = 160

// TextOptions tune the text report. The zero value is the default.
type TextOptions struct {
	// Width is the most columns a line may take; 0 means DefaultWidth.
	// Function names are written in full when the table fits, else
	// shortened (module path dropped, then the middle elided), and
	// long verdicts cut to fit, and notes wrap; the numeric columns are never
	// cut, so a table of long names may stay wider than a narrow Width.
	Width int
	// FullNames writes function names in full and never cuts a line; the
	// JSON form always has them.
	FullNames bool
}

// Text writes the text report with the default options.
func Text(w io.Writer, r *diff.Result) error { return TextWith(TextOptions{})(w, r) }

// TextWith returns the text renderer with opts.
//
// The report lists causes, not findings (see diff.Cause): one row per cause
// and profile type, failing causes first, the headline first among them,
// with what each folds (its callees and the callers it raises) on the line
// below; then one row per series without a cause (a pass with what it could
// have detected, or an inconclusive series with its reason); then warnings,
// the footnotes that say what the numbers mean, and the one-line summary.
func TextWith(opts TextOptions) RenderFunc {
	width := opts.Width
	if width <= 0 {
		width = DefaultWidth
	}
	return func(w io.Writer, r *diff.Result) error {
		bw := bufio.NewWriter(w)
		t := &table{header: []string{"SERVICE", "TYPE", "FUNCTION", "BASELINE", "CURRENT", "CHANGE [lo, hi]", "EVIDENCE", "VERDICT"}}
		causes := Causes(r)
		inCause := map[*diff.SeriesResult]bool{}
		for _, c := range causes {
			for i, cs := range c.Series {
				s := r.SeriesOf(c, cs)
				if s == nil {
					continue
				}
				inCause[s] = true
				f := cs.Finding
				norm := SeriesNormalization(r, s)
				service, verdict := c.Service, CauseVerdict(c)
				if i > 0 {
					service, verdict = "", `"`
				}
				note := Folded(cs, 3, opts.FullNames)
				if rule := IgnoredBy(c); rule != "" && i == 0 && !c.Failing {
					note = strings.TrimPrefix(note+"; rule: "+rule, "; ")
				}
				t.add([]string{service, cs.Alias, CauseName(c, cs, true), Value(f.Baseline, norm, s.Unit), Value(f.Current, norm, s.Unit),
					ChangeWithInterval(f), Stats(f, s), verdict}, note)
			}
		}
		for _, s := range r.Series {
			if inCause[s] {
				continue
			}
			switch {
			case s.Verdict == diff.Inconclusive:
				t.add([]string{s.Service, s.Alias, "-", "", "", "?", N(s), "inconclusive"}, s.Reason)
			case s.NoBaseline:
				t.add([]string{s.Service, s.Alias, "-", "", "", "", "", "not compared"}, s.Reason)
			default:
				verdict := fmt.Sprintf("pass (%d tested)", s.Tested)
				if s.MinDetectable > 0 {
					verdict = fmt.Sprintf("pass (%d tested, min detectable %s)", s.Tested, Change(s.MinDetectable))
				}
				t.add([]string{s.Service, s.Alias, "-", "", "", "~", N(s), verdict}, "")
			}
		}
		t.fit(width, opts.FullNames)
		t.write(bw, width, opts.FullNames)
		for _, note := range r.Notes {
			writeWrapped(bw, "note: "+note, "  ", width, opts.FullNames)
		}
		for _, warn := range r.Warnings {
			writeWrapped(bw, "warning: "+warn, "  ", width, opts.FullNames)
		}
		bw.WriteString("\n")
		writeWrapped(bw, TestFootnote+".", "  ", width, opts.FullNames)
		writeWrapped(bw, IntervalFootnote(r)+".", "  ", width, opts.FullNames)
		if m := Missed(r); m != "" && r.Verdict == diff.Pass {
			writeWrapped(bw, m, "  ", width, opts.FullNames)
		}
		bw.WriteString("\n")
		writeWrapped(bw, Headline(r), "  ", width, opts.FullNames)
		return bw.Flush()
	}
}

// table is a column-aligned table whose rows may carry a note, written on
// the line below the row, indented and wrapped.
type table struct {
	header []string
	rows   [][]string
	notes  []string
}

func (t *table) add(cells []string, note string) {
	t.rows = append(t.rows, cells)
	t.notes = append(t.notes, note)
}

func (t *table) widths() []int {
	ws := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			ws[i] = max(ws[i], utf8.RuneCountInString(c))
		}
	}
	return ws
}

// fit makes the rows fit width: function names in full when they fit, else
// without their module path (see Name), then elided in the middle; a
// verdict too long for its row moves its parenthesis to the row's note.
func (t *table) fit(width int, full bool) {
	if full {
		return
	}
	const fnCol, verdictCol, minFn = 2, 7, 24
	// A verdict's parenthesis can move to the note (below), so only its
	// first words count towards the width the other columns must fit.
	total := func() int {
		n := 0
		for _, w := range t.widths()[:verdictCol] {
			n += w + 2
		}
		v := len("VERDICT")
		for _, row := range t.rows {
			head, _, _ := strings.Cut(row[verdictCol], " (")
			v = max(v, utf8.RuneCountInString(head))
		}
		return n + v
	}
	if total() > width {
		for _, row := range t.rows {
			name, suffix := row[fnCol], ""
			if n, ok := strings.CutSuffix(name, " (cum)"); ok {
				name, suffix = n, " (cum)"
			}
			if name != "-" {
				row[fnCol] = Name(name, false) + suffix
			}
		}
	}
	if over := total() - width; over > 0 {
		ws := t.widths()
		limit := max(minFn, ws[fnCol]-over)
		for _, row := range t.rows {
			row[fnCol] = elide(row[fnCol], limit)
		}
	}
	// The verdict is the last column: only its own row gets longer. A
	// verdict that does not fit keeps its first words on the row and moves
	// its parenthesis to the note below.
	ws := t.widths()
	rest := 0
	for _, w := range ws[:verdictCol] {
		rest += w + 2
	}
	for i, row := range t.rows {
		v := row[verdictCol]
		if rest+utf8.RuneCountInString(v) <= width {
			continue
		}
		if head, tail, ok := strings.Cut(v, " ("); ok {
			row[verdictCol] = head
			t.notes[i] = strings.TrimSuffix(strings.TrimSuffix(tail, ")")+"; "+t.notes[i], "; ")
			v = head
		}
		row[verdictCol] = cut(v, max(len("new hot path"), width-rest))
	}
}

func (t *table) write(w *bufio.Writer, width int, full bool) {
	ws := t.widths()
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", ws[i]-utf8.RuneCountInString(c)+2))
			}
		}
		w.WriteString(strings.TrimRight(b.String(), " "))
		w.WriteByte('\n')
	}
	line(t.header)
	for i, row := range t.rows {
		line(row)
		if t.notes[i] != "" {
			writeWrapped(w, "    "+t.notes[i], "    ", width, full)
		}
	}
}

// elide shortens s to n runes by cutting its middle, where a Go function
// name's package and method survive: "bank.(*rules).…chRules".
func elide(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n || n < 5 {
		return s
	}
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

// cut shortens s to n runes, ending with "…".
func cut(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// writeWrapped writes s wrapped at width on spaces, continuation lines
// indented; a word longer than a line is cut unless full.
func writeWrapped(w *bufio.Writer, s, indent string, width int, full bool) {
	if full {
		w.WriteString(s)
		w.WriteByte('\n')
		return
	}
	lead := ""
	if i := len(s) - len(strings.TrimLeft(s, " ")); i > 0 {
		lead, s = s[:i], s[i:]
	}
	line := lead
	n := utf8.RuneCountInString(line)
	start := true
	for _, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if !start && n+1+wl > width {
			w.WriteString(line)
			w.WriteByte('\n')
			line, n, start = indent, utf8.RuneCountInString(indent), true
		}
		if !start {
			line += " "
			n++
		}
		if n+wl > width {
			word = cut(word, width-n)
			wl = width - n
		}
		line += word
		n += wl
		start = false
	}
	w.WriteString(line)
	w.WriteByte('\n')
}
