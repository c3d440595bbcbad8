// Package diff is profdiff's comparison engine: it decides, from a baseline
// snapshot and a current one, which functions regressed, which improved, and
// which series cannot be judged. It is pure computation: no I/O, no clock
// beyond stamping the result. Policy — defaults, which normalization, which
// series a baseline keeps, when a load makes a run inconclusive — is
// pkg/gate's; every entry point goes through it.
//
// # The test
//
// For every function at or above the floor on either side, and for its self
// and its cumulative value, each window gives one observation: the value as
// a share of the window's total, a rate per second, or a ratio to the rest
// of the window's total (see Normalization). The two sides' means are
// compared by a one-sided t test whose variance is taken under "no change":
// the windows' variance pooled over both sides about their runs' means,
// floored at what the profiles' own sampling allows at the level both sides
// share, plus one drift term per series for how a process's level moves
// from one run to the next. stats.go holds the model in full, with the
// reasons for each part; docs/verdict-quality.md what it was measured to do.
//
// Why not a rank test: with six windows a side, the Mann–Whitney U test's
// smallest one-sided p-value is 1/924 ≈ 0.001, so after correcting over
// hundreds of functions nothing could ever be significant.
//
// # False discoveries
//
// Benjamini–Hochberg at Alpha controls false discoveries over every test of
// the run — all series, self and cumulative values alike — because a CI
// user sees runs: on A/A runs (same build both sides), Alpha is about the
// share of runs with any false regression. Increases and decreases are two
// separate families; improvements are reported at Alpha/5.
//
// A function regresses when its q-value is at most Alpha, its relative
// increase is at least Threshold, and its current share is at least Floor.
// A function with no value in any baseline window that meets the same bar
// now is a new hot path. Both fail the run. Improvements are reported and
// never fail.
//
// # What a pass can promise
//
// Each finding, and each series for its hottest function, carries the
// minimum detectable change: the relative increase the gate finds with 80%
// power, threshold included, at Alpha over the run's tests (what
// Benjamini–Hochberg needs of a lone regression among many unchanged
// functions).
package diff

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// power is the probability of detecting a change of the minimum detectable
// size.
const power = 0.80

