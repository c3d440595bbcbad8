package report

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
)

// This file is the report vocabulary for causes (see diff.Cause): every
// renderer words a cause, its counts and its footnotes with these, so that
// text, markdown, JUnit, SARIF, annotations and HTML tell the same story in
// the same numbers.

// Causes returns the result's causes, computing them for a result built
// without (by hand, or read from an older JSON form).
func Causes(r *diff.Result) []*diff.Cause { return diff.CausesOf(r) }

// Counts counts the result's causes.
func Counts(r *diff.Result) diff.CauseCounts { return diff.CountCauses(Causes(r)) }

// CountsPhrase words the cause counts: "1 failing cause, 0 ignored,
// 5 improvements".
func CountsPhrase(n diff.CauseCounts) string {
	return fmt.Sprintf("%s, %d ignored, %s", plural(n.Failing, "failing cause", "failing causes"), n.Ignored,
		plural(n.Improvements, "improvement", "improvements"))
}

// Name is how a report names a function: unless full is set, a module
// path is dropped to its last element ("bank.(*rules).Match"), while the
// standard library's short paths stay whole ("regexp/syntax.Parse"), since
// they say which package it is.
func Name(fn string, full bool) string {
	if full || diff.External(fn) {
		return fn
	}
	return ShortName(fn)
}

// CauseName is the name of a cause's function, with "(cum)" when what
// changed is its cumulative value (the growth lies in callees, none of
// which is a cause of its own) rather than its own code.
func CauseName(c *diff.Cause, cs diff.CauseSeries, full bool) string {
	n := Name(displayName(c.Function, c.RawName), full)
	if cs.Finding.Measure == diff.Cumulative {
		n += " (cum)"
	}
	return n
}

func displayName(fn, raw string) string {
	if raw != "" {
		return raw
	}
	return fn
}

// CauseVerdict words what a cause means for the run: "regression", "new hot
// path", "ignored" or "improvement".
func CauseVerdict(c *diff.Cause) string {
	switch {
	case c.Kind == diff.KindIgnored:
		return "ignored"
	case c.Kind == diff.KindNewHotPath:
		return "new hot path"
	case c.Failing:
		return "regression"
	}
	return string(c.Kind)
}

// IgnoredBy is the rule that ignores a cause, or "".
func IgnoredBy(c *diff.Cause) string {
	for _, cs := range c.Series {
		for _, f := range cs.Findings {
			if f.Kind == diff.KindIgnored && f.Rule != "" {
				return f.Rule
			}
		}
	}
	return ""
}

// ChangeWithInterval is a finding's change and its interval:
// "+28.0% [+20.6%, +35.5%]", or "new".
func ChangeWithInterval(f diff.Finding) string {
	s := Change(f.Change)
	if iv := Interval(f); iv != "" {
		s += " " + iv
	}
	return s
}

// Stats is the test's words for a finding, benchstat-style:
// "p<0.001 q<0.001 n=8+8".
func Stats(f diff.Finding, s *diff.SeriesResult) string {
	return PValue("p", f.P) + " " + PValue("q", f.Q) + " " + N(s)
}

// FromTo is "12.2% → 15.6%": a finding's baseline and current value.
func FromTo(r *diff.Result, s *diff.SeriesResult, f diff.Finding) string {
	norm := SeriesNormalization(r, s)
	return Value(f.Baseline, norm, s.Unit) + " → " + Value(f.Current, norm, s.Unit)
}

// Folded says what a cause folds in one series, naming the first few
// functions: "and 8 callees: regexp.(*Regexp).doExecute, regexp.(*machine).step,
// …; raises 2 callers: bank.scoreTransfer, bank.(*server).handleScore".
// show is how many names of each list to give (0: none, only the counts).
func Folded(cs diff.CauseSeries, show int, full bool) string {
	var parts []string
	list := func(names []string, one, many, lead string) {
		if len(names) == 0 {
			return
		}
		p := lead + " " + plural(len(names), one, many)
		if show > 0 {
			shown := names
			if len(shown) > show {
				shown = shown[:show]
			}
			ns := make([]string, len(shown))
			for i, n := range shown {
				ns[i] = Name(n, full)
			}
			p += ": " + strings.Join(ns, ", ")
			if len(names) > show {
				p += ", …"
			}
		}
		parts = append(parts, p)
	}
	list(cs.Callees, "callee", "callees", "and")
	list(cs.Callers, "caller", "callers", "raises")
	return strings.Join(parts, "; ")
}

// InRepo places a cause inside the repository: its function's file and
// line when they map into it (see Locator), else those of the nearest caller
// on its heaviest call path whose file does; "" when nothing on the path is
// in the repository. at is the function whose file and line they are.
func InRepo(loc Locator, c *diff.Cause) (file string, line int64, at string) {
	if rel, ok := loc.Rel(c.File); ok {
		return rel, c.Line, c.Function
	}
	for _, f := range c.Stack {
		if rel, ok := loc.Rel(f.File); ok {
			return rel, f.Line, f.Function
		}
	}
	return "", 0, ""
}

// Location words where a cause is in the repository: "services/bank/fraud.go:80",
// or for a cause outside it "services/bank/fraud.go:45 (in its caller
// bank.scoreTransfer)"; "" when nothing on its path is in the repository.
//
// Without a repository to map to (a zero Locator), it is the file as the
// profile recorded it.
func Location(loc Locator, c *diff.Cause) string {
	file, line, at := InRepo(loc, c)
	if loc == (Locator{}) {
		file, line, at = c.File, c.Line, c.Function
	}
	if file == "" {
		return ""
	}
	s := file
	if line > 0 {
		s = fmt.Sprintf("%s:%d", file, line)
	}
	if at != c.Function {
		s += " (in its caller " + Name(at, false) + ")"
	}
	return s
}

