package pyroscope

import (
	"testing"

	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// TestMedianGap: the upload interval of a series of points, and whether it
// is regular enough to trust.
func TestMedianGap(t *testing.T) {
	pts := func(secs ...float64) []*typesv1.Point {
		var out []*typesv1.Point
		for _, s := range secs {
			out = append(out, &typesv1.Point{Timestamp: int64(s * 1000)})
		}
		return out
	}
	tests := []struct {
		name    string
		points  []*typesv1.Point
		gap     float64
		regular bool
	}{
		{"every 10 s", pts(0, 10, 20, 30, 40), 10, true},
		{"every 15 s, out of order", pts(30, 0, 15, 45), 15, true},
		{"one upload missed", pts(0, 10, 20, 40, 50, 60), 10, true},
		{"a second of jitter", pts(0, 10, 21, 30, 40, 51), 10, true},
		{"two instances out of phase", pts(0, 3, 10, 13, 20, 23, 30, 33), 0, false},
		{"two points", pts(0, 10), 0, false},
		{"duplicates only", pts(5, 5, 5), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gap, ok := medianGap(tt.points)
			if ok != tt.regular || (tt.regular && gap != tt.gap) {
				t.Errorf("gap %g regular %v, want %g %v", gap, ok, tt.gap, tt.regular)
			}
		})
	}
}
