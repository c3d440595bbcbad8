// Package html writes a profdiff comparison as one self-contained HTML page:
// the summary table, the findings of each series, and for each regressed
// series a differential flame graph of the baseline against the current run.
//
// The page is meant to be uploaded as a CI artifact and opened from there,
// offline and years later, so it loads nothing: styles, script and data are
// inline, fonts are the system's, and there are no links off the page.
//
// The page opens with the causes (see diff.Cause), the same ones and the
// same counts as every other format, and right below them the flame graph of
// the headline cause's series. The flame graph merges both sides' call
// stacks into one tree. Each side is normalized to shares of its own total;
// a frame's width is its share of the current profile. Only functions whose
// change the comparison found credible (a listed finding of the series) are
// coloured — red grew, blue shrank, deeper the larger the change — and
// everything else is grey, so sampling noise does not paint the rest of the
// profile; frames only the baseline had are drawn hatched at their baseline
// width. Only causes are outlined. A frame's label is as much of its
// function's short name as fits, measured in the browser: the package is
// dropped first, then the start of the name behind an ellipsis, and no label
// is wider than its frame. Clicking a cause in the table zooms its graph to
// the cause's frame; hovering shows the full name, both values, the change
// and the finding with its interval, clicking a frame zooms into it, and the
// search box highlights the frames whose function matches and sums their
// share.
package html

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/profdiff/profdiff/internal/buildinfo"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

// Options tune the page. The zero value is usable.
type Options struct {
	// Title heads the page; empty means "profdiff report".
	Title string
	// AllSeries draws a flame graph for every series that has stacks, not
	// only for the regressed ones.
	AllSeries bool
	// MinFrameShare drops frames below this share of both sides' totals,
	// which keeps a large profile's page small and quick to draw; 0 means
	// DefaultMinFrameShare.
	MinFrameShare float64
	// RepoRoot and ModulePath shorten file names in tooltips and tables to
	// repository paths, as for SARIF (see sarif.Locator).
	RepoRoot   string
	ModulePath string
	// ToolVersion is shown in the footer; empty means the running build's.
	ToolVersion string
}

// DefaultMinFrameShare is 0.05% of the profile: a frame that narrow is under
// a pixel on a laptop screen.
const DefaultMinFrameShare = 0.0005

//go:embed report.tmpl
var pageTemplate string

//go:embed report.css
var pageCSS string

//go:embed report.js
var pageJS string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(pageTemplate))

