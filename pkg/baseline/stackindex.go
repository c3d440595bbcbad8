package baseline

import (
	"encoding/binary"
	"hash/maphash"
)

// StackIndex finds a series' stacks by their frames, so that a stack added
// again is summed into the one the series holds: Series.Stacks lists each
// distinct call stack once. Building the index costs as much as a window
// of a large profile, so a caller adding several windows keeps it; it
// stays valid while the series' stacks change only through Add.
//
// It is a map from a hash of the frames to the first stack with that
// hash, and a chain through the rest (next), each candidate's frames
// compared in full. Hashing the frames' bytes once is cheaper than a map
// keyed by a string of them.
type StackIndex struct {
	se   *Series
	seed maphash.Seed
	head map[uint64]int32
	next []int32 // next[j] is the next stack after j with j's hash, or -1
	buf  []byte
}

// NewStackIndex indexes se's stacks, so that stacks added to a loaded or
// merged series find those it already holds.
func NewStackIndex(se *Series) *StackIndex {
	t := &StackIndex{se: se, seed: maphash.MakeSeed(), head: make(map[uint64]int32, len(se.Stacks)), next: make([]int32, 0, len(se.Stacks))}
	stacks := se.Stacks
	se.Stacks = se.Stacks[:0]
	for _, st := range stacks {
		t.append(st.Frames, st.Value)
	}
	return t
}

// Add adds value to the series' stack with frames, appending the stack
// when the series has none such. Frames are leaf first when leafFirst (as
// a pprof sample lists them), root first otherwise, as a Stack keeps them;
// Add keeps a copy, never frames itself.
func (t *StackIndex) Add(frames []int32, leafFirst bool, value int64) {
	if j := t.find(frames, leafFirst); j >= 0 {
		t.se.Stacks[j].Value += value
		return
	}
	root := make([]int32, len(frames))
	for k, f := range frames {
		if leafFirst {
			root[len(frames)-1-k] = f
		} else {
			root[k] = f
		}
	}
	t.append(root, value)
}

func (t *StackIndex) hash(frames []int32, reverse bool) uint64 {
	t.buf = t.buf[:0]
	for i := range frames {
		f := frames[i]
		if reverse {
			f = frames[len(frames)-1-i]
		}
		t.buf = binary.LittleEndian.AppendUint32(t.buf, uint32(f))
	}
	return maphash.Bytes(t.seed, t.buf)
}

// find returns the index of the stack with frames (leaf first when
// reverse, as a sample has them; root first otherwise), or -1.
func (t *StackIndex) find(frames []int32, reverse bool) int {
	j, ok := t.head[t.hash(frames, reverse)]
	if !ok {
		return -1
	}
	for ; j >= 0; j = t.next[j] {
		if sameFrames(t.se.Stacks[j].Frames, frames, reverse) {
			return int(j)
		}
	}
	return -1
}

// append indexes root (root first) and appends it to the series' stacks.
func (t *StackIndex) append(root []int32, value int64) {
	h := t.hash(root, false)
	j := int32(len(t.se.Stacks))
	prev, ok := t.head[h]
	if !ok {
		prev = -1
	}
	t.head[h] = j
	t.next = append(t.next, prev)
	t.se.Stacks = append(t.se.Stacks, Stack{Frames: root, Value: value})
}

func sameFrames(root, frames []int32, reverse bool) bool {
	if len(root) != len(frames) {
		return false
	}
	for i, f := range root {
		g := frames[i]
		if reverse {
			g = frames[len(frames)-1-i]
		}
		if f != g {
			return false
		}
	}
	return true
}
