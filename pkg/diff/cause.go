package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sort"
	"strings"
)

// A Cause is one thing to look at: the function whose own cost changed,
// with every finding that change explains folded under it. One function
// that does 60% more work through its regexp callees raises its own self
// value, the self values of the callees, and the cumulative value of every
// caller up to the goroutine's root; listing each as a problem of its own
// buries the one function a developer has to open under a page of rows. A
// report therefore lists causes, and every format lists the same ones.
//
// Causes are computed from a finished Result (see FindCauses), so they do
// not depend on how the statistics were computed, only on the findings and
// the call stacks.
type Cause struct {
	// ID identifies the cause across runs: a hash of the service, the
	// function and the direction, never of a line or a number, so that code
	// scanning follows an alert from one run to the next.
	ID       string `json:"id"`
	Service  string `json:"service"`
	Function string `json:"function"`
	RawName  string `json:"raw_name,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int64  `json:"line,omitempty"`
	// Kind is the worst kind among the cause's findings: regression or
	// new_hot_path (the run fails), ignored, or improvement.
	Kind Kind `json:"kind"`
	// Failing says the cause fails the run: some finding folded under it is
	// a regression or a new hot path.
	Failing bool `json:"failing"`
	// External says Function is the Go runtime, the standard library or
	// unknown, and that no caller in the program explained it.
	External bool `json:"external,omitempty"`
	// Added is the most credible cost the cause added (or, for an
	// improvement, removed), in the series' normalized unit: the largest
	// lower bound, over its findings, of baseline × change. Causes are
	// ranked by it; the first failing cause is the run's headline.
	Added float64 `json:"credible_added"`
	// Stack is the heaviest current call path to Function, nearest caller
	// first, for placing the cause in the repository when Function itself
	// is not (see the SARIF report).
	Stack []Frame `json:"stack,omitempty"`
	// Series is the cause as each profile type of the service saw it (CPU
	// and allocations, say), in the order of Result.Series.
	Series []CauseSeries `json:"series"`
}

// CauseSeries is a cause in one series.
type CauseSeries struct {
	ProfileType string `json:"profile_type"`
	Alias       string `json:"profile_type_alias"`
	// Finding is the cause's own finding: the function's self value when it
	// changed, else its cumulative value.
	Finding Finding `json:"finding"`
	// Callers are the functions whose cumulative values the cause raises,
	// Callees those below it that changed with it, in the series' order.
	Callers []string `json:"callers,omitempty"`
	Callees []string `json:"callees,omitempty"`
	// Findings are every listed finding of the series folded under the
	// cause, its own first. Together, the causes of a series hold each of
	// its findings other than unchanged ones exactly once.
	Findings []Finding `json:"findings"`
}

// Frame is one function on a call path.
type Frame struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int64  `json:"line,omitempty"`
}

// CauseCounts counts a result's causes; every report format shows these
// numbers.
type CauseCounts struct {
	Failing      int `json:"failing"`
	Ignored      int `json:"ignored"`
	Improvements int `json:"improvements"`
}

// SeriesOf returns the series of r a CauseSeries belongs to, or nil.
func (r *Result) SeriesOf(c *Cause, cs CauseSeries) *SeriesResult {
	for _, s := range r.Series {
		if s.Service == c.Service && s.ProfileType == cs.ProfileType {
			return s
		}
	}
	return nil
}

// CausesOf returns r.Causes, or computes them when r was built without them
// (by hand, or read from an older JSON form).
func CausesOf(r *Result) []*Cause {
	if r.Causes != nil {
		return r.Causes
	}
	return FindCauses(r)
}

// CountCauses counts causes by what they mean for the run.
func CountCauses(cs []*Cause) CauseCounts {
	var n CauseCounts
	for _, c := range cs {
		switch {
		case c.Failing:
			n.Failing++
		case c.Kind == KindIgnored:
			n.Ignored++
		case c.Kind == KindImprovement:
			n.Improvements++
		}
	}
	return n
}

// attachCauses sets r.Causes, applying the policy's cause-scoped ignores
// (see CausePolicy), and each series' Alpha (from the run's parameters and
// the policy, as Compare applies them), which reports need to state the
// level of their intervals. The verdict and the counts are the caller's to
// compute afterwards (see tally).
func attachCauses(r *Result, def Params, policy Policy) {
	for _, s := range r.Series {
		p := def
		if policy != nil {
			p, _ = policy.SeriesParams(s.Service, s.ProfileType, def)
			p = p.Merge(def)
		}
		s.Alpha = p.Alpha
	}
	r.Causes = FindCauses(r)
	if cp, ok := policy.(CausePolicy); ok {
		ignoreCauses(r, cp)
	}
}

// ignoreCauses applies cause-scoped ignores. A cause named for a function
// the policy accepts in one of its series has each failing finding folded
// under it there ignored — its own, its callers' cumulative rises, its
// callees' — in the cause and in the series alike, and nothing else: the
// same callee regressing in another cause still fails. The grouping is
// not redone, since accepting a cause changes what its findings mean for
// the run, not what explains what. What depends on kinds is put back in
// order: a series with no failing finding left passes, findings and series
// go worst first again, each cause's series in the order of r.Series, and
// the causes failing first.
func ignoreCauses(r *Result, p CausePolicy) {
	touched := map[*SeriesResult]bool{}
	for _, c := range r.Causes {
		for j := range c.Series {
			cs := &c.Series[j]
			s := r.SeriesOf(c, *cs)
			if s == nil {
				continue
			}
			rule, ok := p.IgnoreCause(c.Service, cs.ProfileType, c.Function)
			if !ok {
				continue
			}
			for k := range cs.Findings {
				f := &cs.Findings[k]
				if f.Kind != KindRegression && f.Kind != KindNewHotPath {
					continue
				}
				f.Kind, f.Rule = KindIgnored, rule
				if f.Function != c.Function {
					f.Rule = "in ignored cause " + c.Function + "; " + rule
				}
				// A series holds one finding per function and measure.
				for i := range s.Findings {
					if sf := &s.Findings[i]; sf.Function == f.Function && sf.Measure == f.Measure {
						sf.Kind, sf.Rule = f.Kind, f.Rule
					}
				}
				if cs.Finding.Function == f.Function && cs.Finding.Measure == f.Measure {
					cs.Finding.Kind, cs.Finding.Rule = f.Kind, f.Rule
				}
				touched[s] = true
			}
		}
	}
	if len(touched) == 0 {
		return
	}
	for s := range touched {
		if s.Verdict == Regression && !anyFailing(s.Findings) {
			s.Verdict = Pass
		}
		sortFindings(s.Findings)
	}
	sortSeries(r.Series)
	pos := map[[2]string]int{}
	for i, s := range r.Series {
		pos[[2]string{s.Service, s.ProfileType}] = i
	}
	for _, c := range r.Causes {
		c.Failing = false
		for _, cs := range c.Series {
			c.Failing = c.Failing || anyFailing(cs.Findings)
		}
		c.Kind = causeKind(c)
		sort.SliceStable(c.Series, func(i, j int) bool {
			return pos[[2]string{c.Service, c.Series[i].ProfileType}] < pos[[2]string{c.Service, c.Series[j].ProfileType}]
		})
	}
	sortCauses(r.Causes)
}

// anyFailing reports whether a regression or a new hot path is among fs.
func anyFailing(fs []Finding) bool {
	for _, f := range fs {
		if f.Kind == KindRegression || f.Kind == KindNewHotPath {
			return true
		}
	}
	return false
}

// FindCauses groups the listed findings of every series into causes,
// failing causes first, each group ranked by the cost it credibly added.
//
// Within a series, a cumulative finding that a callee explains
// (Finding.ExplainedBy) folds under that callee. A self change in the Go
// runtime, the standard library or an unknown frame folds under the nearest
// function of the program above it in the call stacks that has a finding of
// its own and under which at least half of the change lies: regexp/syntax
// allocating more because a rule matcher compiles patterns in a loop is the
// matcher's doing. Across series, the same cause seen in several profile
// types of one service is one Cause.
func FindCauses(r *Result) []*Cause {
	out := []*Cause{}
	byKey := map[string]*Cause{}
	for _, s := range r.Series {
		for _, g := range seriesCauses(s) {
			rep := s.Findings[g.rep]
			up := increasing(rep)
			key := causeKey(s.Service, rep.Function, up)
			c := byKey[key]
			if c == nil {
				c = &Cause{ID: key, Service: s.Service, Function: rep.Function, RawName: rep.RawName, File: rep.File, Line: rep.Line, External: g.external}
				byKey[key] = c
				out = append(out, c)
			}
			if c.File == "" && rep.File != "" {
				c.File, c.Line = rep.File, rep.Line
			}
			cs := CauseSeries{ProfileType: s.ProfileType, Alias: s.Alias, Finding: rep, Callers: g.callers, Callees: g.callees}
			cs.Findings = make([]Finding, 0, len(g.members))
			for _, i := range g.members {
				cs.Findings = append(cs.Findings, s.Findings[i])
			}
			c.Series = append(c.Series, cs)
			if len(c.Stack) == 0 {
				c.Stack = g.stack
			}
			if g.added > c.Added {
				c.Added = g.added
			}
			for _, i := range g.members {
				f := s.Findings[i]
				if f.Kind == KindRegression || f.Kind == KindNewHotPath {
					c.Failing = true
				}
			}
		}
	}
	for _, c := range out {
		c.Kind = causeKind(c)
	}
	sortCauses(out)
	return out
}

// sortCauses orders causes failing first, then ignored ones, then
// improvements (see causeRank), each group ranked by the cost it credibly
// added.
func sortCauses(out []*Cause) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := causeRank(a), causeRank(b); ra != rb {
			return ra < rb
		}
		if a.External != b.External {
			// The program's own code first: a change in the runtime or
			// the standard library that no caller explains is less
			// actionable than one in code the team owns.
			return b.External
		}
		if a.Added != b.Added {
			return a.Added > b.Added
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Function < b.Function
	})
}

func causeKey(service, function string, up bool) string {
	dir := "up"
	if !up {
		dir = "down"
	}
	h := sha256.Sum256([]byte(service + "\x00" + function + "\x00" + dir))
	return hex.EncodeToString(h[:8])
}

// causeRank orders failing causes first, then ignored ones, then
// improvements.
//
// Within a rank, causes in the program come before those in the runtime,
// the standard library or unknown frames, then the larger Added first.
func causeRank(c *Cause) int {
	switch {
	case c.Failing:
		return 0
	case c.Kind == KindIgnored:
		return 1
	}
	return 2
}

func causeKind(c *Cause) Kind {
	best := KindUnchanged
	for _, cs := range c.Series {
		for _, f := range cs.Findings {
			if kindRank[f.Kind] < kindRank[best] {
				best = f.Kind
			}
		}
	}
	if best == KindRegression || best == KindNewHotPath {
		// Name the cause's own kind when it fails: a new function is a new
		// hot path even when its callers' cumulative values regressed.
		for _, cs := range c.Series {
			if k := cs.Finding.Kind; k == KindRegression || k == KindNewHotPath {
				return k
			}
		}
	}
	return best
}

// increasing reports whether a finding is about an increase: a regression,
// new hot path or ignored regression, as opposed to an improvement.
func increasing(f Finding) bool { return f.Kind != KindImprovement }

// External reports whether a function name is the Go runtime, the standard
// library or unknown: code a program calls but does not change, so that a
// change in its cost is the doing of whoever calls it. Standard-library
// import paths have no dot in their first element ("regexp/syntax",
// "net/http"); main is the program's own.
func External(fn string) bool {
	if fn == "" || strings.HasPrefix(fn, "<") || !strings.ContainsAny(fn, ".") {
		return true
	}
	first := fn
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	} else if i := strings.IndexByte(first, '.'); i >= 0 {
		first = first[:i]
	}
	if first == "main" {
		return false
	}
	return !strings.Contains(first, ".")
}

// credibleAdded is the change a finding is sure of, in the series'
// normalized unit: baseline × the interval's end nearest zero, for an
// increase its lower end, for a decrease its upper end (as a positive
// amount). A new hot path added what it now costs.
func credibleAdded(f Finding) float64 {
	if f.Baseline == 0 || math.IsInf(f.Change, 1) {
		return f.Current
	}
	lo, hi := f.ChangeLow, f.ChangeHigh
	if math.IsNaN(lo) || math.IsNaN(hi) || lo == 0 && hi == 0 {
		lo, hi = f.Change, f.Change // a result without intervals (hand-made)
	}
	if increasing(f) {
		return math.Max(0, f.Baseline*lo)
	}
	return math.Max(0, -f.Baseline*hi)
}

// group is one cause within a series: indexes into its findings.
type group struct {
	rep      int
	members  []int
	callers  []string
	callees  []string
	added    float64
	external bool
	stack    []Frame
}

// seriesCauses groups a series' listed findings (all but unchanged).
func seriesCauses(s *SeriesResult) []group {
	var listed []int
	for i, f := range s.Findings {
		if f.Kind != KindUnchanged {
			listed = append(listed, i)
		}
	}
	if len(listed) == 0 {
		return nil
	}
	parent := make([]int, len(s.Findings))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// join puts child's group under parent's, keeping parent's root.
	join := func(child, parent_ int) {
		a, b := find(child), find(parent_)
		if a != b {
			parent[a] = b
		}
	}
	// own[fn] is the function's self finding, else its first listed one,
	// per direction.
	type fkey struct {
		fn string
		up bool
	}
	self, cum := map[fkey]int{}, map[fkey]int{}
	for _, i := range listed {
		f := s.Findings[i]
		k := fkey{f.Function, increasing(f)}
		m := cum
		if f.Measure == Self {
			m = self
		}
		if _, ok := m[k]; !ok {
			m[k] = i
		}
	}
	primary := func(fn string, up bool) (int, bool) {
		if i, ok := self[fkey{fn, up}]; ok {
			return i, true
		}
		i, ok := cum[fkey{fn, up}]
		return i, ok
	}
	// A cumulative finding folds under what explains it, or else under the
	// same function's self finding.
	idx := s.causeIndex()
	for _, i := range listed {
		f := s.Findings[i]
		if f.Measure != Cumulative {
			continue
		}
		if j := causeOf(f, idx); j >= 0 && j != i && increasing(s.Findings[j]) == increasing(f) {
			join(i, j)
			continue
		}
		if j, ok := self[fkey{f.Function, increasing(f)}]; ok && j != i {
			join(i, j)
		}
	}
	view := newStackView(s)
	names := map[string]bool{}
	for _, i := range listed {
		names[s.Findings[i].Function] = true
	}
	above := view.above(names)
	// growth is how much a function's value moved, the larger of its self
	// and cumulative findings' moves in the direction of up.
	growth := func(fn string, up bool) float64 {
		var g float64
		for _, m := range []map[fkey]int{self, cum} {
			if j, ok := m[fkey{fn, up}]; ok {
				d := s.Findings[j].Current - s.Findings[j].Baseline
				if !up {
					d = -d
				}
				g = math.Max(g, d)
			}
		}
		return g
	}
	// A caller's cumulative change that no single finding explains folds
	// under the function below it whose change accounts for at least half
	// of it, the largest such: the growth of a cause spread over its own
	// code and its callees raises every caller, though no one callee does.
	for _, i := range listed {
		f := s.Findings[i]
		if f.Measure != Cumulative || find(i) != i {
			continue
		}
		up := increasing(f)
		ga := growth(f.Function, up)
		best, bestG := -1, 0.0
		for b := range names {
			if b == f.Function || !above[[2]string{f.Function, b}] {
				continue
			}
			j, ok := primary(b, up)
			if !ok {
				continue
			}
			if gb := growth(b, up); gb >= 0.5*ga && (best < 0 || gb > bestG || gb == bestG && j < best) {
				best, bestG = j, gb
			}
		}
		if best >= 0 {
			join(i, best)
		}
	}
	// A change outside the program that nothing else explains folds under
	// the nearest function of the program above it that has a finding of
	// its own in the same direction and under which at least half of the
	// change lies.
	type ownerAt struct{ finding, depth int }
	var owned []ownerAt
	if view.hasStacks() {
		for _, i := range listed {
			f := s.Findings[i]
			if !External(f.Function) || find(i) != i {
				continue
			}
			total, under := view.growthUnder(f.Function, f.Measure == Cumulative)
			if total == 0 && f.Measure == Self {
				// The stacks show no change of its own value (they
				// are merged, the windows are not): fall back to where
				// its callees' changes lie.
				total, under = view.growthUnder(f.Function, true)
			}
			if total == 0 {
				continue
			}
			up := increasing(f)
			best, bestD := -1, 0
			for a, g := range under {
				if External(a) || g.growth/total < 0.5 {
					continue
				}
				j, ok := primary(a, up)
				if !ok {
					continue
				}
				if best < 0 || g.depth < bestD || g.depth == bestD && j < best {
					best, bestD = j, g.depth
				}
			}
			if best < 0 {
				continue
			}
			join(i, best)
			owned = append(owned, ownerAt{best, bestD})
		}
	}
	// Collect the groups in the series' order.
	members := map[int][]int{}
	var roots []int
	for _, i := range listed {
		r := find(i)
		if _, ok := members[r]; !ok {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	// Each group's nearest owner.
	owners, ownersD := map[int]int{}, map[int]int{}
	for _, o := range owned {
		r := find(o.finding)
		if d, ok := ownersD[r]; !ok || o.depth < d {
			owners[r], ownersD[r] = o.finding, o.depth
		}
	}
	groups := make([]group, 0, len(roots))
	for _, r := range roots {
		ms := members[r]
		g := group{rep: pickRep(s, ms, r, owners)}
		rep := s.Findings[g.rep]
		// The cause's own findings first, then the rest in series order.
		g.members = append(g.members, g.rep)
		for _, i := range ms {
			if i != g.rep && s.Findings[i].Function == rep.Function {
				g.members = append(g.members, i)
			}
		}
		for _, i := range ms {
			if s.Findings[i].Function != rep.Function {
				g.members = append(g.members, i)
			}
		}
		for _, i := range ms {
			if a := credibleAdded(s.Findings[i]); a > g.added {
				g.added = a
			}
		}
		seen := map[string]bool{rep.Function: true}
		for _, i := range g.members {
			f := s.Findings[i]
			if seen[f.Function] {
				continue
			}
			seen[f.Function] = true
			callee := above[[2]string{rep.Function, f.Function}]
			if !callee && !above[[2]string{f.Function, rep.Function}] {
				// Not in the stacks: a self change lies below, a
				// cumulative one above.
				callee = f.Measure == Self
			}
			if callee {
				g.callees = append(g.callees, f.Function)
			} else {
				g.callers = append(g.callers, f.Function)
			}
		}
		g.external = External(rep.Function)
		g.stack = view.heaviestPath(rep.Function)
		groups = append(groups, g)
	}
	return groups
}

// pickRep chooses the finding that names a group: a self change in the
// program (the largest, if several), else the nearest function of the
// program that explains a change outside it, else what the others were
// folded under.
func pickRep(s *SeriesResult, ms []int, root int, owners map[int]int) int {
	best := -1
	for _, i := range ms {
		f := s.Findings[i]
		if f.Measure != Self || External(f.Function) {
			continue
		}
		if best < 0 || credibleAdded(f) > credibleAdded(s.Findings[best]) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	if o, ok := owners[root]; ok {
		return o
	}
	return root
}