// Write writes r to w as an HTML page.
func Write(w io.Writer, r *diff.Result, opts Options) error {
	if r == nil {
		return fmt.Errorf("html: nil result")
	}
	p := buildPage(r, opts)
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

// Renderer returns Write bound to opts, in the shape of a report format.
func Renderer(opts Options) func(io.Writer, *diff.Result) error {
	return func(w io.Writer, r *diff.Result) error { return Write(w, r, opts) }
}

type page struct {
	Title    string
	Verdict  string
	Headline string
	Compared string
	Base     sideMeta
	Cur      sideMeta
	Norm     string
	Summary  diff.Summary
	Warnings []string
	Notes    []string
	Rows     []*seriesRow
	Causes   []causeRow // failing and ignored causes
	Improved []causeRow // improvements
	Counts   string
	TopGraph *graphSection
	Graphs   []*graphSection
	Data     pageData
	Version  string
	CSS      template.CSS
	JS       template.JS
}

type sideMeta struct {
	Created, Commit, Source, Range, Version string
}

// pageData is what the page's script reads, embedded as JSON.
type pageData struct {
	Normalization string   `json:"normalization"`
	Graphs        []*flame `json:"graphs"`
}

type seriesRow struct {
	Service, Type, Verdict, Reason string
	Windows, Samples, Detectable   string
	Tested                         int
	Counts                         string
	GraphID                        string
	Graph                          *graphSection
	Findings                       []findingRow
}

// causeRow is one cause and profile type in the causes table.
type causeRow struct {
	N                                         int
	First                                     bool // first row of its cause
	Span                                      int  // rows of its cause
	Service, Function, Short, Type, Verdict   string
	KindClass, Measure, FromTo, Change, Stats string
	Folded, Location, GraphID                 string
}

type findingRow struct {
	Cause                                     string
	Function, Short, Kind, KindClass, Measure string
	Baseline, Current, Change, Range, P, Q    string
	Location, Rule                            string
}

type graphSection struct {
	ID, Service, Type, Verdict, Note string
	MinShare                         string
	Frames, Pruned                   int
}

func buildPage(r *diff.Result, opts Options) *page {
	loc := sarif.Locator{Root: opts.RepoRoot, Module: opts.ModulePath}
	minShare := opts.MinFrameShare
	if minShare <= 0 {
		minShare = DefaultMinFrameShare
	}
	p := &page{
		Title:    opts.Title,
		Verdict:  string(r.Verdict),
		Norm:     r.Normalization,
		Summary:  r.Summary,
		Warnings: r.Warnings,
		Notes:    r.Notes,
		Version:  opts.ToolVersion,
		CSS:      template.CSS(pageCSS),
		JS:       template.JS(pageJS),
		Base:     meta(r.Baseline),
		Cur:      meta(r.Current),
		Data:     pageData{Normalization: r.Normalization, Graphs: []*flame{}},
	}
	if p.Title == "" {
		p.Title = "profdiff report"
	}
	if p.Version == "" {
		p.Version = buildinfo.Version()
	}
	if p.Verdict == "" {
		p.Verdict = "unknown"
	}
	if !r.Compared.IsZero() {
		p.Compared = r.Compared.UTC().Format(time.RFC3339)
	}
	p.Headline = report.Headline(r)
	p.Counts = report.CountsPhrase(report.Counts(r))
	causes := report.Causes(r)
	causeOf := map[string]string{} // series, function, measure -> cause's short name
	for _, c := range causes {
		for _, cs := range c.Series {
			for _, f := range cs.Findings {
				causeOf[c.Service+"\x00"+cs.ProfileType+"\x00"+f.Function+"\x00"+string(f.Measure)] = report.Name(c.Function, false)
			}
		}
	}
	graphOf := map[*diff.SeriesResult]string{}
	inGraph := map[*diff.SeriesResult]map[string]bool{}
	for i, s := range r.Series {
		row := &seriesRow{
			Service:    s.Service,
			Type:       sarif.TypeName(s),
			Verdict:    string(s.Verdict),
			Reason:     s.Reason,
			Windows:    fmt.Sprintf("%d / %d", s.BaselineWindows, s.CurrentWindows),
			Samples:    fmt.Sprintf("%d / %d", s.BaselineSamples, s.CurrentSamples),
			Tested:     s.Tested,
			Detectable: "–",
		}
		if s.MinDetectable > 0 && !math.IsInf(s.MinDetectable, 0) {
			row.Detectable = report.Change(s.MinDetectable)
		}
		for _, f := range s.Findings {
			fr := findingRowOf(r, s, f, loc)
			fr.Cause = causeOf[s.Service+"\x00"+s.ProfileType+"\x00"+f.Function+"\x00"+string(f.Measure)]
			row.Findings = append(row.Findings, fr)
		}
		var n diff.CauseCounts
		var hot, credible []string
		for _, c := range causes {
			for _, cs := range c.Series {
				if r.SeriesOf(c, cs) != s {
					continue
				}
				n = addCount(n, c)
				if c.Failing || c.Kind == diff.KindIgnored {
					hot = append(hot, c.Function)
				}
				for _, f := range cs.Findings {
					credible = append(credible, f.Function)
				}
			}
		}
		row.Counts = "–"
		if n != (diff.CauseCounts{}) {
			row.Counts = report.CountsPhrase(n)
		}
		draw := s.Verdict == diff.Regression || opts.AllSeries
		tree := s.CallTree
		if draw && (tree == nil || minShare < tree.MinShare) {
			// A graph the result does not carry, or finer than it keeps:
			// fold it from the series' stacks, when the result has them.
			if t := diff.BuildCallTree(s, minShare); t != nil {
				tree = t
			}
		}
		if draw && tree != nil {
			id := fmt.Sprintf("flame-%d", i+1)
			names, files, root, frames, pruned := buildFlame(tree, loc, minShare)
			inGraph[s] = map[string]bool{}
			for _, n := range names {
				inGraph[s][n] = true
			}
			fl := &flame{
				ID: id, Service: s.Service, Type: sarif.TypeName(s),
				Names: names, Files: files, Root: root, Frames: frames, Pruned: pruned,
				Hot: indices(names, hot), Credible: indices(names, credible), Evidence: evidence(names, s),
			}
			fl.BaseTotal, fl.CurTotal = tree.BaseTotal, tree.CurTotal
			p.Data.Graphs = append(p.Data.Graphs, fl)
			g := &graphSection{ID: id, Service: s.Service, Type: sarif.TypeName(s), Verdict: string(s.Verdict), Frames: frames, Pruned: pruned,
				MinShare: strconv.FormatFloat(minShare*100, 'g', 3, 64) + "%"}
			if fl.BaseTotal == 0 || fl.CurTotal == 0 {
				g.Note = "One side has no stacks: the graph shows only the other."
			}
			row.GraphID, row.Graph = id, g
			graphOf[s] = id
		}
		p.Rows = append(p.Rows, row)
	}
	// The headline cause's graph goes to the top of the page, next to the
	// causes; the others stay with their series.
	if c := report.HeadlineCause(r); c != nil {
		top := r.SeriesOf(c, c.Series[0])
		for _, row := range p.Rows {
			if row.Graph != nil && graphOf[top] == row.GraphID {
				p.TopGraph, row.Graph = row.Graph, nil
			}
		}
	}
	for _, row := range p.Rows {
		if row.Graph != nil {
			p.Graphs = append(p.Graphs, row.Graph)
		}
	}
	for i, c := range causes {
		for j, cs := range c.Series {
			s := r.SeriesOf(c, cs)
			if s == nil {
				continue
			}
			f := cs.Finding
			cr := causeRow{
				N: i + 1, First: j == 0, Span: len(c.Series),
				Service: c.Service, Function: c.Function, Short: report.Name(c.Function, false), Type: cs.Alias,
				Verdict: report.CauseVerdict(c), KindClass: string(c.Kind), Measure: string(f.Measure),
				FromTo: report.FromTo(r, s, f), Change: report.ChangeWithInterval(f), Stats: report.Stats(f, s),
				Folded: report.Folded(cs, 3, false),
			}
			if inGraph[s][c.Function] {
				cr.GraphID = graphOf[s]
			}
			cr.Location = report.Location(loc, c)
			if c.Failing || c.Kind == diff.KindIgnored {
				p.Causes = append(p.Causes, cr)
			} else {
				p.Improved = append(p.Improved, cr)
			}
		}
	}
	return p
}

func addCount(n diff.CauseCounts, c *diff.Cause) diff.CauseCounts {
	switch {
	case c.Failing:
		n.Failing++
	case c.Kind == diff.KindIgnored:
		n.Ignored++
	case c.Kind == diff.KindImprovement:
		n.Improvements++
	}
	return n
}

// evidence words, by position in names, the listed findings of the series'
// functions: "self +28.0% [+22.3%, +34.0%], regression; cum +30.1% [+24.0%,
// +36.5%], regression".
func evidence(names []string, s *diff.SeriesResult) map[int32]string {
	at := make(map[string]int32, len(names))
	for i, n := range names {
		at[n] = int32(i)
	}
	out := map[int32]string{}
	for _, m := range []diff.Measure{diff.Self, diff.Cumulative} {
		for _, f := range s.Findings {
			i, ok := at[f.Function]
			if !ok || f.Kind == diff.KindUnchanged || f.Measure != m {
				continue
			}
			text := string(f.Measure) + " " + report.ChangeWithInterval(f) + ", " + kindLabel(f.Kind)
			if prev, ok := out[i]; ok {
				text = prev + "; " + text
			}
			out[i] = text
		}
	}
	return out
}

// indices returns the positions in names of the functions in fns.
func indices(names, fns []string) []int32 {
	want := map[string]bool{}
	for _, f := range fns {
		want[f] = true
	}
	out := []int32{}
	for i, n := range names {
		if want[n] {
			out = append(out, int32(i))
		}
	}
	return out
}

func meta(m diff.Meta) sideMeta {
	sm := sideMeta{Commit: m.GitCommit, Source: m.Source, Version: m.ProfdiffVersion}
	if !m.CreatedAt.IsZero() {
		sm.Created = m.CreatedAt.UTC().Format(time.RFC3339)
	}
	if !m.From.IsZero() && !m.Until.IsZero() {
		sm.Range = m.From.UTC().Format(time.RFC3339) + " – " + m.Until.UTC().Format(time.RFC3339)
	}
	return sm
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func findingRowOf(r *diff.Result, s *diff.SeriesResult, f diff.Finding, loc sarif.Locator) findingRow {
	name := f.Function
	if f.RawName != "" {
		name = f.RawName
	}
	row := findingRow{
		Function:  name,
		Short:     shortName(name),
		Kind:      kindLabel(f.Kind),
		KindClass: string(f.Kind),
		Measure:   string(f.Measure),
		Baseline:  report.Value(f.Baseline, seriesNorm(r, s), s.Unit),
		Current:   report.Value(f.Current, seriesNorm(r, s), s.Unit),
		Change:    report.Change(f.Change),
		P:         report.PValue("p", f.P),
		Q:         report.PValue("q", f.Q),
		Location:  fileLine(loc, f.File, f.Line),
		Rule:      f.Rule,
	}
	if f.Kind == diff.KindNewHotPath {
		row.Change = "new"
	}
	if (f.ChangeLow != 0 || f.ChangeHigh != 0) && !math.IsInf(f.ChangeLow, 0) && !math.IsInf(f.ChangeHigh, 0) {
		row.Range = report.Interval(f)
	}
	return row
}

func kindLabel(k diff.Kind) string {
	switch k {
	case diff.KindRegression:
		return "regression"
	case diff.KindNewHotPath:
		return "new hot path"
	case diff.KindImprovement:
		return "improvement"
	case diff.KindIgnored:
		return "ignored"
	case diff.KindUnchanged:
		return "unchanged"
	}
	return string(k)
}

// shortName drops the import path but keeps the package name:
// "github.com/org/repo/pkg.(*T).M" → "pkg.(*T).M".
func shortName(fn string) string {
	// The import path ends at the last "/" before the first "." that
	// follows it; a "/" inside a closure or generic argument list comes
	// later, after a "(" or "[".
	cut := len(fn)
	if i := strings.IndexAny(fn, "(["); i >= 0 {
		cut = i
	}
	if i := strings.LastIndex(fn[:cut], "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// seriesNorm is the series' normalization, or the run's when the series
// does not say.
func seriesNorm(r *diff.Result, s *diff.SeriesResult) string {
	if s != nil && s.Normalization != "" {
		return s.Normalization
	}
	return r.Normalization
}
