package pyroscope

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// DefaultUploadInterval is pyroscope-go's default upload interval (its
// Config.UploadRate): a service that does not set one sends a profile of
// each type every 15 s.
const DefaultUploadInterval = 15 * time.Second

// detectSpan bounds the part of a range UploadInterval looks at: a few
// dozen uploads tell the interval, and a one-second step over hours would
// be a large answer for nothing.
const detectSpan = 10 * time.Minute

// UploadInterval measures how often the services q selects upload
// profiles: the time between one profile and the next, read from a series
// query at a one-second step over (the last ten minutes of) q's range, per
// service, rounded to the second. A window must be a multiple of it, or
// windows alternate between one upload and none.
//
// It returns 0 and the reason when the data cannot tell: fewer than three
// uploads of any service in the range, or uploads at irregular times (two
// instances of a service uploading out of phase look like one service
// uploading at half the interval, at uneven gaps).
func (c *Client) UploadInterval(ctx context.Context, q Query) (time.Duration, string, error) {
	if q.From.IsZero() || !q.Until.After(q.From) {
		return 0, "", fmt.Errorf("upload interval: query needs a range (from before until)")
	}
	from := q.From
	if q.Until.Sub(from) > detectSpan {
		from = q.Until.Add(-detectSpan)
	}
	typeID := profiletype.Default()[0].String() // cpu: every pyroscope-go upload has it
	if len(q.Types) > 0 {
		typeID = q.Types[0].String()
	}
	resp, err := call(ctx, c, "SelectSeries", c.q.SelectSeries, &querierv1.SelectSeriesRequest{
		ProfileTypeID: typeID,
		LabelSelector: q.Selector.with(`service_name!=""`),
		Start:         from.UnixMilli(),
		End:           q.Until.UnixMilli(),
		GroupBy:       []string{"service_name"},
		Step:          1,
	})
	if err != nil {
		return 0, "", err
	}
	want := map[string]bool{}
	for _, s := range q.Services {
		want[s] = true
	}
	var perService []float64 // each service's median gap, in seconds
	irregular := 0
	for _, s := range resp.Series {
		svc := ""
		for _, l := range s.Labels {
			if l.Name == "service_name" {
				svc = l.Value
			}
		}
		if len(want) > 0 && !want[svc] {
			continue
		}
		gap, ok := medianGap(s.Points)
		switch {
		case gap == 0:
			continue // fewer than three uploads
		case !ok:
			irregular++
			continue
		}
		perService = append(perService, gap)
	}
	if len(perService) == 0 {
		if irregular > 0 {
			return 0, "the profiles arrive at uneven intervals (several instances of a service uploading out of step?)", nil
		}
		return 0, fmt.Sprintf("fewer than three uploads of any service in %s .. %s", from.UTC().Format(time.RFC3339), q.Until.UTC().Format(time.RFC3339)), nil
	}
	sort.Float64s(perService)
	med := perService[len(perService)/2]
	return time.Duration(math.Round(med)) * time.Second, "", nil
}

// medianGap is the median time between consecutive points, in whole
// seconds, and whether most gaps agree with it (within a second or 10%).
// It is 0 for fewer than three points.
func medianGap[P interface{ GetTimestamp() int64 }](points []P) (float64, bool) {
	ts := make([]int64, 0, len(points))
	for _, p := range points {
		ts = append(ts, p.GetTimestamp())
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if len(ts) < 3 {
		return 0, false
	}
	gaps := make([]float64, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, float64(ts[i]-ts[i-1])/1000)
	}
	sort.Float64s(gaps)
	med := math.Round(gaps[len(gaps)/2])
	if med < 1 {
		return 0, false
	}
	agree := 0
	for _, g := range gaps {
		if math.Abs(g-med) <= math.Max(1, 0.1*med) {
			agree++
		}
	}
	return med, 3*agree >= 2*len(gaps)
}
