package profstore

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// Label names the real server adds to every series, alongside the user's.
const (
	labelName        = "__name__"
	labelProfileType = "__profile_type__"
	labelServiceKey  = "__service_name__"
	labelType        = "__type__"
	labelUnit        = "__unit__"
	labelPeriodType  = "__period_type__"
	labelPeriodUnit  = "__period_unit__"
	labelSessionID   = "__session_id__"
	labelDelta       = "__delta__"
	labelService     = "service_name"
	labelSpy         = "pyroscope_spy"
)

// visibleLabel reports whether a label name is listed by LabelNames and
// Series. Real Pyroscope v2 keeps the SDK's dotted labels (otel.scope.name,
// process.runtime.version, ...) and __session_id__ on the series — they can
// still be matched — but does not list them; profstore does the same. (v1
// renamed dots to underscores instead.)
func visibleLabel(name string) bool {
	if name == labelSessionID || name == labelDelta || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// ingestBaseLabels builds the labels an /ingest upload contributes, before
// the per-sample-type ones: the user's tags (reserved "__" names dropped,
// except __session_id__), pyroscope_spy, and service_name from the
// application name unless a tag already sets it.
func ingestBaseLabels(tags map[string]string, appName, spyName string) map[string]string {
	out := make(map[string]string, len(tags)+3)
	for k, v := range tags {
		if strings.HasPrefix(k, "__") && k != labelSessionID {
			continue
		}
		out[k] = v
	}
	if _, ok := out[labelService]; !ok {
		out[labelService] = appName
	}
	out[labelSpy] = spyName
	return out
}

// seriesLabels adds the profile type labels to base and returns a sorted
// label set. __service_name__ repeats service_name, as the real server does
// to keep the physical order of its data by service.
func seriesLabels(base map[string]string, t profileType) labels.Labels {
	b := labels.NewScratchBuilder(len(base) + 7)
	for k, v := range base {
		switch k {
		case labelName, labelProfileType, labelServiceKey, labelType, labelUnit, labelPeriodType, labelPeriodUnit, labelDelta:
			continue
		}
		b.Add(k, v)
	}
	b.Add(labelName, t.Name)
	b.Add(labelProfileType, t.ID())
	b.Add(labelServiceKey, base[labelService])
	b.Add(labelType, t.SampleType)
	b.Add(labelUnit, t.SampleUnit)
	b.Add(labelPeriodType, t.PeriodType)
	b.Add(labelPeriodUnit, t.PeriodUnit)
	b.Sort()
	return b.Labels()
}

// pushBaseLabels checks the labels of a Push series with the real server's
// wording and returns them as a map, plus the profile name (__name__).
func pushBaseLabels(pairs []*typesv1.LabelPair) (map[string]string, string, error) {
	if len(pairs) == 0 {
		return nil, "", errors.New("error at least one label pair is required per profile")
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if p == nil {
			continue
		}
		if _, dup := m[p.Name]; dup {
			return nil, "", fmt.Errorf("profile with labels '%s' has duplicate label name: '%s'", pairsString(pairs), p.Name)
		}
		m[p.Name] = p.Value
	}
	name := m[labelName]
	if name == "" {
		return nil, "", fmt.Errorf("invalid labels '%s' with error: invalid metric name", pairsString(pairs))
	}
	if m[labelService] == "" {
		return nil, "", fmt.Errorf("invalid labels '%s' with error: service name is not provided", pairsString(pairs))
	}
	return m, name, nil
}

func pairsString(pairs []*typesv1.LabelPair) string {
	ps := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if p != nil {
			ps = append(ps, fmt.Sprintf("%s=%q", p.Name, p.Value))
		}
	}
	sort.Strings(ps)
	return "{" + strings.Join(ps, ", ") + "}"
}

// toPairs converts labels to the API's label pairs, keeping only names.
func toPairs(ls labels.Labels, keep func(string) bool) []*typesv1.LabelPair {
	out := make([]*typesv1.LabelPair, 0, ls.Len())
	ls.Range(func(l labels.Label) {
		if keep == nil || keep(l.Name) {
			out = append(out, &typesv1.LabelPair{Name: l.Name, Value: l.Value})
		}
	})
	return out
}
