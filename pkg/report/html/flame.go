package html

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

// num is a share written with five significant digits: the flame graph
// cannot show more, and full float64 precision would double the file size.
type num float64

func (x num) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(x), 'g', 5, 64), nil
}

// node is one frame of the differential flame graph: a function at one
// position in the call tree, with its cumulative and self share of each
// side's total. W is its layout width (see layout).
type node struct {
	Name     int32   `json:"n"`
	Base     num     `json:"b"`
	Cur      num     `json:"c"`
	BaseSelf num     `json:"bs"`
	CurSelf  num     `json:"cs"`
	W        num     `json:"w"`
	Children []*node `json:"k,omitempty"`

	kids map[int32]*node
	b, c float64 // unrounded Base and Cur while building
	bs   float64
	cs   float64
	w    float64
}

// flame is one series' differential flame graph as the page's script reads
// it: the call tree over a shared name table.
type flame struct {
	ID      string   `json:"id"`
	Service string   `json:"service"`
	Type    string   `json:"type"`
	Names   []string `json:"names"`
	Files   []string `json:"files"`
	// Hot are the name indices of the series' failing and ignored causes,
	// which the graph outlines; Credible those of every function with a listed finding,
	// the only frames the graph colours.
	Hot      []int32 `json:"hot"`
	Credible []int32 `json:"credible"`
	// Evidence is, by name index, what the comparison found for each
	// function with a listed finding — "self +28.0% [+22.3%, +34.0%],
	// regression" — for the tooltip: a frame's widths give only its own
	// call path's change, without an interval.
	Evidence  map[int32]string `json:"evidence,omitempty"`
	Root      *node            `json:"root"`
	BaseTotal int64            `json:"baseTotal"`
	CurTotal  int64            `json:"curTotal"`
	Frames    int              `json:"frames"`
	Pruned    int              `json:"pruned"`
}

func fileLine(loc sarif.Locator, file string, line int64) string {
	if file == "" {
		return ""
	}
	rel, _ := loc.Rel(file)
	if line > 0 {
		return rel + ":" + strconv.FormatInt(line, 10)
	}
	return rel
}

// buildFlame merges the baseline's and the current series' stacks into one
// call tree. Frames are matched by normalized function name along the path
// from the root, so a closure renamed between builds (.func1 → .func2) is
// still the same frame. Each side is normalized to shares of its own total:
// the graph compares where the time (or bytes, or waiting) went, not how
// much there was, which a longer or busier run would change.
// buildFlame lays out a series' call tree (pkg/diff's CallTree) for the
// page's script: its name and file tables, and the tree pruned to frames of
// at least minShare on either side (frames the tree already left out count
// as pruned).
func buildFlame(t *diff.CallTree, loc sarif.Locator, minShare float64) (names, files []string, root *node, frames, pruned int) {
	for _, f := range t.Functions {
		names = append(names, f.Function)
		files = append(files, fileLine(loc, f.File, f.Line))
	}
	root = fromCall(t.Root)
	frames, pruned = root.finish(minShare)
	return names, files, root, frames, pruned + t.Pruned
}

func fromCall(c *diff.CallNode) *node {
	n := &node{Name: c.Function, b: float64(c.Base), c: float64(c.Cur), bs: float64(c.BaseSelf), cs: float64(c.CurSelf), kids: make(map[int32]*node, len(c.Children))}
	for _, k := range c.Children {
		n.kids[k.Function] = fromCall(k)
	}
	return n
}

// finish prunes frames below minShare on both sides, sorts children widest
// first, and computes layout widths. It returns how many frames are kept and
// how many were pruned.
//
// Layout: a frame is as wide as its current share ("width by current
// cost"), except that frames present only in the baseline would then vanish
// — and code that disappeared is half of what a reviewer wants to see. So a
// frame's width is max(its current share, the sum of its children's widths),
// and a baseline-only frame's width is its baseline share: removed code is
// drawn at the size it had, and its parent widens just enough to hold it.
func (n *node) finish(minShare float64) (kept, pruned int) {
	var sum float64
	for _, k := range n.kids {
		if k.b < minShare && k.c < minShare {
			pruned += k.count()
			continue
		}
		kk, kp := k.finish(minShare)
		kept += kk
		pruned += kp
		n.Children = append(n.Children, k)
		sum += k.w
	}
	n.kids = nil
	own := n.c
	if n.c == 0 {
		own = n.b
	}
	n.w = max(own, sum)
	slices.SortFunc(n.Children, func(a, b *node) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	n.Base, n.Cur, n.BaseSelf, n.CurSelf, n.W = num(n.b), num(n.c), num(n.bs), num(n.cs), num(n.w)
	return kept + 1, pruned
}

func (n *node) count() int {
	c := 1
	for _, k := range n.kids {
		c += k.count()
	}
	return c
}
