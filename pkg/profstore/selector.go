package profstore

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promParser is Prometheus's own selector parser, so that profstore accepts
// exactly the matcher syntax real Pyroscope does (which uses the same
// parser) and reports the same parse errors.
var promParser = parser.NewParser(parser.Options{})

// ParseSelector parses a label selector such as
// `{service_name="x",env=~"a|b"}`. An empty selector or "{}" matches
// everything: Grafana and the real server both use "{}" that way, although
// Prometheus itself rejects it.
func ParseSelector(s string) ([]*labels.Matcher, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "{}" {
		return nil, nil
	}
	ms, err := promParser.ParseMetricSelector(t)
	if err != nil {
		// The parser may return partial matchers with an error; never let
		// them be used.
		return nil, err
	}
	return ms, nil
}

// matchesAll reports whether the label set satisfies every matcher. A label
// that is absent matches as the empty string, as in Prometheus.
func matchesAll(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}