// TestFootnote states the test behind p, q and n, as benchstat does under
// its tables.
const TestFootnote = "p: one-sided t-test of the per-window means, variance pooled under no change (docs/verdict-quality.md); q: Benjamini–Hochberg over every function the run tested; n: windows baseline+current"

// IntervalFootnote states the level of the intervals: "[lo, hi]: 95%
// interval of the relative change (two-sided, on the log ratio)".
func IntervalFootnote(r *diff.Result) string {
	level := r.IntervalLevel
	if level <= 0 {
		return "[lo, hi]: interval of the relative change"
	}
	return fmt.Sprintf("[lo, hi]: %s%% interval of the relative change (two-sided, on the log ratio)", trimFloat(100*level))
}

func trimFloat(x float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", x), "0"), ".")
}

// Missed is the one line a pass says about what it could have missed: "a
// pass: no regression of +12.7% or more in bank-loan-service cpu's hottest
// function (n=8+8)", listing each compared series' minimum detectable
// change.
func Missed(r *diff.Result) string {
	var parts []string
	for _, s := range r.Series {
		if s.Verdict != diff.Pass || s.NoBaseline || s.MinDetectable <= 0 || math.IsInf(s.MinDetectable, 0) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", s.Service, s.Alias, Change(s.MinDetectable)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Could have missed: a rise smaller than the smallest detectable change of each series' hottest function (" + strings.Join(parts, ", ") + ")."
}

// AcceptCommand is the command that makes the current snapshot the
// baseline, with the given directories or placeholders for them.
func AcceptCommand(snapshotDir, baselineDir string) string {
	if snapshotDir == "" {
		snapshotDir = "CURRENT_SNAPSHOT_DIR"
	}
	if baselineDir == "" {
		baselineDir = "BASELINE_DIR"
	}
	return "profdiff baseline accept --from " + shellQuote(snapshotDir) + " --to " + shellQuote(baselineDir)
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// IgnoreDays is how long an ignore-rule stub lasts: a stub is a decision to
// come back to, not a permanent exception.
const IgnoreDays = 30

// IgnoreStub is an entry for the rules file's ignore list (see pkg/rules)
// that accepts exactly the cause: scope: cause and the cause's function
// only, in its service and the profile types it was seen in, with a reason
// to fill in and an expiry IgnoreDays after the comparison. The callers and
// callees folded under the cause are accepted with it; listing them by name
// instead would ignore them everywhere in the service, so that a later
// runtime.memmove regression under another function would pass too.
func IgnoreStub(r *diff.Result, c *diff.Cause) string {
	var types []string
	for _, cs := range c.Series {
		types = append(types, cs.Alias)
	}
	at := r.Compared
	if at.IsZero() {
		at = time.Now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ignore:\n")
	fmt.Fprintf(&b, "  - name: %s\n", yamlQuote("accept "+ShortName(c.Function)))
	fmt.Fprintf(&b, "    service: %s\n", yamlQuote(c.Service))
	fmt.Fprintf(&b, "    type: [%s]\n", strings.Join(types, ", "))
	fmt.Fprintf(&b, "    function_regexp: %s\n", yamlQuote(regexp.QuoteMeta(c.Function)))
	fmt.Fprintf(&b, "    scope: cause  # this cause, with the callers and callees folded under it\n")
	fmt.Fprintf(&b, "    reason: %s\n", yamlQuote("TODO: why this cost is accepted, and the ticket that tracks it"))
	fmt.Fprintf(&b, "    expires: %s\n", at.UTC().AddDate(0, 0, IgnoreDays).Format(time.DateOnly))
	return b.String()
}

// yamlQuote writes s as a single-quoted YAML scalar, which has no escapes
// but a doubled quote.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CauseSentence is the one-paragraph account of a cause that SARIF results
// and workflow annotations carry: the function, the service, each profile
// type's change with its interval, values and test, and what it folds.
func CauseSentence(r *diff.Result, c *diff.Cause) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s: %s", CauseVerdict(c), c.Service, displayName(c.Function, c.RawName))
	if rule := IgnoredBy(c); rule != "" && !c.Failing {
		fmt.Fprintf(&b, " (rule: %s)", rule)
	}
	for i, cs := range c.Series {
		s := r.SeriesOf(c, cs)
		if s == nil {
			continue
		}
		sep := "; "
		if i == 0 {
			sep = " — "
		}
		f := cs.Finding
		fmt.Fprintf(&b, "%s%s %s %s, %s%s (%s)", sep, cs.Alias, f.Measure, ChangeWithInterval(f), FromTo(r, s, f), ValueSuffix(SeriesNormalization(r, s)), Stats(f, s))
		if fo := Folded(cs, 3, true); fo != "" {
			fmt.Fprintf(&b, "; %s", fo)
		}
	}
	return b.String()
}

// ValueSuffix says what a value is a share of: " of the profile" under
// share normalization, " of the rest of the profile" under rest, nothing
// for rates, whose unit Value writes.
func ValueSuffix(normalization string) string {
	switch normalization {
	case string(diff.Rate):
		return ""
	case string(diff.Rest):
		return " of the rest of the profile"
	}
	return " of the profile"
}
