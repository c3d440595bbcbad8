package baseline

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// NewSeries returns an empty series for service and profile type pt, ready
// for AddProfile.
func NewSeries(service string, pt profiletype.ID) *Series {
	return &Series{
		Service:     service,
		ProfileType: pt.String(),
		SampleType:  ValueType{Type: pt.SampleType, Unit: pt.SampleUnit},
		PeriodType:  ValueType{Type: pt.PeriodType, Unit: pt.PeriodUnit},
	}
}

// WindowOptions tell AddProfile what a profile's window is when the profile
// itself does not say (or says wrongly).
type WindowOptions struct {
	// Start and End of the window; when zero, the profile's TimeNanos and
	// DurationNanos are used.
	Start, End time.Time
	// Period overrides the profile's sampling period, for sources known to
	// report it wrongly (Pyroscope reports 1s for merged 100 Hz CPU profiles).
	Period int64
	// Companion is the same window's profile of the companion sample type
	// (profiletype.ID.Companion: alloc_space for alloc_objects, a lock's
	// contention count for its delay, and back), for profiles that hold
	// one sample type only, as Pyroscope's merged profiles do. It tells
	// how many sampling events each stack's value stands for; without it
	// (and without both types in the profile itself) the window's sample
	// count of an allocation or delay profile is unknown.
	Companion *profile.Profile
}

// AddProfile reduces one pprof profile to a Window and appends it to the
// series, keeping windows ordered by start time. The sample value used is the
// one whose type and unit match the series' sample type; a profile without it
// is an error naming what the profile holds instead.
func (se *Series) AddProfile(p *profile.Profile, opts WindowOptions) error {
	if p == nil {
		return fmt.Errorf("no profile")
	}
	var comp *rawProfile
	if opts.Companion != nil {
		comp = toRaw(opts.Companion)
	}
	return se.addRaw(toRaw(p), opts, comp, nil)
}

// seriesIndex finds a series' functions by name and its stacks by frames,
// for adding windows to it. Building one costs as much as a window of a
// large profile, so a caller adding several windows keeps it (see
// AddProfileFilesDetect); it stays valid while only addRaw changes the
// series.
type seriesIndex struct {
	funcs  map[string]int32
	stacks *stackTable
	sums   *windowSums // reused from window to window, cleared as used
}

func (se *Series) index() *seriesIndex {
	return &seriesIndex{funcs: se.functionIndex(), stacks: se.stackIndex()}
}

