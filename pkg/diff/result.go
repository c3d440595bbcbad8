package diff

import (
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
)

// ResultSchemaVersion is the version of the JSON form of Result (see
// docs/json-schema.md). Fields are only added within a major version.
const ResultSchemaVersion = "1.3"

// Verdict is the outcome of a comparison, of one series or of the whole run.
// Its exit status follows diff(1): 0 pass, 1 regression, 2 inconclusive.
type Verdict string

// The verdicts, from best to worst for the purpose of the overall verdict:
// one regression anywhere makes the run a regression; otherwise any
// inconclusive series makes it inconclusive.
const (
	Pass         Verdict = "pass"
	Inconclusive Verdict = "inconclusive"
	Regression   Verdict = "regression"
)

// ExitCode returns the process exit status for the verdict: 0 pass,
// 1 regression, 2 inconclusive (or 0 when inconclusivePasses is set).
func (v Verdict) ExitCode(inconclusivePasses bool) int {
	switch v {
	case Pass:
		return 0
	case Regression:
		return 1
	}
	if inconclusivePasses {
		return 0
	}
	return 2
}

// Kind says what a finding is.
type Kind string

// The kinds of findings.
const (
	KindRegression  Kind = "regression"   // credible increase above threshold and floor: fails the run
	KindNewHotPath  Kind = "new_hot_path" // absent from the baseline, above the floor now: fails the run
	KindImprovement Kind = "improvement"  // credible decrease: reported, never fails
	KindUnchanged   Kind = "unchanged"    // tested, no credible change (listed for the top functions)
	KindIgnored     Kind = "ignored"      // would have failed, but a rule ignores it
)

// Measure says whether a finding is about a function's self value (time
// spent in its own code) or its cumulative value (including callees).
type Measure string

// The measures.
const (
	Self       Measure = "self"
	Cumulative Measure = "cum"
)

// Meta describes one compared side: the metadata its snapshot was recorded
// with (when and from where, which commit, the profdiff version). A Result
// carries both sides' so that a report can show them from the result alone.
type Meta = baseline.Meta

// Result is the outcome of comparing a current snapshot with a baseline.
type Result struct {
	SchemaVersion string          `json:"schema_version"`
	Verdict       Verdict         `json:"verdict"`
	Baseline      Meta            `json:"baseline"`
	Current       Meta            `json:"current"`
	Normalization string          `json:"normalization"` // "share", "rest", "rate", or "mixed" (see each series)
	Series        []*SeriesResult `json:"series"`        // worst first
	Summary       Summary         `json:"summary"`
	// Tested is how many tests (functions' self and cumulative values, over
	// every series) the false-discovery control covered: it is run-wide.
	Tested int `json:"tested"`
	// IntervalLevel is the two-sided confidence level of every finding's
	// ChangeLow..ChangeHigh interval.
	IntervalLevel float64 `json:"interval_level"`
	// Paired says the two sides were measured side by side in pairs of
	// runs (a duet, see PairingLabel): drift common to a pair cancelled.
	Paired bool `json:"paired,omitempty"`
	// Causes group the series' listed findings by what a developer has to
	// look at (see Cause), failing first, the headline first among them.
	Causes []*Cause `json:"causes"`
	// Warnings are things a user should act on that do not change the
	// verdict, e.g. an expired ignore rule.
	Warnings []string `json:"warnings,omitempty"`
	// Notes say how the comparison was set up where the caller chose for
	// the user and the choice bears on reading it: the window length and
	// where it came from (detected from the data, or a default). Nothing a
	// user must act on; that is a warning.
	Notes    []string  `json:"notes,omitempty"`
	Compared time.Time `json:"compared_at"`
}

// Summary counts what a Result holds.
type Summary struct {
	Series       int `json:"series"`
	Regressions  int `json:"regressions"`
	NewHotPaths  int `json:"new_hot_paths"`
	Improvements int `json:"improvements"`
	Inconclusive int `json:"inconclusive"`
	Ignored      int `json:"ignored"`
	// Causes counts Result.Causes: what reports count, where the counts
	// above count findings.
	Causes CauseCounts `json:"causes"`
}

