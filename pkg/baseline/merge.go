package baseline

import (
	"fmt"
	"slices"
	"sort"
)

// MergeRuns combines snapshots of independent runs of the same build into
// one snapshot whose windows are numbered by run (Window.Run). A baseline
// recorded over several runs lets the comparison estimate how much a
// function's share moves from one run to the next, which no number of
// windows of a single run can show.
//
// Series are matched by service and profile type; a series missing from some
// runs keeps the windows it has. A snapshot that already holds several runs
// (a merged baseline) contributes each of them as its own run. Function tables are merged by identity and
// stacks summed. Meta is the first snapshot's, with From and Until widened
// to cover every run.
func MergeRuns(runs ...*Snapshot) (*Snapshot, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("merge: no snapshots")
	}
	out := &Snapshot{Meta: runs[0].Meta}
	next := int32(0)
	for r, snap := range runs {
		if snap == nil {
			return nil, fmt.Errorf("merge: snapshot %d is nil", r)
		}
		// A snapshot that is itself several runs keeps them apart: its
		// runs are renumbered after those merged so far, in their own
		// order, whichever series holds which run. So two sides of a duet,
		// each several pairs, merged trial by trial still number their
		// pairs alike.
		var ids []int32
		seen := map[int32]bool{}
		for _, se := range snap.Series {
			for _, w := range se.Windows {
				if !seen[w.Run] {
					seen[w.Run] = true
					ids = append(ids, w.Run)
				}
			}
		}
		slices.Sort(ids)
		runOf := make(map[int32]int32, len(ids))
		for _, id := range ids {
			runOf[id] = next
			next++
		}
		if !snap.Meta.From.IsZero() && (out.Meta.From.IsZero() || snap.Meta.From.Before(out.Meta.From)) {
			out.Meta.From = snap.Meta.From
		}
		if snap.Meta.Until.After(out.Meta.Until) {
			out.Meta.Until = snap.Meta.Until
		}
		for _, se := range snap.Series {
			dst := out.Lookup(se.Service, se.ProfileType)
			if dst == nil {
				dst = &Series{Service: se.Service, ProfileType: se.ProfileType, SampleType: se.SampleType, PeriodType: se.PeriodType, Period: se.Period}
				out.Put(dst)
			}
			if dst.SampleType != se.SampleType {
				return nil, fmt.Errorf("merge: %s %s: sample type %s in run %d, %s before", se.Service, se.ProfileType, se.SampleType, r, dst.SampleType)
			}
			if err := dst.appendRun(se, runOf); err != nil {
				return nil, err
			}
		}
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}

// appendRun adds src's windows, renumbering their runs by runOf, and its
// stacks to se.
func (se *Series) appendRun(src *Series, runOf map[int32]int32) error {
	index := se.functionIndex()
	remap := make([]int32, len(src.Functions))
	for i, f := range src.Functions {
		j, ok := index[f.Name]
		if !ok {
			j = int32(len(se.Functions))
			se.Functions = append(se.Functions, f)
			index[f.Name] = j
		} else {
			// The weights are sums over windows: the runs' add up.
			se.Functions[j].SelfVW += f.SelfVW
			se.Functions[j].CumVW += f.CumVW
		}
		remap[i] = j
	}
	mapValues := func(vs Values) Values {
		m := make(map[int32]int64, len(vs))
		for _, v := range vs {
			m[remap[v.F]] += v.V
		}
		return toValues(m)
	}
	for _, w := range src.Windows {
		w.Run = runOf[w.Run]
		w.Self = mapValues(w.Self)
		w.Cum = mapValues(w.Cum)
		se.Windows = append(se.Windows, w)
	}
	stacks := NewStackIndex(se)
	var frames []int32
	for _, st := range src.Stacks {
		frames = frames[:0]
		for _, f := range st.Frames {
			frames = append(frames, remap[f])
		}
		stacks.Add(frames, false, st.Value)
	}
	return nil
}

// functionIndex maps the series' function names to their indices in its
// table.
func (se *Series) functionIndex() map[string]int32 {
	m := make(map[string]int32, len(se.Functions))
	for i, f := range se.Functions {
		m[f.Name] = int32(i)
	}
	return m
}

func toValues(m map[int32]int64) Values {
	out := make(Values, 0, len(m))
	for f, v := range m {
		out = append(out, Value{F: f, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].F < out[j].F })
	return out
}