// addRaw is AddProfile on a flattened profile (see rawProfile), with the
// companion profile, if any, flattened too; ix is the series' index, or
// nil to build one.
func (se *Series) addRaw(p *rawProfile, opts WindowOptions, companion *rawProfile, ix *seriesIndex) error {
	idx := p.sampleIndex(se.SampleType)
	if idx < 0 {
		var have []string
		for _, st := range p.sampleTypes {
			have = append(have, st.Type+"/"+st.Unit)
		}
		return fmt.Errorf("profile has no %s samples (it holds %s)", se.SampleType, strings.Join(have, ", "))
	}
	if idx >= p.minValues && len(p.samples) > 0 {
		return fmt.Errorf("sample has %d values, want at least %d", p.minValues, idx+1)
	}
	if p.hasPeriodType && se.PeriodType.Type != "" && p.periodType.Type != "" && p.periodType != se.PeriodType {
		return fmt.Errorf("profile period type %s/%s does not match series period type %s", p.periodType.Type, p.periodType.Unit, se.PeriodType)
	}

	w := Window{Start: opts.Start, End: opts.End, Period: p.period}
	if opts.Period > 0 {
		w.Period = opts.Period
	}
	if w.Start.IsZero() && p.timeNanos > 0 {
		w.Start = time.Unix(0, p.timeNanos).UTC()
	}
	if w.End.IsZero() && p.timeNanos > 0 && p.durationNanos > 0 {
		w.End = time.Unix(0, p.timeNanos+p.durationNanos).UTC()
	}
	if se.Period == 0 {
		se.Period = w.Period
	}

	events := newEventCounter(se, p, idx, w.Period, companion)
	var nEvents float64
	eventsKnown := events != nil

	if ix == nil {
		ix = se.index()
	}
	index, stacks := ix.funcs, ix.stacks
	// Each profile function is interned once (normalizing names is the
	// costly part), its series index kept in a slice. Per-function sums
	// are kept in slices indexed by series function, with the functions
	// this window touched listed, instead of maps: a window of a large
	// profile adds up millions of frames.
	byFunc := make([]int32, len(p.funcs))
	for i := range byFunc {
		byFunc[i] = -1
	}
	if ix.sums == nil {
		ix.sums = newWindowSums(len(se.Functions) + len(p.funcs))
	}
	acc := ix.sums
	acc.grow(len(se.Functions) + len(p.funcs))
	defer acc.reset()
	var frames []int32
	for i := range p.samples {
		v := p.value(i, idx)
		if v < 0 {
			return fmt.Errorf("sample has negative %s value %d", se.SampleType, v)
		}
		if v == 0 {
			continue
		}
		w.Total += v
		vw := 0.0 // v times the value one of its events stands for
		if eventsKnown {
			if e := events.count(p, i, v); e > 0 {
				vw = float64(v) * float64(v) / e
				nEvents += e
			} else {
				eventsKnown = false
			}
		}
		// Leaf first: the first location is the innermost frame, and
		// within a location the first line is the innermost inlined
		// function.
		frames = frames[:0]
		for _, li := range p.sampleLocs(i) {
			loc := p.locs[li]
			if loc.hi == loc.lo {
				frames = append(frames, se.intern(index, "0x"+strconv.FormatUint(loc.addr, 16), "", 0))
				continue
			}
			for _, ln := range p.lines[loc.lo:loc.hi] {
				if len(p.funcs[ln.fn].name) == 0 {
					// pprof allows a function without a name, a
					// snapshot does not: the frame is known by its
					// address, as a location without lines is.
					frames = append(frames, se.intern(index, "0x"+strconv.FormatUint(loc.addr, 16), "", 0))
					continue
				}
				fi := byFunc[ln.fn]
				if fi < 0 {
					f := &p.funcs[ln.fn]
					// The name looked up as bytes makes no string; one
					// is made for a function new to the series only.
					var ok bool
					if fi, ok = index[string(f.name)]; !ok {
						line := ln.line
						if f.startLine > 0 {
							line = f.startLine
						}
						fi = se.intern(index, string(f.name), string(f.file), line)
					}
					byFunc[ln.fn] = fi
				}
				frames = append(frames, fi)
			}
		}
		if len(frames) == 0 {
			frames = append(frames, se.intern(index, "[unknown]", "", 0))
		}
		acc.grow(len(se.Functions))
		acc.add(frames, v, vw)
		// Stacks are kept root first.
		if j := stacks.find(se, frames, true); j >= 0 {
			se.Stacks[j].Value += v
		} else {
			root := make([]int32, len(frames))
			for k, f := range frames {
				root[len(frames)-1-k] = f
			}
			stacks.add(se, root)
			se.Stacks = append(se.Stacks, Stack{Frames: root, Value: v})
		}
	}
	w.Self, w.Cum = acc.values()
	if eventsKnown {
		for _, f := range acc.touched {
			se.Functions[f].SelfVW += acc.selfVW[f]
			se.Functions[f].CumVW += acc.cumVW[f]
		}
	}
	w.Samples = 0
	if eventsKnown && nEvents > 0 {
		// The sampling events the window holds: CPU ticks, sampled
		// allocations, recorded contentions. How much each weighs is the
		// functions' own business (Function.SelfVW).
		w.Samples = max(1, int64(math.Round(nEvents)))
	}
	se.Windows = append(se.Windows, w)
	sort.SliceStable(se.Windows, func(i, j int) bool { return se.Windows[i].Start.Before(se.Windows[j].Start) })
	return nil
}

// windowSums are one window's per-function sums, indexed by series
// function, with the functions it touched listed.
type windowSums struct {
	self, cum     []int64
	selfVW, cumVW []float64
	seen          []uint32 // the sample that last counted a function's cum
	sample        uint32
	touched       []int32
	touchedMark   []bool
}

func newWindowSums(n int) *windowSums {
	a := &windowSums{}
	a.grow(n)
	return a
}

// grow makes room for n functions (the series' table grows as frames are
// interned).
func (a *windowSums) grow(n int) {
	if n <= len(a.self) {
		return
	}
	n = max(n, 2*len(a.self))
	a.self = append(a.self, make([]int64, n-len(a.self))...)
	a.cum = append(a.cum, make([]int64, n-len(a.cum))...)
	a.selfVW = append(a.selfVW, make([]float64, n-len(a.selfVW))...)
	a.cumVW = append(a.cumVW, make([]float64, n-len(a.cumVW))...)
	a.seen = append(a.seen, make([]uint32, n-len(a.seen))...)
	a.touchedMark = append(a.touchedMark, make([]bool, n-len(a.touchedMark))...)
}

