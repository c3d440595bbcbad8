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
