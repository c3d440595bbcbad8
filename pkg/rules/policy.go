package rules

import (
	"fmt"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
)

// Policy returns the rules as a diff.Policy, judging ignore expiry as of
// now (an ignore applies through its expires date, in UTC). It is also a
// diff.CausePolicy, for the ignore entries of scope: cause.
func (r *Rules) Policy(now time.Time) diff.Policy {
	p := &policy{r: r, funcRules: map[string][]Override{}}
	today := now.UTC()
	for _, ig := range r.Ignores {
		if !ig.Expires.IsZero() && !today.Before(ig.Expires.AddDate(0, 0, 1)) {
			p.warnings = append(p.warnings, fmt.Sprintf("ignore rule %s (%s line %d: %q) expired on %s and no longer applies; remove it or extend it",
				ig.Name, r.Source, ig.Line, ig.Reason, ig.Expires.Format("2006-01-02")))
			continue
		}
		p.ignores = append(p.ignores, ig)
	}
	return p
}

type policy struct {
	r         *Rules
	ignores   []Ignore // not expired
	warnings  []string
	funcRules map[string][]Override // by service+type: overrides with a function pattern that select the series
}

func (p *policy) SeriesParams(service, profileType string, def diff.Params) (diff.Params, string) {
	out := overlay(def, p.r.Defaults)
	rule := ""
	var fr []Override
	for _, o := range p.r.Overrides {
		if !o.Match.series(service, profileType) {
			continue
		}
		if o.Match.Function != nil {
			fr = append(fr, o)
			continue
		}
		out = overlay(out, o.Set)
		rule = o.Name
	}
	p.funcRules[service+"\x00"+profileType] = fr
	return out, rule
}

func (p *policy) FunctionParams(service, profileType, function string, series diff.Params) (diff.Params, string) {
	fr, ok := p.funcRules[service+"\x00"+profileType]
	if !ok {
		for _, o := range p.r.Overrides {
			if o.Match.Function != nil && o.Match.series(service, profileType) {
				fr = append(fr, o)
			}
		}
		p.funcRules[service+"\x00"+profileType] = fr
	}
	out, rule := series, ""
	for _, o := range fr {
		if o.Match.Function.MatchString(function) {
			out = overlay(out, o.Set)
			rule = o.Name
		}
	}
	return out, rule
}

// Ignore applies the function-scoped entries; IgnoreCause the others.
func (p *policy) Ignore(service, profileType, function string) (string, bool) {
	return p.ignore(false, service, profileType, function)
}

// IgnoreCause implements diff.CausePolicy with the entries of scope: cause.
func (p *policy) IgnoreCause(service, profileType, function string) (string, bool) {
	return p.ignore(true, service, profileType, function)
}

func (p *policy) ignore(cause bool, service, profileType, function string) (string, bool) {
	for _, ig := range p.ignores {
		if ig.Cause != cause || !ig.Match.series(service, profileType) {
			continue
		}
		if ig.Match.Function == nil || ig.Match.Function.MatchString(function) {
			return ig.Name + ": " + ig.Reason, true
		}
	}
	return "", false
}

func (p *policy) Warnings() []string { return p.warnings }

// overlay returns base with every non-zero field of set replacing it.
func overlay(base, set diff.Params) diff.Params {
	return set.Merge(base)
}

// SeriesIgnored reports whether an ignore entry without a function pattern
// covers the whole series, and its name and reason: such a series is not
// gated at all, and a baseline need not record it.
func (r *Rules) SeriesIgnored(service, profileType string, now time.Time) (string, bool) {
	today := now.UTC()
	for _, ig := range r.Ignores {
		if ig.Match.Function != nil || !ig.Match.series(service, profileType) {
			continue
		}
		if !ig.Expires.IsZero() && !today.Before(ig.Expires.AddDate(0, 0, 1)) {
			continue
		}
		return ig.Name + ": " + ig.Reason, true
	}
	return "", false
}

// Layer returns the rules of r with over's on top, as if over's entries
// were written after r's: over's defaults replace r's field by field, its
// overrides apply after r's (so they win), and both files' ignores apply.
// Messages name over's source. Either may be nil.
func Layer(r, over *Rules) *Rules {
	switch {
	case r == nil:
		return over
	case over == nil:
		return r
	}
	return &Rules{
		Source:    over.Source,
		Defaults:  over.Defaults.Merge(r.Defaults),
		Overrides: append(append([]Override(nil), r.Overrides...), over.Overrides...),
		Ignores:   append(append([]Ignore(nil), r.Ignores...), over.Ignores...),
	}
}