// add counts one sample of value v (vw: v times its events' weight) whose
// stack is frames, leaf first: self to the leaf, cum once to each
// distinct function on the stack (a recursive one counts once).
func (a *windowSums) add(frames []int32, v int64, vw float64) {
	a.sample++
	leaf := frames[0]
	a.self[leaf] += v
	a.selfVW[leaf] += vw
	for _, f := range frames {
		if a.seen[f] == a.sample {
			continue
		}
		a.seen[f] = a.sample
		a.cum[f] += v
		a.cumVW[f] += vw
		if !a.touchedMark[f] {
			a.touchedMark[f] = true
			a.touched = append(a.touched, f)
		}
	}
}

// reset clears what the window touched, for the next window.
func (a *windowSums) reset() {
	for _, f := range a.touched {
		a.self[f], a.cum[f], a.selfVW[f], a.cumVW[f], a.touchedMark[f] = 0, 0, 0, 0, false
	}
	a.touched = a.touched[:0]
}

// values returns the window's self and cum values, sorted by function.
func (a *windowSums) values() (self, cum Values) {
	slices.Sort(a.touched)
	cum = make(Values, 0, len(a.touched))
	n := 0
	for _, f := range a.touched {
		if a.self[f] != 0 {
			n++
		}
		cum = append(cum, Value{F: f, V: a.cum[f]})
	}
	self = make(Values, 0, n)
	for _, f := range a.touched {
		if a.self[f] != 0 {
			self = append(self, Value{F: f, V: a.self[f]})
		}
	}
	return self, cum
}

func toValues(m map[int32]int64) Values {
	out := make(Values, 0, len(m))
	for f, v := range m {
		out = append(out, Value{F: f, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].F < out[j].F })
	return out
}

// stackTable finds a series' stacks by their frames: a map from a hash of
// the frames to the first stack with that hash, and a chain through the
// rest (next), each candidate's frames compared in full. Hashing the
// frames' bytes once is cheaper than a map keyed by a string of them.
type stackTable struct {
	seed maphash.Seed
	head map[uint64]int32
	next []int32 // next[j] is the next stack after j with j's hash, or -1
	buf  []byte
}

func (t *stackTable) hash(frames []int32, reverse bool) uint64 {
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
func (t *stackTable) find(se *Series, frames []int32, reverse bool) int {
	j, ok := t.head[t.hash(frames, reverse)]
	if !ok {
		return -1
	}
	for ; j >= 0; j = t.next[j] {
		if sameFrames(se.Stacks[j].Frames, frames, reverse) {
			return int(j)
		}
	}
	return -1
}

// add records root (root first) as the stack about to be appended to
// se.Stacks.
func (t *stackTable) add(se *Series, root []int32) {
	h := t.hash(root, false)
	j := int32(len(se.Stacks))
	prev, ok := t.head[h]
	if !ok {
		prev = -1
	}
	t.head[h] = j
	t.next = append(t.next, prev)
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

// functionIndex maps normalized names to table indices; it is rebuilt from
// the table so a loaded series can be extended.
func (se *Series) functionIndex() map[string]int32 {
	m := make(map[string]int32, len(se.Functions))
	for i, f := range se.Functions {
		m[f.Name] = int32(i)
	}
	return m
}

// stackIndex indexes the series' stacks, so that a window added to a
// loaded series finds them.
func (se *Series) stackIndex() *stackTable {
	t := &stackTable{seed: maphash.MakeSeed(), head: make(map[uint64]int32, len(se.Stacks)), next: make([]int32, 0, len(se.Stacks))}
	stacks := se.Stacks
	se.Stacks = se.Stacks[:0]
	for _, st := range stacks {
		t.add(se, st.Frames)
		se.Stacks = append(se.Stacks, st)
	}
	return t
}

func (se *Series) intern(index map[string]int32, raw, file string, line int64) int32 {
	// A name already in the table is normalized (normalizing is
	// idempotent), so it is looked up before it is normalized: most are.
	if i, ok := index[raw]; ok {
		return i
	}
	name := NormalizeFunctionName(raw)
	i, ok := index[name]
	if !ok {
		f := Function{Name: name, File: file, Line: line}
		if raw != name {
			f.RawName = raw
		}
		i = int32(len(se.Functions))
		se.Functions = append(se.Functions, f)
		index[name] = i
	}
	if raw != name {
		// The raw name too, so that the next window's "pkg.F.func2"
		// is found without normalizing it again. No normalized name
		// equals a raw one that normalizes to something else.
		index[raw] = i
	}
	return i
}