// Compare compares the current snapshot with the baseline. It returns an
// error only for unusable arguments; missing or insufficient data makes
// series inconclusive instead, with the reason.
func Compare(base, cur *baseline.Snapshot, opts Options) (*Result, error) {
	if base == nil || cur == nil {
		return nil, fmt.Errorf("diff: nil snapshot")
	}
	norm, err := ParseNormalization(string(opts.Normalization))
	if err != nil {
		return nil, err
	}
	def := opts.Params.Merge(DefaultParams())
	if err := def.Validate(); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	top := opts.TopUnchanged
	if top == 0 {
		top = 5
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &Result{
		SchemaVersion: ResultSchemaVersion,
		Baseline:      base.Meta,
		Current:       cur.Meta,
		Normalization: string(norm),
		Compared:      now.UTC(),
		IntervalLevel: IntervalLevel,
	}
	if opts.Policy != nil {
		r.Warnings = append(r.Warnings, opts.Policy.Warnings()...)
	}
	paired := Paired(base, cur)
	r.Paired = paired
	var states []*seriesState
	for _, b := range base.Series {
		c := cur.Lookup(b.Service, b.ProfileType)
		p, rule := def, ""
		if opts.Policy != nil {
			p, rule = opts.Policy.SeriesParams(b.Service, b.ProfileType, def)
			p = p.Merge(def)
			if err := p.Validate(); err != nil {
				return nil, fmt.Errorf("diff: %s %s: %w", b.Service, b.ProfileType, err)
			}
		}
		snorm := norm
		if tn, ok := opts.TypeNormalization[b.ProfileType]; ok {
			if snorm, err = ParseNormalization(string(tn)); err != nil {
				return nil, fmt.Errorf("diff: %s: %w", b.ProfileType, err)
			}
		}
		if p.Normalization != "" {
			snorm = p.Normalization // validated above
		}
		if snorm != norm {
			r.Normalization = "mixed"
		}
		sc := &seriesCompare{base: b, cur: c, norm: snorm, params: p, rule: rule, policy: opts.Policy, top: top, paired: paired}
		st := sc.prepare()
		st.sr.Normalization = string(snorm)
		states = append(states, st)
		r.Series = append(r.Series, st.sr)
	}
	// False discoveries are controlled over every test of the run, not per
	// series: a CI user sees runs, and a run gates about twenty series.
	var up, down []float64
	for _, st := range states {
		for _, t := range st.tests {
			up, down = append(up, t.pUp), append(down, t.pDown)
		}
	}
	qUp, qDown := benjaminiHochberg(up), benjaminiHochberg(down)
	i := 0
	for _, st := range states {
		for _, t := range st.tests {
			t.qUp, t.qDown = qUp[i], qDown[i]
			i++
		}
	}
	r.Tested = len(up)
	for _, st := range states {
		if st.tests != nil {
			st.sc.finish(st, len(up))
		}
	}
	for _, c := range cur.Series {
		if base.Lookup(c.Service, c.ProfileType) != nil {
			continue
		}
		sr := newSeriesResult(nil, c)
		sr.Normalization = string(norm)
		sr.Verdict = Pass
		sr.NoBaseline = true
		sr.Reason = "not in the baseline, so not compared; accept a new baseline to gate it"
		r.Series = append(r.Series, sr)
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s is not in the baseline and was not compared", c.Service, profiletype.MustAlias(c.ProfileType)))
	}
	sortSeries(r.Series)
	// Data flows one way: each function was tested and judged above, the
	// cause model groups the findings (and a policy may accept whole
	// causes), and the run's verdict and counts follow from what is left.
	attachCauses(r, def, opts.Policy)
	tally(r)
	for _, sr := range r.Series {
		if sr.Verdict == Regression {
			sr.CallTree = buildCallTree(sr.Base, sr.Cur, CallTreeMinShare)
		}
	}
	return r, nil
}

// tally sets the run's verdict and its summary from the series' verdicts,
// their findings and the causes: one regression anywhere makes the run a
// regression; otherwise any inconclusive series makes it inconclusive.
func tally(r *Result) {
	r.Verdict = Pass
	r.Summary = Summary{}
	for _, s := range r.Series {
		r.Summary.Series++
		switch s.Verdict {
		case Regression:
			r.Verdict = Regression
		case Inconclusive:
			r.Summary.Inconclusive++
			if r.Verdict == Pass {
				r.Verdict = Inconclusive
			}
		}
		for _, f := range s.Findings {
			switch f.Kind {
			case KindRegression:
				r.Summary.Regressions++
			case KindNewHotPath:
				r.Summary.NewHotPaths++
			case KindImprovement:
				r.Summary.Improvements++
			case KindIgnored:
				r.Summary.Ignored++
			}
		}
	}
	r.Summary.Causes = CountCauses(r.Causes)
}

func newSeriesResult(b, c *baseline.Series) *SeriesResult {
	se := b
	if se == nil {
		se = c
	}
	sr := &SeriesResult{
		Service:     se.Service,
		ProfileType: se.ProfileType,
		Alias:       profiletype.MustAlias(se.ProfileType),
		Unit:        se.SampleType.Unit,
		Base:        b,
		Cur:         c,
		Findings:    []Finding{},
	}
	if b != nil {
		sr.BaselineWindows = len(b.Windows)
		sr.BaselineSamples = totalSamples(b)
	}
	if c != nil {
		sr.CurrentWindows = len(c.Windows)
		sr.CurrentSamples = totalSamples(c)
	}
	return sr
}

func totalSamples(se *baseline.Series) int64 {
	var n int64
	for _, w := range se.Windows {
		n += w.Samples
	}
	return n
}

type seriesCompare struct {
	base, cur *baseline.Series
	norm      Normalization
	params    Params
	rule      string
	policy    Policy
	top       int
	paired    bool // the sides' runs are pairs (see PairingLabel)
	// exhaustive: both sides' profiles record every event instead of
	// sampling them (see recordsEveryEvent), so in a duet no sampling floor
	// applies to the paired windows.
	exhaustive bool
	quantiles  map[[2]float64]float64
}

// side holds one side's per-function sums over its usable windows, indexed
// by measure (0 self, 1 cum) and global function index.
type side struct {
	n          int     // usable windows
	samples    int64   // sampling events over usable windows
	allKnown   bool    // every usable window knows its sample count
	invN       float64 // Σ 1/N_i over windows with a known sample count: the share floor
	rateK      float64 // Σ (value per sample)/T_i: the rate floor
	sum, sumsq [2][]float64
	shareSum   [2][]float64 // shares, when sum holds rates
	// quantum is each function's smallest positive raw value in a window:
	// about one sample's weight, for profiles that do not count their
	// samples (allocations, locks). denom sums the windows' divisors
	// (seconds for rates, totals for shares).
	quantum      [2][]float64
	minPositive  float64 // smallest positive raw value of any function
	denom        float64
	emptyWindows int
	// Per run (Window.Run), when the side's windows come from several
	// independent runs: the number of usable windows and the sums.
	runIdx map[int32]int
	runN   []int
	runSum [][2][]float64
	// runTot and runTotSq sum each run's window totals (as rates under
	// Rate normalization): the process's level, for the drift.
	runTot, runTotSq []float64
	// seen counts, per function, the usable windows it has a value in.
	seen [2][]int32
	// raw sums each function's raw values over the usable windows, and vw
	// its table's value-times-event-weight sums (baseline.Function.SelfVW,
	// CumVW): vw/raw is the mean weight of its sampling events. invDiv sums
	// 1/divisor over the usable windows (1/total for shares, 1/seconds for
	// rates).
	raw, vw [2][]float64
	invDiv  float64
}

// seriesState is a series between its tests and its verdict: the
// false-discovery control needs every series' p-values first.
type seriesState struct {
	sc    *seriesCompare
	sr    *SeriesResult
	tests []*fnTest
	funcs []*baseline.Function
}

// prepare checks the series can be judged and tests every function at or
// above the floor; a series that cannot be judged comes back with its
// verdict set and no tests.
func (sc *seriesCompare) prepare() *seriesState {
	b, c := sc.base, sc.cur
	sr := newSeriesResult(b, c)
	st := &seriesState{sc: sc, sr: sr}
	inconclusive := func(format string, args ...any) *seriesState {
		sr.Verdict = Inconclusive
		sr.Reason = fmt.Sprintf(format, args...)
		return st
	}
	name := b.Service + " " + profiletype.MustAlias(b.ProfileType)
	if c == nil || len(c.Windows) == 0 {
		return inconclusive("no data in the current run for %s (the baseline has %d windows); missing data is never a pass", name, len(b.Windows))
	}
	if b.SampleType != c.SampleType {
		return inconclusive("sample types differ: baseline %s, current %s", b.SampleType, c.SampleType)
	}
	if b.PeriodType.Type != "" && c.PeriodType.Type != "" && b.PeriodType != c.PeriodType {
		return inconclusive("period types differ: baseline %s, current %s", b.PeriodType, c.PeriodType)
	}
	if msg := comparePeriods(b, c); msg != "" {
		return inconclusive("%s", msg)
	}

	// Global function index: identity is the normalized name.
	ids := make(map[string]int32, len(b.Functions)+len(c.Functions)/4)
	var funcs []*baseline.Function
	mapTable := func(t []baseline.Function) []int32 {
		m := make([]int32, len(t))
		for i := range t {
			g, ok := ids[t[i].Name]
			if !ok {
				g = int32(len(funcs))
				ids[t[i].Name] = g
				funcs = append(funcs, &t[i])
			} else if t[i].File != "" || t[i].RawName != "" {
				funcs[g] = &t[i] // prefer the current run's file, line and raw name
			}
			m[i] = g
		}
		return m
	}
	bmap := mapTable(b.Functions)
	cmap := mapTable(c.Functions)
	nf := len(funcs)
	st.funcs = funcs

	bs, err := sc.accumulate(b, bmap, nf)
	if err != "" {
		return inconclusive("baseline %s", err)
	}
	cs, err := sc.accumulate(c, cmap, nf)
	if err != "" {
		return inconclusive("current run %s", err)
	}
	p := sc.params
	for _, x := range []struct {
		what string
		s    *side
	}{{"baseline", bs}, {"current run", cs}} {
		if x.s.n < p.MinWindows {
			empty := ""
			if x.s.emptyWindows > 0 {
				empty = fmt.Sprintf(" (%d empty)", x.s.emptyWindows)
			}
			return inconclusive("the %s has %d usable windows%s, need %d", x.what, x.s.n, empty, p.MinWindows)
		}
		if x.s.allKnown && x.s.samples < p.MinSamples {
			return inconclusive("the %s has %d samples, need %d to resolve a %.0f%% change", x.what, x.s.samples, p.MinSamples, 100*p.Threshold)
		}
	}

	var drift driftTerm
	wp := &windowPairs{}
	if sc.paired {
		wp = sc.matchWindows(b, c, bmap, cmap, nf)
		drift = pairedDrift(bs, cs, sc.norm, wp)
		sc.exhaustive = recordsEveryEvent(b) && recordsEveryEvent(c)
	} else {
		drift = seriesDrift(bs, cs, sc.norm, p.MinRunDrift)
	}
	if drift.runs > 2 || drift.floored {
		sr.RunNoise = &RunNoise{RunDrift: math.Sqrt(drift.tau2), RunDriftFloored: drift.floored, Runs: drift.runs}
		if drift.fitted >= 0 {
			f := drift.fitted
			sr.RunNoise.Measured = &f
			sr.RunNoise.DF = drift.df
		}
	}

	// Test every function at or above its floor on either side.
	tests := []*fnTest{}
	anyFuncRules := sc.policy != nil
	for g := 0; g < nf; g++ {
		for m := 0; m < 2; m++ {
			if m == 1 && bs.sameSelfCum(g) && cs.sameSelfCum(g) {
				// A leaf: its cumulative value is its self value, and
				// testing it twice would only double-count it.
				continue
			}
			shb, shc := bs.shareMean(m, g), cs.shareMean(m, g)
			if shb < p.Floor && shc < p.Floor && !anyFuncRules {
				continue
			}
			fp, rule := p, sc.rule
			if anyFuncRules {
				var r string
				fp, r = sc.policy.FunctionParams(b.Service, b.ProfileType, funcs[g].Name, p)
				fp = fp.Merge(p)
				if r != "" {
					rule = r
				}
			}
			if shb < fp.Floor && shc < fp.Floor {
				continue
			}
			t := &fnTest{g: int32(g), m: m, fp: fp, rule: rule, sb: shb, sc: shc, present: bs.sum[m][g] > 0}
			t.mb, t.mc = bs.mean(m, g), cs.mean(m, g)
			tests = append(tests, t)
		}
	}
	ws := make([]windowStats, len(tests))
	var ratios []float64
	for i, t := range tests {
		ws[i] = sc.windowStats(t, bs, cs, wp)
		if r := runRatio(ws[i], bs, drift, 1); t.m == 0 && r > 0 {
			ratios = append(ratios, r)
		}
	}
	phi := windowFactor(ratios, len(bs.runN))
	if phi < 1 && sr.RunNoise == nil {
		sr.RunNoise = &RunNoise{Runs: drift.runs}
	}
	if sr.RunNoise != nil {
		sr.RunNoise.WindowFactor = phi
	}
	for i, t := range tests {
		sc.testFunction(t, ws[i], bs, cs, drift, phi)
		if t.ownRuns && sr.RunNoise != nil {
			sr.RunNoise.OwnRuns++
		}
	}
	sr.Tested = len(tests)
	st.tests = tests
	return st
}

// finish turns a series' tests, with their q-values over the run's m tests,
// into findings and a verdict.
func (sc *seriesCompare) finish(st *seriesState, m int) {
	sr, funcs := st.sr, st.funcs
	b := sc.base
	var hottest *fnTest
	var unchanged []Finding
	var causes []cause
	for _, t := range st.tests {
		fn := funcs[t.g]
		f := Finding{
			Function: fn.Name,
			RawName:  fn.RawName,
			File:     fn.File,
			Line:     fn.Line,
			Measure:  Self,
			Baseline: t.mb,
			Current:  t.mc,
			Rule:     t.rule,
		}
		if t.m == 1 {
			f.Measure = Cumulative
		}
		d := t.mc - t.mb
		switch {
		case t.mb > 0:
			f.Change = d / t.mb
		case t.mc > 0:
			f.Change = math.Inf(1)
		}
		switch {
		case t.mb > 0 && t.mc > 0 && t.seLog > 0:
			tq := sc.tQuantile(0.5+IntervalLevel/2, t.df)
			f.ChangeLow = math.Expm1(t.logRatio - tq*t.seLog)
			f.ChangeHigh = math.Expm1(t.logRatio + tq*t.seLog)
		case t.mb > 0 && t.mc == 0:
			// Gone: the ratio is 0 and its interval cannot be drawn on the
			// log scale; -100% is all the data can say.
			f.ChangeLow, f.ChangeHigh = -1, -1
		default:
			f.ChangeLow, f.ChangeHigh = f.Change, f.Change
		}
		if t.mb > 0 {
			f.MinDetectable = sc.minDetectable(t.relSE0, t.df, t.fp.Alpha/float64(max(m, 1)), t.fp.Threshold)
		}
		if d >= 0 {
			f.P, f.Q = t.pUp, t.qUp
		} else {
			f.P, f.Q = t.pDown, t.qDown
		}
		failing := false
		switch {
		case !t.present && t.sc >= t.fp.Floor && t.qUp <= t.fp.Alpha:
			f.Kind, failing = KindNewHotPath, true
		case t.present && t.qUp <= t.fp.Alpha && f.Change >= t.fp.Threshold && t.sc >= t.fp.Floor:
			f.Kind, failing = KindRegression, true
		case t.qDown <= t.fp.Alpha*improvementLevel && -f.Change >= t.fp.Threshold:
			f.Kind = KindImprovement
		default:
			f.Kind = KindUnchanged
		}
		if failing && sc.policy != nil {
			if rule, ok := sc.policy.Ignore(b.Service, b.ProfileType, fn.Name); ok {
				f.Kind, f.Rule = KindIgnored, rule
				failing = false
			}
		}
		if failing || f.Kind == KindIgnored {
			causes = append(causes, cause{idx: len(sr.Findings)})
		}
		if t.m == 0 && t.mb > 0 && (hottest == nil || t.sb > hottest.sb) {
			hottest = t
			sr.MinDetectable = f.MinDetectable
		}
		if f.Kind == KindUnchanged {
			unchanged = append(unchanged, f)
			continue
		}
		sr.Findings = append(sr.Findings, f)
	}
	sc.explain(sr.Findings, causes)
	sc.compositional(sr)
	sr.Verdict = Pass
	for _, f := range sr.Findings {
		if f.Kind == KindRegression || f.Kind == KindNewHotPath {
			sr.Verdict = Regression
		}
	}
	if sc.top > 0 {
		sort.SliceStable(unchanged, func(i, j int) bool {
			a, b := unchanged[i], unchanged[j]
			if a.Measure != b.Measure {
				return a.Measure == Self
			}
			if a.Current != b.Current {
				return a.Current > b.Current
			}
			return a.Function < b.Function
		})
		if len(unchanged) > sc.top {
			unchanged = unchanged[:sc.top]
		}
		sr.Findings = append(sr.Findings, unchanged...)
	}
	sortFindings(sr.Findings)
}

// improvementLevel scales Alpha for improvements: they never fail a build,
// so nothing forces a reviewer to look at one, and one that is not real
// costs trust in the rest. Reported at α/5, at most 1% of A/A runs show a
// false one (TestAAFalseAlarmRate measured 5% at α).
const improvementLevel = 0.2

// fnTest is the test of one function's self or cumulative value in a
// series.
type fnTest struct {
	g               int32
	m               int
	fp              Params
	rule            string
	mb, mc          float64 // means, in the normalization's unit
	sb, sc          float64 // mean shares
	vb, vc          float64 // variances of the two means, as tested
	vcov            float64 // twice their covariance, in a duet whose windows pair (windowPairs)
	df              float64
	relSE0          float64 // standard error of the difference under "no change", relative to the pooled level
	logRatio, seLog float64 // log(mc/mb) and its standard error, for the interval
	ownRuns         bool    // judged by its own runs: they scatter beyond the series' drift
	pUp             float64
	pDown           float64
	qUp             float64
	qDown           float64
	present         bool // has a value in some baseline window
}

// cause is a failing or ignored finding that may explain a caller's
// cumulative regression.
type cause struct {
	idx int // index into the series' findings
}

// explain links each cumulative regression to the callee (or the function's
// own self value) whose increase under it accounts for at least half of its
// own, read from both sides' merged call stacks: a callee that grew more
// but under other callers does not explain this one (runtime.memmove grows
// under whoever copies more). A cumulative regression explained by an
// ignored finding is ignored too: ignoring a function must not leave all
// its callers failing in its place.
func (sc *seriesCompare) explain(fs []Finding, causes []cause) {
	var cands []cause
	for _, c := range causes {
		if fs[c.idx].Measure == Cumulative && fs[c.idx].Kind == KindRegression {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 || len(causes) < 2 && fs[causes[0].idx].Kind != KindIgnored {
		return
	}
	v := stackView{base: sc.base, cur: sc.cur}
	if !v.hasStacks() {
		return
	}
	// Each cause's growth (in shares of each side's stacks, as the
	// findings' deltas are) in all, and under each function above it.
	total := make([]float64, len(causes))
	under := make([]map[string]ancestorGrowth, len(causes))
	for k, o := range causes {
		total[k], under[k] = v.growthUnder(fs[o.idx].Function, fs[o.idx].Measure == Cumulative)
	}
	for _, c := range cands {
		caller := fs[c.idx].Function
		grew, _ := v.growthUnder(caller, true)
		if grew <= 0 {
			continue
		}
		best, bestGrowth := -1, 0.0
		for k, o := range causes {
			if o.idx == c.idx {
				continue
			}
			g := under[k][caller].growth
			if fs[o.idx].Function == caller {
				g = total[k] // its own self value: all of it is under itself
			}
			if g < 0.5*grew {
				continue
			}
			// Prefer a self finding (the code that got slower) over a
			// callee's cumulative one, then the larger increase.
			if best < 0 || better(fs[o.idx], g, fs[causes[best].idx], bestGrowth) {
				best, bestGrowth = k, g
			}
		}
		if best < 0 {
			continue
		}
		by := fs[causes[best].idx]
		f := &fs[c.idx]
		f.ExplainedBy = by.Function
		if by.Kind == KindIgnored {
			f.Kind = KindIgnored
			f.Rule = "explained by ignored " + by.Function + "; " + by.Rule
		}
	}
}

func better(a Finding, da float64, b Finding, db float64) bool {
	if (a.Measure == Self) != (b.Measure == Self) {
		return a.Measure == Self
	}
	return da > db
}

// comparePeriods returns why the two series' sampling periods make them
// incomparable, or "". A period of 0 means unknown and matches anything.
func comparePeriods(b, c *baseline.Series) string {
	periods := func(se *baseline.Series) []int64 {
		seen := map[int64]bool{}
		var out []int64
		add := func(p int64) {
			if p > 0 && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		add(se.Period)
		for _, w := range se.Windows {
			add(w.Period)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	pb, pc := periods(b), periods(c)
	unit := b.PeriodType.Unit
	for _, x := range []struct {
		what string
		ps   []int64
	}{{"baseline", pb}, {"current run", pc}} {
		if len(x.ps) > 1 {
			return fmt.Sprintf("the %s mixes sampling periods %s %s", x.what, joinInts(x.ps), unit)
		}
	}
	if len(pb) == 1 && len(pc) == 1 && pb[0] != pc[0] {
		return fmt.Sprintf("sampling periods differ: baseline %d, current %d %s", pb[0], pc[0], unit)
	}
	return ""
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " and ")
}

// accumulate sums one side's per-window values by global function index. It
// returns a phrase completing "the baseline ..." when the side is unusable.
func (sc *seriesCompare) accumulate(se *baseline.Series, gmap []int32, nf int) (*side, string) {
	s := &side{allKnown: true}
	rate, rest := sc.norm == Rate, sc.norm == Rest
	for m := 0; m < 2; m++ {
		s.sum[m] = make([]float64, nf)
		s.sumsq[m] = make([]float64, nf)
		s.quantum[m] = make([]float64, nf)
		s.seen[m] = make([]int32, nf)
		s.raw[m] = make([]float64, nf)
		s.vw[m] = make([]float64, nf)
		if rate || rest {
			s.shareSum[m] = make([]float64, nf)
		}
	}
	noTimes := 0
	win, winRaw, inWindow := make([]float64, nf), make([]int64, nf), make([]bool, nf)
	var touched []int32
	for _, w := range se.Windows {
		if w.Total <= 0 {
			s.emptyWindows++
			continue
		}
		secs := w.Seconds()
		if rate && secs <= 0 {
			noTimes++
			continue
		}
		s.n++
		ri, ok := s.runIdx[w.Run]
		if !ok {
			if s.runIdx == nil {
				s.runIdx = map[int32]int{}
			}
			ri = len(s.runN)
			s.runIdx[w.Run] = ri
			s.runN = append(s.runN, 0)
			s.runSum = append(s.runSum, [2][]float64{make([]float64, nf), make([]float64, nf)})
			s.runTot, s.runTotSq = append(s.runTot, 0), append(s.runTotSq, 0)
		}
		s.runN[ri]++
		level := float64(w.Total)
		if rate {
			level /= secs
		}
		s.runTot[ri] += level
		s.runTotSq[ri] += level * level
		s.samples += w.Samples
		if w.Samples > 0 {
			s.invN += 1 / float64(w.Samples)
			if rate {
				s.rateK += float64(w.Total) / float64(w.Samples) / secs
			}
		} else {
			s.allKnown = false
		}
		total := float64(w.Total)
		div := total
		if rate {
			div = secs
		}
		s.denom += div
		s.invDiv += 1 / div
		for m, vs := range [2]baseline.Values{w.Self, w.Cum} {
			// Two entries of the table can be one function (raw names
			// that normalize to one): the window's value of a function is
			// their sum, so it is summed before it is squared or counted.
			touched = touched[:0]
			for _, v := range vs {
				if int(v.F) >= len(gmap) {
					continue // Validate forbids this; be safe anyway
				}
				g := gmap[v.F]
				if v.V > 0 {
					s.raw[m][g] += float64(v.V)
				}
				if q := float64(v.V); q > 0 {
					if s.quantum[m][g] == 0 || q < s.quantum[m][g] {
						s.quantum[m][g] = q
					}
					if s.minPositive == 0 || q < s.minPositive {
						s.minPositive = q
					}
				}
				if !inWindow[g] {
					inWindow[g] = true
					touched = append(touched, g)
				}
				win[g] += sc.value(v.V, &w)
				winRaw[g] += v.V
				if rate || rest {
					s.shareSum[m][g] += float64(v.V) / total
				}
			}
			for _, g := range touched {
				x := win[g]
				s.sum[m][g] += x
				s.sumsq[m][g] += x * x
				s.runSum[ri][m][g] += x
				if winRaw[g] > 0 {
					s.seen[m][g]++
				}
				win[g], winRaw[g], inWindow[g] = 0, 0, false
			}
		}
	}
	if rate && noTimes > 0 && s.n < sc.params.MinWindows {
		return nil, fmt.Sprintf("has %d windows without start and end times, which rate normalization needs", noTimes)
	}
	if s.n == 0 {
		s.allKnown = false
	}
	for i, fn := range se.Functions {
		if i < len(gmap) {
			s.vw[0][gmap[i]] += fn.SelfVW
			s.vw[1][gmap[i]] += fn.CumVW
		}
	}
	return s, ""
}

func (s *side) sameSelfCum(g int) bool {
	return s.sum[0][g] == s.sum[1][g] && s.sumsq[0][g] == s.sumsq[1][g]
}

func (s *side) mean(m, g int) float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum[m][g] / float64(s.n)
}

func (s *side) shareMean(m, g int) float64 {
	if s.n == 0 {
		return 0
	}
	if s.shareSum[m] != nil {
		return s.shareSum[m][g] / float64(s.n)
	}
	return s.sum[m][g] / float64(s.n)
}

// tQuantile is the p-quantile (p > 0.5) of Student's t with df degrees of
// freedom. df is rounded down to a hundredth, which can only widen the
// interval, so that quantiles (costly: an inverse incomplete beta function)
// are computed once per distinct df rather than once per function.
func (sc *seriesCompare) tQuantile(p, df float64) float64 {
	df = math.Floor(df*100) / 100
	key := [2]float64{p, df}
	if q, ok := sc.quantiles[key]; ok {
		return q
	}
	if sc.quantiles == nil {
		sc.quantiles = map[[2]float64]float64{}
	}
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
	sc.quantiles[key] = q
	return q
}

// benjaminiHochberg returns the BH-adjusted p-values (q-values) of ps, in
// the same order.
func benjaminiHochberg(ps []float64) []float64 {
	n := len(ps)
	q := make([]float64, n)
	if n == 0 {
		return q
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	prev := 1.0
	for r := n - 1; r >= 0; r-- {
		i := idx[r]
		v := ps[i] * float64(n) / float64(r+1)
		if v < prev {
			prev = v
		}
		q[i] = prev
	}
	return q
}

var kindRank = map[Kind]int{KindRegression: 0, KindNewHotPath: 0, KindIgnored: 1, KindImprovement: 2, KindUnchanged: 3}

// sortFindings orders findings worst first: failing kinds, then ignored,
// improvements and unchanged; within a kind by how much of the profile moved
// (the absolute change in share), self before cumulative.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if kindRank[a.Kind] != kindRank[b.Kind] {
			return kindRank[a.Kind] < kindRank[b.Kind]
		}
		// A caller whose increase a callee explains comes after the
		// findings that are causes in their own right.
		if ea, eb := explained(a), explained(b); ea != eb {
			return eb
		}
		da, db := math.Abs(a.Current-a.Baseline), math.Abs(b.Current-b.Baseline)
		if a.Kind == KindUnchanged {
			da, db = a.Current, b.Current
		}
		if da != db {
			return da > db
		}
		if a.Measure != b.Measure {
			return a.Measure == Self
		}
		return a.Function < b.Function
	})
}

func explained(f Finding) bool { return f.ExplainedBy != "" && f.ExplainedBy != f.Function }

var verdictRank = map[Verdict]int{Regression: 0, Inconclusive: 1, Pass: 2}

func sortSeries(ss []*SeriesResult) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if verdictRank[a.Verdict] != verdictRank[b.Verdict] {
			return verdictRank[a.Verdict] < verdictRank[b.Verdict]
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ProfileType < b.ProfileType
	})
}
