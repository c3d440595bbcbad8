// Package html writes a profdiff comparison as one self-contained HTML page:
// the summary table, the findings of each series, and for each regressed
// series a differential flame graph of the baseline against the current run.
//
// The page is meant to be uploaded as a CI artifact and opened from there,
// offline and years later, so it loads nothing: styles, script and data are
// inline, fonts are the system's, and there are no links off the page.
//
// The flame graph merges both sides' call stacks into one tree. Each side is
// normalized to shares of its own total; a frame's width is its share of the
// current profile, its colour how its share changed — red grew, blue shrank,
// deeper the larger the change, grey unchanged — and frames only the baseline
// had are drawn hatched at their baseline width. Hovering shows both values and
// the change, clicking zooms into a frame, and the search box highlights the
// frames whose function matches and sums their share.
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
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
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
	Rows     []*seriesRow
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

type findingRow struct {
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
	p.Headline = headline(r)
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
			row.Detectable = sarif.FormatChange(s.MinDetectable)
		}
		var nReg, nNew, nImp, nIgn int
		for _, f := range s.Findings {
			switch f.Kind {
			case diff.KindRegression:
				nReg++
			case diff.KindNewHotPath:
				nNew++
			case diff.KindImprovement:
				nImp++
			case diff.KindIgnored:
				nIgn++
			}
			row.Findings = append(row.Findings, findingRowOf(r, s, f, loc))
		}
		var parts []string
		for _, c := range []struct {
			n    int
			word string
		}{{nReg, "regressed"}, {nNew, "new hot"}, {nImp, "improved"}, {nIgn, "ignored"}} {
			if c.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c.n, c.word))
			}
		}
		row.Counts = strings.Join(parts, ", ")
		if row.Counts == "" {
			row.Counts = "–"
		}
		if (s.Verdict == diff.Regression || opts.AllSeries) && (s.Base != nil || s.Cur != nil) {
			id := fmt.Sprintf("flame-%d", i+1)
			names, files, root, frames, pruned := buildFlame(s.Base, s.Cur, loc, minShare)
			fl := &flame{
				ID: id, Service: s.Service, Type: sarif.TypeName(s),
				Names: names, Files: files, Root: root, Frames: frames, Pruned: pruned,
				Hot: []int32{},
			}
			fl.BaseTotal, fl.CurTotal = total(s.Base), total(s.Cur)
			hot := map[string]bool{}
			for _, f := range s.Findings {
				if sarif.Failing(f) {
					hot[f.Function] = true
				}
			}
			for i, n := range names {
				if hot[n] {
					fl.Hot = append(fl.Hot, int32(i))
				}
			}
			p.Data.Graphs = append(p.Data.Graphs, fl)
			g := &graphSection{ID: id, Service: s.Service, Type: sarif.TypeName(s), Verdict: string(s.Verdict), Frames: frames, Pruned: pruned,
				MinShare: strconv.FormatFloat(minShare*100, 'g', 3, 64) + "%"}
			if fl.BaseTotal == 0 || fl.CurTotal == 0 {
				g.Note = "One side has no stacks: the graph shows only the other."
			}
			p.Graphs = append(p.Graphs, g)
			row.GraphID, row.Graph = id, g
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

func total(se *baseline.Series) int64 {
	if se == nil {
		return 0
	}
	var t int64
	for _, st := range se.Stacks {
		t += st.Value
	}
	return t
}

func meta(m baseline.Meta) sideMeta {
	sm := sideMeta{Commit: m.GitCommit, Source: m.Source, Version: m.ProfdiffVersion}
	if !m.CreatedAt.IsZero() {
		sm.Created = m.CreatedAt.UTC().Format(time.RFC3339)
	}
	if !m.From.IsZero() && !m.Until.IsZero() {
		sm.Range = m.From.UTC().Format(time.RFC3339) + " – " + m.Until.UTC().Format(time.RFC3339)
	}
	return sm
}

func headline(r *diff.Result) string {
	s := r.Summary
	switch r.Verdict {
	case diff.Regression:
		parts := []string{}
		if s.Regressions > 0 {
			parts = append(parts, plural(s.Regressions, "regressed function", "regressed functions"))
		}
		if s.NewHotPaths > 0 {
			parts = append(parts, plural(s.NewHotPaths, "new hot path", "new hot paths"))
		}
		h := strings.Join(parts, " and ") + " in " + plural(s.Series, "series compared", "series compared")
		if s.Inconclusive > 0 {
			h += "; " + plural(s.Inconclusive, "series", "series") + " inconclusive"
		}
		return h
	case diff.Inconclusive:
		return fmt.Sprintf("%d of %d series inconclusive: missing data never passes", s.Inconclusive, s.Series)
	case diff.Pass:
		return fmt.Sprintf("no regression in %d series", s.Series)
	}
	return ""
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
		Baseline:  sarif.FormatValue(f.Baseline, seriesNorm(r, s), s.Unit),
		Current:   sarif.FormatValue(f.Current, seriesNorm(r, s), s.Unit),
		Change:    sarif.FormatChange(f.Change),
		P:         sarif.FormatP(f.P),
		Q:         sarif.FormatP(f.Q),
		Location:  fileLine(loc, f.File, f.Line),
		Rule:      f.Rule,
	}
	if f.Kind == diff.KindNewHotPath {
		row.Change = "new"
	}
	if (f.ChangeLow != 0 || f.ChangeHigh != 0) && !math.IsInf(f.ChangeLow, 0) && !math.IsInf(f.ChangeHigh, 0) {
		row.Range = sarif.FormatChange(f.ChangeLow) + " … " + sarif.FormatChange(f.ChangeHigh)
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
