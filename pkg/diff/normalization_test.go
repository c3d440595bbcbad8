package diff

import (
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// lockSeries is a mutex-delay series where one lock holds nearly all the
// delay, as a coarse lock does: its share is ~99% whatever its size.
func lockSeries(delays []int64) *baseline.Series {
	ids, _ := profiletype.Parse("mutex_delay")
	se := baseline.NewSeries("bank-order-service", ids[0])
	se.Functions = []baseline.Function{{Name: "main.processOrders"}, {Name: "main.other"}}
	start := testNow
	for i, d := range delays {
		other := int64(10_000_000) + int64(i%3)*1_000_000
		se.Windows = append(se.Windows, baseline.Window{
			Start: start.Add(time.Duration(i) * 10 * time.Second),
			End:   start.Add(time.Duration(i+1) * 10 * time.Second),
			Total: d + other,
			Self:  baseline.Values{{F: 0, V: d}, {F: 1, V: other}},
			Cum:   baseline.Values{{F: 0, V: d}, {F: 1, V: other}},
		})
	}
	return se
}

func TestTypeNormalizationRateFindsDominantLock(t *testing.T) {
	base := lockSeries([]int64{2.0e9, 2.1e9, 1.9e9, 2.05e9, 1.95e9, 2.0e9})
	cur := lockSeries([]int64{3.0e9, 3.1e9, 2.9e9, 3.05e9, 2.95e9, 3.0e9}) // +50% delay per second
	ids, _ := profiletype.Parse("mutex_delay")
	tests := []struct {
		name    string
		opts    Options
		want    Verdict
		wantNrm string
	}{
		{"share cannot see it", Options{}, Pass, "share"},
		{"rate for lock types finds it", Options{TypeNormalization: map[string]Normalization{ids[0].String(): Rate}}, Regression, "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompare(t, snap(base), snap(cur), tt.opts)
			sr := r.Series[0]
			if sr.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s", sr.Verdict, sr.Reason, tt.want)
			}
			if sr.Normalization != tt.wantNrm {
				t.Errorf("series normalization %q, want %q", sr.Normalization, tt.wantNrm)
			}
			if tt.want == Regression {
				f := findingsOf(r, KindRegression)
				if len(f) == 0 || f[0].Function != "main.processOrders" {
					t.Fatalf("regression findings %+v, want main.processOrders", f)
				}
				if f[0].Change < 0.4 || f[0].Change > 0.6 {
					t.Errorf("change %.2f, want about +0.50", f[0].Change)
				}
				if r.Normalization != "mixed" {
					t.Errorf("run normalization %q, want mixed", r.Normalization)
				}
			}
		})
	}
}
