package profstore

import (
	"time"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// The flamebearer v1 JSON of /pyroscope/render, field for field as the real
// server writes it (keys and null-ness matter to Grafana and old UIs).
type flamebearerProfile struct {
	Version     int                             `json:"version"`
	Flamebearer flamebearerV1                   `json:"flamebearer"`
	Metadata    flamebearerMetadata             `json:"metadata"`
	Timeline    *flamebearerTimeline            `json:"timeline"`
	Groups      map[string]*flamebearerTimeline `json:"groups"`
	Heatmap     *struct{}                       `json:"heatmap"`
	LeftTicks   uint64                          `json:"leftTicks,omitempty"`
	RightTicks  uint64                          `json:"rightTicks,omitempty"`
}

type flamebearerV1 struct {
	Names    []string  `json:"names"`
	Levels   [][]int64 `json:"levels"`
	NumTicks int64     `json:"numTicks"`
	MaxSelf  int64     `json:"maxSelf"`
}

type flamebearerMetadata struct {
	Format     string `json:"format"`
	SpyName    string `json:"spyName"`
	SampleRate uint32 `json:"sampleRate"`
	Units      string `json:"units"`
	Name       string `json:"name"`
}

type flamebearerTimeline struct {
	StartTime     int64         `json:"startTime"`
	Samples       []uint64      `json:"samples"`
	DurationDelta int64         `json:"durationDelta"`
	Watermarks    map[int]int64 `json:"watermarks"`
}

// flamebearerMeta picks units and sample rate the way the real server's
// export does: counts are "objects", CPU time is "samples" at a 1e9 rate
// (nanoseconds), everything else keeps its unit at rate 100.
func flamebearerMeta(t profileType, format string) flamebearerMetadata {
	md := flamebearerMetadata{Format: format, Units: t.SampleUnit, Name: t.SampleType, SampleRate: 100}
	switch t.SampleType {
	case "inuse_objects", "alloc_objects", "goroutine", "samples":
		md.Units = "objects"
	case "cpu":
		md.Units = "samples"
		md.SampleRate = 1_000_000_000
	}
	return md
}

func levelsOf(ls []*querierv1.Level) [][]int64 {
	out := make([][]int64, len(ls))
	for i, l := range ls {
		out[i] = l.Values
		if out[i] == nil {
			out[i] = []int64{}
		}
	}
	return out
}

// newTimeline lays a series on a grid of stepSec buckets from start to end
// (snapped down to bucket boundaries), zero where there is no point.
func newTimeline(s *typesv1.Series, startMs, endMs, stepSec int64) *flamebearerTimeline {
	stepMs := stepSec * 1000
	startMs = startMs / stepMs * stepMs
	endMs = endMs / stepMs * stepMs
	tl := &flamebearerTimeline{StartTime: startMs / 1000, DurationDelta: stepSec, Samples: []uint64{}}
	if startMs >= endMs {
		return tl
	}
	n := (endMs - startMs) / stepMs
	tl.Samples = make([]uint64, n)
	for _, p := range s.GetPoints() {
		if p.Timestamp < startMs || p.Timestamp >= endMs {
			continue
		}
		i := (p.Timestamp - startMs) / stepMs
		if p.Value > 0 {
			tl.Samples[i] += uint64(p.Value)
		}
	}
	return tl
}

// pointInterval picks the timeline step for a range the way the real server
// (and Grafana) do: aim for 1500 points, never finer than 15 s, rounded to
// a "nice" step.
func pointInterval(startMs, endMs int64) int64 {
	d := time.Duration(endMs-startMs) * time.Millisecond / 1500
	if d < 15*time.Second {
		return 15
	}
	for _, r := range niceSteps {
		if d <= r.upTo {
			return int64(r.step / time.Second)
		}
	}
	return int64(365 * 24 * time.Hour / time.Second)
}

// niceSteps maps an ideal interval (up to upTo) to the step used for it.
var niceSteps = []struct{ upTo, step time.Duration }{
	{17500 * time.Millisecond, 15 * time.Second},
	{25 * time.Second, 20 * time.Second},
	{45 * time.Second, 30 * time.Second},
	{90 * time.Second, time.Minute},
	{210 * time.Second, 2 * time.Minute},
	{450 * time.Second, 5 * time.Minute},
	{750 * time.Second, 10 * time.Minute},
	{1050 * time.Second, 15 * time.Minute},
	{1500 * time.Second, 20 * time.Minute},
	{2700 * time.Second, 30 * time.Minute},
	{5400 * time.Second, time.Hour},
	{9000 * time.Second, 2 * time.Hour},
	{16200 * time.Second, 3 * time.Hour},
	{32400 * time.Second, 6 * time.Hour},
	{86400 * time.Second, 12 * time.Hour},
	{604800 * time.Second, 24 * time.Hour},
	{1814400 * time.Second, 7 * 24 * time.Hour},
	{3628800 * time.Second, 30 * 24 * time.Hour},
}
