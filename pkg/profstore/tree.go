package profstore

import (
	"encoding/binary"
	"sort"
)

// treeNode is a call tree keyed by function name, the shape every flame
// graph answer is cut from. Children are kept sorted by name so output is
// deterministic.
type treeNode struct {
	name     string
	self     int64
	total    int64
	children []*treeNode
}

func (n *treeNode) child(name string) *treeNode {
	i := sort.Search(len(n.children), func(i int) bool { return n.children[i].name >= name })
	if i < len(n.children) && n.children[i].name == name {
		return n.children[i]
	}
	c := &treeNode{name: name}
	n.children = append(n.children, nil)
	copy(n.children[i+1:], n.children[i:])
	n.children[i] = c
	return c
}

// insert adds v along the stack (root first).
func (n *treeNode) insert(stack []string, v int64) {
	n.total += v
	cur := n
	for _, name := range stack {
		cur = cur.child(name)
		cur.total += v
	}
	cur.self += v
}

// treeFromMerger builds the call tree of a merged profile; the returned node
// is a virtual root whose total is the profile total.
func treeFromMerger(m *merger) *treeNode {
	root := &treeNode{}
	m.stacks(func(names []string, v int64) { root.insert(names, v) })
	return root
}

// minTotal is the smallest total a node may have and still be drawn when
// at most maxNodes nodes are wanted: the maxNodes-th largest total. Nodes
// below it are folded into an "other" sibling, as the real server does.
func minTotal(root *treeNode, maxNodes int64) int64 {
	if maxNodes <= 0 {
		return 0
	}
	var totals []int64
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		for _, c := range n.children {
			totals = append(totals, c.total)
			walk(c)
		}
	}
	walk(root)
	if int64(len(totals)) <= maxNodes {
		return 0
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i] > totals[j] })
	return totals[maxNodes-1]
}

const otherName = "other"

// kept returns the children of n that are drawn, plus the summed total of
// those folded into "other" (an existing "other" child is folded too).
func kept(n *treeNode, minVal int64) ([]*treeNode, int64) {
	var out []*treeNode
	var other int64
	for _, c := range n.children {
		if c.total >= minVal && c.name != otherName {
			out = append(out, c)
		} else {
			other += c.total
		}
	}
	return out, other
}

// marshalTree writes the tree in the real server's compact "tree" format
// (SelectMergeStacktraces with format=PROFILE_FORMAT_TREE): depth first, for
// each node uvarint(len(name)), name, uvarint(self), uvarint(#children),
// starting with a nameless virtual root. An empty tree is zero bytes.
func marshalTree(root *treeNode, maxNodes int64) []byte {
	if len(root.children) == 0 {
		return nil
	}
	minVal := minTotal(root, maxNodes)
	var b []byte
	var walk func(name string, self int64, n *treeNode)
	walk = func(name string, self int64, n *treeNode) {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(max(self, 0)))
		if n == nil {
			b = binary.AppendUvarint(b, 0)
			return
		}
		kids, other := kept(n, minVal)
		cnt := len(kids)
		if other > 0 {
			cnt++
		}
		b = binary.AppendUvarint(b, uint64(cnt))
		for _, c := range kids {
			walk(c.name, c.self, c)
		}
		if other > 0 {
			walk(otherName, other, nil)
		}
	}
	walk("", 0, root)
	return b
}
