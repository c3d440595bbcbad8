package profstore

import (
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
)

// flameGraph lays a call tree out as the real server's flame graph: one
// level per depth, four numbers per node — x offset (delta encoded against
// the end of the previous node on that level), total, self, name index —
// with "total" as the root. A node's children start after its self part,
// which is how the real server places them. Nodes below the maxNodes cut
// are folded into an "other" child.
func flameGraph(root *treeNode, maxNodes int64) *querierv1.FlameGraph {
	minVal := minTotal(root, maxNodes)
	names := []string{"total"}
	nameIdx := map[string]int64{}
	var levels [][]int64
	var maxSelf int64
	lastEnd := []int64{}

	var visit func(name string, self, total, x int64, depth int, n *treeNode)
	visit = func(name string, self, total, x int64, depth int, n *treeNode) {
		idx := int64(0)
		if depth > 0 {
			i, ok := nameIdx[name]
			if !ok {
				i = int64(len(names))
				names = append(names, name)
				nameIdx[name] = i
			}
			idx = i
		}
		for len(levels) <= depth {
			levels = append(levels, nil)
			lastEnd = append(lastEnd, 0)
		}
		levels[depth] = append(levels[depth], x-lastEnd[depth], total, self, idx)
		lastEnd[depth] = x + total
		maxSelf = max(maxSelf, self)
		if n == nil {
			return
		}
		cx := x + self
		kids, other := kept(n, minVal)
		for _, c := range kids {
			visit(c.name, c.self, c.total, cx, depth+1, c)
			cx += c.total
		}
		if other > 0 {
			visit(otherName, other, other, cx, depth+1, nil)
		}
	}
	visit("total", root.self, root.total, 0, 0, root)

	out := &querierv1.FlameGraph{Names: names, Total: root.total, MaxSelf: maxSelf}
	for _, l := range levels {
		out.Levels = append(out.Levels, &querierv1.Level{Values: l})
	}
	return out
}

// diffNode pairs a function's values on the left and right side of a diff.
type diffNode struct {
	name          string
	lSelf, lTotal int64
	rSelf, rTotal int64
	children      map[string]*diffNode
	order         []string
}

func (d *diffNode) child(name string) *diffNode {
	if c, ok := d.children[name]; ok {
		return c
	}
	if d.children == nil {
		d.children = map[string]*diffNode{}
	}
	c := &diffNode{name: name}
	d.children[name] = c
	d.order = append(d.order, name)
	return c
}

func addDiffSide(d *diffNode, t *treeNode, right bool) {
	if right {
		d.rSelf += t.self
		d.rTotal += t.total
	} else {
		d.lSelf += t.self
		d.lTotal += t.total
	}
	for _, c := range t.children {
		addDiffSide(d.child(c.name), c, right)
	}
}

// diffFlameGraph lays out two trees as the real server's diff flame graph:
// seven numbers per node — left x (delta), left total, left self, right x
// (delta), right total, right self, name index.
func diffFlameGraph(left, right *treeNode, maxNodes int64) *querierv1.FlameGraphDiff {
	root := &diffNode{}
	addDiffSide(root, left, false)
	addDiffSide(root, right, true)
	// Prune by the larger side so a function present on one side only
	// still shows.
	var totals []int64
	var walk func(d *diffNode)
	walk = func(d *diffNode) {
		for _, n := range d.order {
			c := d.children[n]
			totals = append(totals, max(c.lTotal, c.rTotal))
			walk(c)
		}
	}
	walk(root)
	minVal := int64(0)
	if maxNodes > 0 && int64(len(totals)) > maxNodes {
		sortDesc(totals)
		minVal = totals[maxNodes-1]
	}

	names := []string{"total"}
	nameIdx := map[string]int64{}
	var levels [][]int64
	var lastL, lastR []int64
	var maxSelf int64
	var visit func(d *diffNode, xl, xr int64, depth int)
	visit = func(d *diffNode, xl, xr int64, depth int) {
		idx := int64(0)
		if depth > 0 {
			i, ok := nameIdx[d.name]
			if !ok {
				i = int64(len(names))
				names = append(names, d.name)
				nameIdx[d.name] = i
			}
			idx = i
		}
		for len(levels) <= depth {
			levels = append(levels, nil)
			lastL = append(lastL, 0)
			lastR = append(lastR, 0)
		}
		levels[depth] = append(levels[depth], xl-lastL[depth], d.lTotal, d.lSelf, xr-lastR[depth], d.rTotal, d.rSelf, idx)
		lastL[depth], lastR[depth] = xl+d.lTotal, xr+d.rTotal
		maxSelf = max(maxSelf, d.lSelf, d.rSelf)
		cl, cr := xl+d.lSelf, xr+d.rSelf
		other := &diffNode{name: otherName}
		sortStrings(d.order)
		for _, n := range d.order {
			c := d.children[n]
			if max(c.lTotal, c.rTotal) >= minVal && n != otherName {
				visit(c, cl, cr, depth+1)
				cl += c.lTotal
				cr += c.rTotal
			} else {
				other.lSelf += c.lTotal
				other.lTotal += c.lTotal
				other.rSelf += c.rTotal
				other.rTotal += c.rTotal
			}
		}
		if other.lTotal+other.rTotal > 0 {
			visit(other, cl, cr, depth+1)
		}
	}
	visit(root, 0, 0, 0)
	out := &querierv1.FlameGraphDiff{
		Names: names, Total: root.lTotal + root.rTotal, MaxSelf: maxSelf,
		LeftTicks: root.lTotal, RightTicks: root.rTotal,
	}
	for _, l := range levels {
		out.Levels = append(out.Levels, &querierv1.Level{Values: l})
	}
	return out
}