// SeriesResult is the outcome for one (service, profile type).
type SeriesResult struct {
	Service     string  `json:"service"`
	ProfileType string  `json:"profile_type"` // full Pyroscope ID
	Alias       string  `json:"profile_type_alias"`
	Verdict     Verdict `json:"verdict"`
	// Normalization is how this series' values are expressed: "share",
	// "rest" (a ratio to the rest of the window's total) or "rate" (per
	// second).
	Normalization string `json:"normalization"`
	// Reason explains an inconclusive verdict in one sentence naming what is
	// missing, e.g. "no data in the current run" or "3 windows, need 4"; for
	// a NoBaseline pass it says why the series was not compared.
	Reason string `json:"reason,omitempty"`
	// NoBaseline marks a series the current run has but the baseline lacks:
	// it is reported (and warned about) but not compared, and passes.
	NoBaseline      bool   `json:"no_baseline,omitempty"`
	BaselineWindows int    `json:"baseline_windows"`
	CurrentWindows  int    `json:"current_windows"`
	BaselineSamples int64  `json:"baseline_samples"`
	CurrentSamples  int64  `json:"current_samples"`
	Unit            string `json:"unit"` // sample unit, e.g. "nanoseconds"
	// Tested is how many functions were above the floor and tested; the
	// false-discovery control is over these.
	Tested int `json:"tested"`
	// MinDetectable is the smallest relative increase (0.12 = +12%) of the
	// series' hottest function that this run could have detected, given the
	// windows' noise and the sample count: a pass says how much it could have
	// missed. 0 when not computed.
	MinDetectable float64 `json:"min_detectable_change,omitempty"`
	// Alpha is the series' false-discovery rate (a rule may set another for
	// one function), controlled over every test of the run. 0 when not
	// known (a result built by hand).
	Alpha float64 `json:"alpha,omitempty"`
	// RunNoise is the run-to-run drift the series' tests assumed; nil when
	// none was (one run a side and no floor).
	RunNoise *RunNoise `json:"run_noise,omitempty"`
	// Findings holds regressions, new hot paths, improvements, ignored
	// regressions and the top unchanged functions, worst first.
	Findings []Finding `json:"findings"`

	// CallTree is the series' differential call tree, for renderers that
	// draw flame graphs: set for every series that regressed (BuildCallTree
	// makes one for any other series of a result made by Compare).
	CallTree *CallTree `json:"call_tree,omitempty"`

	// Base and Cur are the compared series, for the cause model and
	// BuildCallTree; not part of the JSON form, so a result read back from
	// JSON has neither.
	Base *baseline.Series `json:"-"`
	Cur  *baseline.Series `json:"-"`
}

// RunNoise is the drift of a series' level from one run (process start)
// to the next that its tests assumed: one term for the whole series (see
// the model in stats.go).
type RunNoise struct {
	// RunDrift is the relative standard deviation of a run's level the
	// tests used (0.05 = ±5%): measured from the runs' totals under rate
	// normalization, or the floor (Params.MinRunDrift).
	RunDrift float64 `json:"run_drift"`
	// RunDriftFloored says RunDrift is the floor, because the measurement
	// came out below it or nothing could be measured.
	RunDriftFloored bool `json:"run_drift_floored,omitempty"`
	// Measured is the drift the runs showed, when they could show one
	// (rate normalization, two runs or more on a side), and DF its degrees
	// of freedom.
	Measured *float64 `json:"run_drift_measured,omitempty"`
	DF       float64  `json:"run_drift_df,omitempty"`
	// Runs counts the runs on both sides.
	Runs int `json:"runs"`
	// WindowFactor (at most 1) scales the windows' variance where whole
	// runs scatter less than the windows predict: allocation windows, which
	// Go publishes a GC cycle at a time. 1 when not measured (fewer than
	// three baseline runs).
	WindowFactor float64 `json:"window_factor,omitempty"`
	// OwnRuns counts the tests whose baseline runs scattered beyond what
	// the drift and their windows allow (a χ² check at 1%): they were
	// judged by their own runs alone.
	OwnRuns int `json:"own_runs,omitempty"`
}

