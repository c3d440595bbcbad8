package baseline

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

var timeZero = time.Unix(1_700_000_000, 0)

func cpuID(t testing.TB) profiletype.ID {
	ids, err := profiletype.Parse("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// addCPUWindow appends to se the 10 s window that package reduce makes of
// a 100 Hz CPU profile starting at start whose samples are the given
// stacks (leaf first, frames separated by ";") with the given sample
// counts: this package's tests need series, not the reduction.
func addCPUWindow(se *Series, start time.Time, stacks map[string]int64) {
	const period = 10_000_000
	index := se.functionIndex()
	self, cum := map[int32]int64{}, map[int32]int64{}
	selfVW, cumVW := map[int32]float64{}, map[int32]float64{}
	w := Window{Start: start.UTC(), End: start.Add(10 * time.Second).UTC(), Period: period}
	if se.Period == 0 {
		se.Period = period
	}
	st := NewStackIndex(se)
	for _, stack := range slices.Sorted(maps.Keys(stacks)) {
		n := stacks[stack]
		v := n * period
		vw := float64(v) * float64(v) / float64(n) // v times an event's value
		var frames []int32
		for _, name := range strings.Split(stack, ";") {
			f, ok := index[name]
			if !ok {
				f = int32(len(se.Functions))
				se.Functions = append(se.Functions, Function{Name: name, File: "/src/app/" + strings.SplitN(name, ".", 2)[0] + ".go", Line: 10})
				index[name] = f
			}
			frames = append(frames, f)
		}
		w.Total += v
		w.Samples += n
		self[frames[0]] += v
		selfVW[frames[0]] += vw
		seen := map[int32]bool{}
		for _, f := range frames {
			if !seen[f] {
				seen[f] = true
				cum[f] += v
				cumVW[f] += vw
			}
		}
		st.Add(frames, true, v)
	}
	for f, vw := range selfVW {
		se.Functions[f].SelfVW += vw
	}
	for f, vw := range cumVW {
		se.Functions[f].CumVW += vw
	}
	w.Self, w.Cum = toValues(self), toValues(cum)
	se.Windows = append(se.Windows, w)
}
