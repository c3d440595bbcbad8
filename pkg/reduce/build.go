package reduce

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
)

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

// AddProfile reduces one pprof profile to a [baseline.Window] and appends it
// to se, keeping windows ordered by start time, and merges its stacks into
// se's. The sample value used is the one whose type and unit match the
// series' sample type; a profile without it is an error naming what the
// profile holds instead. Each call indexes se anew; AddProfileFiles keeps
// the index across a series' windows.
func AddProfile(se *baseline.Series, p *profile.Profile, opts WindowOptions) error {
	if p == nil {
		return fmt.Errorf("no profile")
	}
	var comp *rawProfile
	if opts.Companion != nil {
		comp = toRaw(opts.Companion)
	}
	return addRaw(se, toRaw(p), opts, comp, nil)
}

// seriesIndex finds a series' functions by name (raw closure names
// included, see intern) and its stacks by frames, for adding windows to
// it. Building one costs as much as a window of a large profile, so a
// caller adding several windows keeps it (see AddProfileFilesDetect); it
// stays valid while only addRaw changes the series.
type seriesIndex struct {
	funcs  map[string]int32
	stacks *baseline.StackIndex
	sums   *windowSums // reused from window to window, cleared as used
}

// newSeriesIndex indexes se's function table and stacks, so that a window
// added to a loaded series finds them.
func newSeriesIndex(se *baseline.Series) *seriesIndex {
	funcs := make(map[string]int32, len(se.Functions))
	for i, f := range se.Functions {
		funcs[f.Name] = int32(i)
	}
	return &seriesIndex{funcs: funcs, stacks: baseline.NewStackIndex(se)}
}

// addRaw is AddProfile on a flattened profile (see rawProfile), with the
// companion profile, if any, flattened too; ix is the series' index, or
// nil to build one.
func addRaw(se *baseline.Series, p *rawProfile, opts WindowOptions, companion *rawProfile, ix *seriesIndex) error {
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

	w := baseline.Window{Start: opts.Start, End: opts.End, Period: p.period}
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
		ix = newSeriesIndex(se)
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
				frames = append(frames, intern(se, index, "0x"+strconv.FormatUint(loc.addr, 16), "", 0))
				continue
			}
			for _, ln := range p.lines[loc.lo:loc.hi] {
				if len(p.funcs[ln.fn].name) == 0 {
					// pprof allows a function without a name, a
					// snapshot does not: the frame is known by its
					// address, as a location without lines is.
					frames = append(frames, intern(se, index, "0x"+strconv.FormatUint(loc.addr, 16), "", 0))
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
						fi = intern(se, index, string(f.name), string(f.file), line)
					}
					byFunc[ln.fn] = fi
				}
				frames = append(frames, fi)
			}
		}
		if len(frames) == 0 {
			frames = append(frames, intern(se, index, "[unknown]", "", 0))
		}
		acc.grow(len(se.Functions))
		acc.add(frames, v, vw)
		stacks.Add(frames, true, v)
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
func (a *windowSums) values() (self, cum baseline.Values) {
	slices.Sort(a.touched)
	cum = make(baseline.Values, 0, len(a.touched))
	n := 0
	for _, f := range a.touched {
		if a.self[f] != 0 {
			n++
		}
		cum = append(cum, baseline.Value{F: f, V: a.cum[f]})
	}
	self = make(baseline.Values, 0, n)
	for _, f := range a.touched {
		if a.self[f] != 0 {
			self = append(self, baseline.Value{F: f, V: a.self[f]})
		}
	}
	return self, cum
}

// intern returns the series' index of the function named raw, normalized
// (see NormalizeFunctionName), adding it to the table when it is new.
func intern(se *baseline.Series, index map[string]int32, raw, file string, line int64) int32 {
	// A name already in the table is normalized (normalizing is
	// idempotent), so it is looked up before it is normalized: most are.
	if i, ok := index[raw]; ok {
		return i
	}
	name := NormalizeFunctionName(raw)
	i, ok := index[name]
	if !ok {
		f := baseline.Function{Name: name, File: file, Line: line}
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
