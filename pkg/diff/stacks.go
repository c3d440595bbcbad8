package diff

import "github.com/profdiff/profdiff/pkg/baseline"

// stackView is the cause model's only reader of a series' merged call
// stacks (SeriesResult.Base.Stacks and Cur.Stacks). The stacks may move out
// of the series one day; then only this file changes.
//
// Values are shares of each side's stack total, so a side that ran longer
// does not look as if it grew.
type stackView struct {
	base, cur *baseline.Series
}

func newStackView(sr *SeriesResult) stackView {
	return stackView{base: sr.Base, cur: sr.Cur}
}

// hasStacks reports whether the current side has any stacks to read.
func (v stackView) hasStacks() bool { return v.cur != nil && len(v.cur.Stacks) > 0 }

// ancestorGrowth is how much of one function's self growth lies under an
// ancestor: growth is the change of its self share in the stacks that pass
// through the ancestor, depth how many frames above the function the
// ancestor sits at its nearest.
type ancestorGrowth struct {
	growth float64
	depth  int
}

// growthUnder returns a function's whole growth (current share less
// baseline share; self value, or with cum its cumulative value) and the part
// of it under each function above it in the stacks. Under recursion the
// outermost call counts, once per stack.
func (v stackView) growthUnder(fn string, cum bool) (total float64, under map[string]ancestorGrowth) {
	under = map[string]ancestorGrowth{}
	for _, side := range []struct {
		se   *baseline.Series
		sign float64
	}{{v.base, -1}, {v.cur, 1}} {
		se := side.se
		if se == nil {
			continue
		}
		sum := stackTotal(se)
		if sum <= 0 {
			continue
		}
		for _, st := range se.Stacks {
			n := len(st.Frames)
			if n == 0 || st.Value <= 0 {
				continue
			}
			at := -1
			if cum {
				for i, f := range st.Frames {
					if name(se, f) == fn {
						at = i
						break
					}
				}
			} else if name(se, st.Frames[n-1]) == fn {
				at = n - 1
			}
			if at < 0 {
				continue
			}
			x := side.sign * float64(st.Value) / float64(sum)
			total += x
			seen := map[string]bool{fn: true}
			for i := at - 1; i >= 0; i-- {
				a := name(se, st.Frames[i])
				if a == "" || seen[a] {
					continue
				}
				seen[a] = true
				g, ok := under[a]
				if d := at - i; !ok || d < g.depth {
					g.depth = d
				}
				g.growth += x
				under[a] = g
			}
		}
	}
	return total, under
}

// above returns the pairs (a, b) of names among names such that a is
// above b in some current stack (a calls b, directly or not).
func (v stackView) above(names map[string]bool) map[[2]string]bool {
	out := map[[2]string]bool{}
	if v.cur == nil {
		return out
	}
	var seen []string
	for _, st := range v.cur.Stacks {
		seen = seen[:0]
		for _, f := range st.Frames {
			b := name(v.cur, f)
			if !names[b] {
				continue
			}
			for _, a := range seen {
				if a != b {
					out[[2]string{a, b}] = true
				}
			}
			seen = append(seen, b)
		}
	}
	return out
}

// heaviestPath returns the callers of fn on the current side's heaviest
// call path to it, nearest caller first: the path through which most of
// its current cumulative value flows. Recursion takes the outermost call.
func (v stackView) heaviestPath(fn string) []Frame {
	if v.cur == nil {
		return nil
	}
	se := v.cur
	type path struct {
		frames []int32
		value  int64
	}
	paths := map[string]*path{}
	var best *path
	for _, st := range se.Stacks {
		for i, f := range st.Frames {
			if name(se, f) != fn {
				continue
			}
			key := string(int32Key(st.Frames[:i]))
			p, ok := paths[key]
			if !ok {
				p = &path{frames: st.Frames[:i]}
				paths[key] = p
			}
			p.value += st.Value
			if best == nil || p.value > best.value || p.value == best.value && len(p.frames) < len(best.frames) {
				best = p
			}
			break
		}
	}
	if best == nil {
		return nil
	}
	out := make([]Frame, 0, len(best.frames))
	for i := len(best.frames) - 1; i >= 0; i-- {
		fi := best.frames[i]
		if fi < 0 || int(fi) >= len(se.Functions) {
			continue
		}
		f := se.Functions[fi]
		out = append(out, Frame{Function: f.Name, File: f.File, Line: f.Line})
	}
	return out
}

func int32Key(fs []int32) []byte {
	b := make([]byte, 0, 4*len(fs))
	for _, f := range fs {
		b = append(b, byte(f), byte(f>>8), byte(f>>16), byte(f>>24))
	}
	return b
}

func name(se *baseline.Series, f int32) string {
	if f < 0 || int(f) >= len(se.Functions) {
		return ""
	}
	return se.Functions[f].Name
}

func stackTotal(se *baseline.Series) int64 {
	var t int64
	for _, st := range se.Stacks {
		t += st.Value
	}
	return t
}
