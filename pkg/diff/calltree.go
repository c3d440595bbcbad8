package diff

import (
	"cmp"
	"slices"

	"github.com/profdiff/profdiff/pkg/baseline"
)

// CallTreeMinShare is the smallest frame a result's call trees keep: a frame
// under it on both sides is left out (and counted in CallTree.Pruned). It is
// the HTML report's default smallest frame, so that a report drawn from a
// saved result is the report drawn at compare time.
const CallTreeMinShare = 0.0005

// CallTree is one series' differential call tree: both sides' merged call
// stacks folded into one tree, each frame with its share of each side's
// stack total — what a differential flame graph draws. A result carries it
// for every series that regressed (SeriesResult.CallTree), so a report can
// be drawn from the JSON form alone (profdiff report --from).
type CallTree struct {
	// Functions is the tree's function table, one entry per function name.
	Functions []Frame `json:"functions"`
	// Root is the tree's root frame (Function -1): all of each side.
	Root *CallNode `json:"root"`
	// BaseTotal and CurTotal are the sides' stack totals, in the series'
	// unit; 0 for a side without stacks.
	BaseTotal int64 `json:"base_total"`
	CurTotal  int64 `json:"cur_total"`
	// MinShare is the smallest share kept (CallTreeMinShare unless the
	// tree was built for a smaller one); Pruned counts the frames below it.
	MinShare float64 `json:"min_share"`
	Pruned   int     `json:"pruned"`
}

// CallNode is a function at one position of the call tree. Base and Cur are
// its cumulative shares of each side's stack total, BaseSelf and CurSelf
// its self shares.
type CallNode struct {
	Function int32       `json:"f"`
	Base     float64     `json:"b"`
	Cur      float64     `json:"c"`
	BaseSelf float64     `json:"bs,omitempty"`
	CurSelf  float64     `json:"cs,omitempty"`
	Children []*CallNode `json:"k,omitempty"`

	kids map[int32]*CallNode
}

// BuildCallTree folds a series' two sides' stacks (SeriesResult.Base and
// Cur, present in a result made by Compare) into a call tree, keeping
// frames of at least minShare on either side. A series read back from JSON
// has no stacks: then it returns the tree the series carries, if any. It
// returns nil when there is nothing to fold.
func BuildCallTree(sr *SeriesResult, minShare float64) *CallTree {
	if sr.Base == nil && sr.Cur == nil {
		return sr.CallTree
	}
	return buildCallTree(sr.Base, sr.Cur, minShare)
}

func buildCallTree(base, cur *baseline.Series, minShare float64) *CallTree {
	t := &CallTree{Root: &CallNode{Function: -1, kids: map[int32]*CallNode{}}, MinShare: minShare}
	index := map[string]int32{}
	fn := func(f baseline.Function) int32 {
		if i, ok := index[f.Name]; ok {
			if t.Functions[i].File == "" && f.File != "" {
				t.Functions[i].File, t.Functions[i].Line = f.File, f.Line
			}
			return i
		}
		i := int32(len(t.Functions))
		index[f.Name] = i
		t.Functions = append(t.Functions, Frame{Function: f.Name, File: f.File, Line: f.Line})
		return i
	}
	add := func(se *baseline.Series, isCur bool) int64 {
		if se == nil {
			return 0
		}
		total := stackTotal(se)
		if total <= 0 {
			return 0
		}
		for _, st := range se.Stacks {
			if st.Value <= 0 {
				continue
			}
			share := float64(st.Value) / float64(total)
			n := t.Root
			n.add(share, isCur)
			for _, fi := range st.Frames {
				if fi < 0 || int(fi) >= len(se.Functions) {
					continue
				}
				id := fn(se.Functions[fi])
				kid, ok := n.kids[id]
				if !ok {
					kid = &CallNode{Function: id, kids: map[int32]*CallNode{}}
					n.kids[id] = kid
				}
				n = kid
				n.add(share, isCur)
			}
			if isCur {
				n.CurSelf += share
			} else {
				n.BaseSelf += share
			}
		}
		return total
	}
	t.BaseTotal = add(base, false)
	t.CurTotal = add(cur, true)
	if t.BaseTotal == 0 && t.CurTotal == 0 {
		return nil
	}
	t.Pruned = t.Root.prune(minShare)
	return t
}

func (n *CallNode) add(share float64, isCur bool) {
	if isCur {
		n.Cur += share
	} else {
		n.Base += share
	}
}

// prune drops the children below minShare on both sides (with their
// subtrees), orders the rest by function, and returns how many frames it
// dropped.
func (n *CallNode) prune(minShare float64) (pruned int) {
	for _, k := range n.kids {
		if k.Base < minShare && k.Cur < minShare {
			pruned += k.count()
			continue
		}
		pruned += k.prune(minShare)
		n.Children = append(n.Children, k)
	}
	n.kids = nil
	slices.SortFunc(n.Children, func(a, b *CallNode) int { return cmp.Compare(a.Function, b.Function) })
	return pruned
}

func (n *CallNode) count() int {
	c := 1
	for _, k := range n.kids {
		c += k.count()
	}
	return c
}
