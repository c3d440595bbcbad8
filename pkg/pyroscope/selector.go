package pyroscope

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promParser is Prometheus's own parser, which Pyroscope itself uses for
// label selectors: what it accepts here, the server accepts too.
var promParser = parser.NewParser(parser.Options{})

// placeholder stands in for the service_name matcher every query adds, so
// that a selector such as {env=~".*"} is not refused for matching the empty
// string on its own (Prometheus requires one matcher that does not).
const placeholder = `__profdiff_placeholder__="x"`

// typeLabels select a profile type; they belong to --type, not a selector.
var typeLabels = map[string]bool{
	"__name__": true, "__profile_type__": true, "__type__": true, "__unit__": true,
	"__period_type__": true, "__period_unit__": true,
}

// Selector is a parsed label selector in Prometheus matcher syntax, e.g.
// {version="v2",env=~"staging|prod"}: the extra matchers that narrow which
// profiles are collected. The zero Selector selects everything.
type Selector struct {
	matchers []*labels.Matcher
}

// ParseSelector parses a selector. Braces are optional, so that
// `version="v2"` reads the same as `{version="v2"}`; an empty string or {}
// selects everything. Profile types are chosen by Query.Types, so matchers on
// __name__ or __profile_type__ (or a metric name before the braces) are
// refused.
func ParseSelector(s string) (Selector, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "{}" {
		return Selector{}, nil
	}
	if !strings.HasPrefix(t, "{") && !strings.HasSuffix(t, "}") {
		t = "{" + t + "}"
	}
	ms, err := promParser.ParseMetricSelector(t)
	if err != nil && strings.HasPrefix(t, "{") {
		// Retry with the service matcher every query adds; keep the first
		// error, whose positions refer to what the user typed.
		if ms2, err2 := promParser.ParseMetricSelector("{" + placeholder + "," + t[1:]); err2 == nil {
			ms, err = ms2[1:], nil
		}
	}
	if err != nil {
		return Selector{}, fmt.Errorf("selector %q: %v (want Prometheus matchers, e.g. {version=\"v2\",env=~\"a|b\"})", s, err)
	}
	for _, m := range ms {
		if typeLabels[m.Name] {
			return Selector{}, fmt.Errorf("selector %q: choose profile types with the type option, not the label %s", s, m.Name)
		}
	}
	return Selector{matchers: ms}, nil
}

// MustParseSelector is ParseSelector for constants in tests and examples.
func MustParseSelector(s string) Selector {
	sel, err := ParseSelector(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// Matchers returns the parsed matchers.
func (s Selector) Matchers() []*labels.Matcher { return s.matchers }

// IsZero reports whether the selector selects everything.
func (s Selector) IsZero() bool { return len(s.matchers) == 0 }

// String returns the canonical form, "{...}", or "" for the zero selector.
func (s Selector) String() string {
	if len(s.matchers) == 0 {
		return ""
	}
	return "{" + s.join() + "}"
}

func (s Selector) join() string {
	parts := make([]string, len(s.matchers))
	for i, m := range s.matchers {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

// forService is the label selector of one service's profiles.
func (s Selector) forService(service string) string {
	return s.with(`service_name=` + strconv.Quote(service))
}

// with prepends a matcher, which also satisfies Prometheus's rule that a
// selector needs one matcher that does not match the empty string.
func (s Selector) with(m string) string {
	if len(s.matchers) == 0 {
		return "{" + m + "}"
	}
	return "{" + m + "," + s.join() + "}"
}
