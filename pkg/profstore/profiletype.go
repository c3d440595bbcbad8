package profstore

import (
	"fmt"
	"strings"

	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// sampleTypeConfig is the per-sample-type metadata pyroscope-go sends in the
// sample_type_config part of an /ingest upload. Only DisplayName changes
// the profile type; the rest is accepted for completeness.
type sampleTypeConfig struct {
	Units       string `json:"units,omitempty"`
	DisplayName string `json:"display-name,omitempty"`
	Aggregation string `json:"aggregation,omitempty"`
	Cumulative  bool   `json:"cumulative,omitempty"`
	Sampled     bool   `json:"sampled,omitempty"`
}

// defaultDisplayNames is what the real server assumes when an upload comes
// without a sample_type_config (pyroscope-go's CPU uploads, raw pprof with
// format=pprof). It is why a raw Go mutex profile is named "mutex" and a raw
// goroutine profile "goroutines".
var defaultDisplayNames = map[string]string{
	"samples":     "cpu",
	"goroutine":   "goroutines",
	"contentions": "mutex_count",
	"delay":       "mutex_duration",
}

// profileName derives the __name__ of an uploaded pprof the way the real
// server's /ingest does: from the display names of its sample types, looked
// for well-known fragments in order. When nothing matches, the last display
// name is used as is — which is how pyroscope-go's goroutine uploads (display
// name "goroutine") become "goroutine".
func profileName(p *profilev1.Profile, cfg map[string]*sampleTypeConfig) string {
	for _, st := range p.SampleType {
		if p.StringTable[st.Type] == "wall" {
			return "wall"
		}
	}
	var name string
	for _, st := range p.SampleType {
		name = p.StringTable[st.Type]
		display := ""
		if cfg != nil {
			if c := cfg[name]; c != nil {
				display = c.DisplayName
			}
		} else {
			display = defaultDisplayNames[name]
		}
		if display != "" {
			name = display
		}
		switch {
		case strings.Contains(name, "cpu"):
			return "process_cpu"
		case strings.Contains(name, "alloc_"), strings.Contains(name, "inuse_"), name == "space", name == "objects":
			return "memory"
		case strings.Contains(name, "mutex_"):
			return "mutex"
		case strings.Contains(name, "block_"):
			return "block"
		case strings.Contains(name, "goroutines"):
			return "goroutines"
		}
	}
	return name
}

// profileType is one queryable kind of profile, e.g.
// process_cpu:cpu:nanoseconds:cpu:nanoseconds.
type profileType struct {
	Name, SampleType, SampleUnit, PeriodType, PeriodUnit string
}

func (t profileType) ID() string {
	return t.Name + ":" + t.SampleType + ":" + t.SampleUnit + ":" + t.PeriodType + ":" + t.PeriodUnit
}

func (t profileType) proto() *typesv1.ProfileType {
	return &typesv1.ProfileType{
		ID: t.ID(), Name: t.Name,
		SampleType: t.SampleType, SampleUnit: t.SampleUnit,
		PeriodType: t.PeriodType, PeriodUnit: t.PeriodUnit,
	}
}

// profileTypesOf lists the profile type of each sample type, in order.
func profileTypesOf(name string, p *profilev1.Profile) []profileType {
	var pt, pu string
	if p.PeriodType != nil {
		pt, pu = p.StringTable[p.PeriodType.Type], p.StringTable[p.PeriodType.Unit]
	}
	out := make([]profileType, len(p.SampleType))
	for i, st := range p.SampleType {
		out[i] = profileType{
			Name: name, SampleType: p.StringTable[st.Type], SampleUnit: p.StringTable[st.Unit],
			PeriodType: pt, PeriodUnit: pu,
		}
	}
	return out
}

// ParseProfileTypeID splits a profile type ID into its five parts, with the
// real server's error wording. A sixth ":delta" part is tolerated.
func parseProfileTypeID(id string) (profileType, error) {
	parts := strings.Split(id, ":")
	if len(parts) != 5 && len(parts) != 6 {
		return profileType{}, fmt.Errorf("profile-type selection must be of the form <name>:<sample-type>:<sample-unit>:<period-type>:<period-unit>(:delta), got(%d): %q", len(parts), id)
	}
	return profileType{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}

// mergedPeriod is the period the real server writes into merged profiles: it
// guesses from the profile name instead of keeping the uploaded one, which is
// why a merged CPU profile says 1e9 although pyroscope-go samples at 100 Hz.
func mergedPeriod(name string) int64 {
	switch name {
	case "process_cpu":
		return 1_000_000_000
	case "memory":
		return 512 * 1024
	default:
		return 1
	}
}
