package diff

import (
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// stackSpec is one call stack (root first) and the samples it gets in each
// window of the baseline and of the current run.
type stackSpec struct {
	frames    []int32
	base, cur int64
}

// stackSeries builds a CPU series of windows from stacks, with their
// windows' self and cumulative values and merged stacks, as the snapshot
// builder does from pprof profiles. Windows vary by ±2% so that they have a
// variance.
func stackSeries(names []string, stacks []stackSpec, current bool, windows int) *baseline.Series {
	ids, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries("bank-order-service", ids[0])
	se.Period = 10_000_000
	for _, n := range names {
		se.Functions = append(se.Functions, baseline.Function{Name: n})
	}
	merged := make([]int64, len(stacks))
	for i := range windows {
		w := baseline.Window{Start: testNow.Add(time.Duration(i) * 10 * time.Second), End: testNow.Add(time.Duration(i+1) * 10 * time.Second), Period: se.Period}
		self, cum := map[int32]int64{}, map[int32]int64{}
		for k, st := range stacks {
			n := st.base
			if current {
				n = st.cur
			}
			n = n * int64(100+2*((i+k)%3-1)) / 100
			merged[k] += n
			v := n * se.Period
			self[st.frames[len(st.frames)-1]] += v
			seen := map[int32]bool{}
			for _, f := range st.frames {
				if !seen[f] {
					seen[f] = true
					cum[f] += v
				}
			}
			w.Samples += n
			w.Total += v
		}
		for f := range int32(len(names)) {
			if v := self[f]; v > 0 {
				w.Self = append(w.Self, baseline.Value{F: f, V: v})
			}
			if v := cum[f]; v > 0 {
				w.Cum = append(w.Cum, baseline.Value{F: f, V: v})
			}
		}
		se.Windows = append(se.Windows, w)
	}
	for k, st := range stacks {
		se.Stacks = append(se.Stacks, baseline.Stack{Frames: st.frames, Value: merged[k] * se.Period})
	}
	return se
}

// TestExplainByGrowthUnderCaller: a caller's cumulative regression is
// explained by the callee that grew under it, not by a callee that grew
// more elsewhere. main.A calls main.B, which doubled, and reaches
// runtime.memmove through main.C, unchanged; memmove grew more, but under
// main.D. So main.A is explained by main.B and main.D by memmove.
func TestExplainByGrowthUnderCaller(t *testing.T) {
	names := []string{"main.A", "main.B", "main.C", "runtime.memmove", "main.D", "main.rest"}
	const a, b, c, mm, d, rest = 0, 1, 2, 3, 4, 5
	stacks := []stackSpec{
		{frames: []int32{a, b}, base: 1000, cur: 2000},
		{frames: []int32{a, c, mm}, base: 500, cur: 500},
		{frames: []int32{d, mm}, base: 1000, cur: 2500},
		{frames: []int32{rest}, base: 7500, cur: 7500},
	}
	base := stackSeries(names, stacks, false, 12)
	cur := stackSeries(names, stacks, true, 12)
	r := mustCompare(t, snap(base), snap(cur), Options{Normalization: Share, TopUnchanged: -1})
	want := map[string]string{"main.A": "main.B", "main.D": "runtime.memmove"}
	got := map[string]string{}
	for _, f := range r.Series[0].Findings {
		if f.Measure == Cumulative && f.Kind == KindRegression {
			got[f.Function] = f.ExplainedBy
		}
	}
	for fn, by := range want {
		if got[fn] != by {
			t.Errorf("%s: explained by %q, want %q (all: %v)", fn, got[fn], by, got)
		}
	}
}