// Finding is the comparison of one function in one series.
type Finding struct {
	Function string  `json:"function"`           // identity (normalized name)
	RawName  string  `json:"raw_name,omitempty"` // as the profile named it, when different
	File     string  `json:"file,omitempty"`
	Line     int64   `json:"line,omitempty"`
	Measure  Measure `json:"measure"`
	Kind     Kind    `json:"kind"`
	// Baseline and Current are the mean per-window value: a share of the
	// window total (0.031 = 3.1%), a ratio to the rest of the window's total
	// (0.818: 45% of the window against the other 55%) or a rate per second,
	// per the series' Normalization.
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	// Change is the relative change (Current-Baseline)/Baseline; +Inf is
	// written as null in JSON for a new hot path.
	Change float64 `json:"change"`
	// ChangeLow and ChangeHigh bound Change at Result.IntervalLevel: a
	// Wald interval on the log ratio, so never below -1 (-100%).
	ChangeLow  float64 `json:"change_low"`
	ChangeHigh float64 `json:"change_high"`
	P          float64 `json:"p"` // one-sided p-value of the test
	Q          float64 `json:"q"` // false-discovery-adjusted p-value over every test of the run
	// MinDetectable is the smallest relative increase of this function the
	// run would have detected with 80% power, threshold included.
	MinDetectable float64 `json:"min_detectable_change,omitempty"`
	// Rule names the rule whose threshold/floor/alpha applied, or the ignore
	// rule and its reason for KindIgnored.
	Rule string `json:"rule,omitempty"`
	// ExplainedBy names, for a cumulative regression, the function below it
	// in the call tree whose own regression accounts for most of the
	// increase: a caller's cumulative value grows when a callee slows, and
	// the callee is the one to look at. Empty when no callee explains it.
	ExplainedBy string `json:"explained_by,omitempty"`
	// Note says why a finding is not what its numbers alone suggest, e.g.
	// that a share fell only because another function grew.
	Note string `json:"note,omitempty"`
}

// Folded reports whether f is a finding that reports show under its cause
// rather than as a problem of its own: a cumulative regression (or one
// ignored with its cause) that another finding listed in the series
// explains. One slower function raises the cumulative value of every caller
// up to the goroutine's root; listing each as a regression would bury the
// one function to look at under a column of net/http frames.
func (s *SeriesResult) Folded(f Finding) bool {
	return causeOf(f, s.causeIndex()) >= 0
}

// Explains returns the findings of the series folded under f (see Folded),
// in the series' order: the callers whose cumulative increase f accounts
// for.
func (s *SeriesResult) Explains(f Finding) []Finding {
	idx := s.causeIndex()
	var out []Finding
	for _, c := range s.Findings {
		if i := causeOf(c, idx); i >= 0 && s.Findings[i].Function == f.Function && s.Findings[i].Measure == f.Measure {
			out = append(out, c)
		}
	}
	return out
}

// CallerNames returns the distinct functions other than f among folded (the
// findings Explains returns for f), in order: the callers whose cumulative
// increase f accounts for. f's own cumulative finding is not a caller.
func CallerNames(f Finding, folded []Finding) []string {
	var names []string
	seen := map[string]bool{f.Function: true}
	for _, c := range folded {
		if !seen[c.Function] {
			seen[c.Function] = true
			names = append(names, c.Function)
		}
	}
	return names
}

// causeIndex maps each function to its first listed finding that can
// explain others: any listed kind but unchanged, and not itself an
// explained cumulative finding. Explain points every caller at a root
// cause, never at another explained caller, so chains are not followed and
// folding cannot loop. A function's cumulative regression explained by its
// own self regression thus folds under that self finding: it is the same
// change, seen twice.
func (s *SeriesResult) causeIndex() map[string]int {
	idx := make(map[string]int, len(s.Findings))
	for i, c := range s.Findings {
		if c.Kind == KindUnchanged || c.Measure == Cumulative && c.ExplainedBy != "" {
			continue
		}
		if _, ok := idx[c.Function]; !ok {
			idx[c.Function] = i
		}
	}
	return idx
}

// causeOf returns the index of the finding that explains f, or -1.
func causeOf(f Finding, idx map[string]int) int {
	if f.ExplainedBy == "" || f.Measure != Cumulative {
		return -1
	}
	if i, ok := idx[f.ExplainedBy]; ok {
		return i
	}
	return -1
}
