package baseline

import (
	"fmt"
	"math"
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
	idx := sampleIndex(p, se.SampleType)
	if idx < 0 {
		var have []string
		for _, st := range p.SampleType {
			have = append(have, st.Type+"/"+st.Unit)
		}
		return fmt.Errorf("profile has no %s samples (it holds %s)", se.SampleType, strings.Join(have, ", "))
	}
	if p.PeriodType != nil && se.PeriodType.Type != "" && p.PeriodType.Type != "" &&
		(p.PeriodType.Type != se.PeriodType.Type || p.PeriodType.Unit != se.PeriodType.Unit) {
		return fmt.Errorf("profile period type %s/%s does not match series period type %s", p.PeriodType.Type, p.PeriodType.Unit, se.PeriodType)
	}

	w := Window{Start: opts.Start, End: opts.End, Period: p.Period}
	if opts.Period > 0 {
		w.Period = opts.Period
	}
	if w.Start.IsZero() && p.TimeNanos > 0 {
		w.Start = time.Unix(0, p.TimeNanos).UTC()
	}
	if w.End.IsZero() && p.TimeNanos > 0 && p.DurationNanos > 0 {
		w.End = time.Unix(0, p.TimeNanos+p.DurationNanos).UTC()
	}
	if se.Period == 0 {
		se.Period = w.Period
	}

	events := newEventCounter(se, p, idx, w.Period, opts.Companion)
	var nEvents float64
	eventsKnown := events != nil

	index := se.functionIndex()
	stacks := se.stackIndex()
	// Intern each profile function once; normalizing names is the costly part.
	byFunc := make(map[*profile.Function]int32, len(p.Function))
	self := map[int32]int64{}
	cum := map[int32]int64{}
	selfVW := map[int32]float64{}
	cumVW := map[int32]float64{}
	var frames []int32
	seen := map[int32]bool{}
	for _, s := range p.Sample {
		if idx >= len(s.Value) {
			return fmt.Errorf("sample has %d values, want at least %d", len(s.Value), idx+1)
		}
		v := s.Value[idx]
		if v < 0 {
			return fmt.Errorf("sample has negative %s value %d", se.SampleType, v)
		}
		if v == 0 {
			continue
		}
		w.Total += v
		vw := 0.0 // v times the value one of its events stands for
		if eventsKnown {
			if e := events.count(s, v); e > 0 {
				vw = float64(v) * float64(v) / e
				nEvents += e
			} else {
				eventsKnown = false
			}
		}
		// Leaf first: Location[0] is the innermost frame, and within a
		// location Line[0] is the innermost inlined function.
		frames = frames[:0]
		for _, loc := range s.Location {
			if loc == nil {
				continue
			}
			if len(loc.Line) == 0 {
				frames = append(frames, se.intern(index, addressName(loc), "", 0))
				continue
			}
			for _, ln := range loc.Line {
				if ln.Function == nil {
					continue
				}
				fi, ok := byFunc[ln.Function]
				if !ok {
					line := ln.Line
					if ln.Function.StartLine > 0 {
						line = ln.Function.StartLine
					}
					fi = se.intern(index, ln.Function.Name, ln.Function.Filename, line)
					byFunc[ln.Function] = fi
				}
				frames = append(frames, fi)
			}
		}
		if len(frames) == 0 {
			frames = append(frames, se.intern(index, "[unknown]", "", 0))
		}
		self[frames[0]] += v
		selfVW[frames[0]] += vw
		clear(seen)
		for _, f := range frames {
			if !seen[f] {
				seen[f] = true
				cum[f] += v
				cumVW[f] += vw
			}
		}
		// Stacks are kept root first.
		root := make([]int32, len(frames))
		for i, f := range frames {
			root[len(frames)-1-i] = f
		}
		key := stackKey(root)
		if i, ok := stacks[key]; ok {
			se.Stacks[i].Value += v
		} else {
			stacks[key] = len(se.Stacks)
			se.Stacks = append(se.Stacks, Stack{Frames: root, Value: v})
		}
	}
	w.Self = toValues(self)
	w.Cum = toValues(cum)
	if eventsKnown {
		for f, x := range selfVW {
			se.Functions[f].SelfVW += x
		}
		for f, x := range cumVW {
			se.Functions[f].CumVW += x
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

// sampleIndex is the index of p's sample values of type vt, or -1.
func sampleIndex(p *profile.Profile, vt ValueType) int {
	for i, st := range p.SampleType {
		if st.Type == vt.Type && st.Unit == vt.Unit {
			return i
		}
	}
	return -1
}

func addressName(loc *profile.Location) string {
	return "0x" + strconv.FormatUint(loc.Address, 16)
}

func toValues(m map[int32]int64) Values {
	out := make(Values, 0, len(m))
	for f, v := range m {
		out = append(out, Value{F: f, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].F < out[j].F })
	return out
}

func stackKey(frames []int32) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(strconv.FormatInt(int64(f), 36))
		b.WriteByte(',')
	}
	return b.String()
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

func (se *Series) stackIndex() map[string]int {
	m := make(map[string]int, len(se.Stacks))
	for i, s := range se.Stacks {
		m[stackKey(s.Frames)] = i
	}
	return m
}

func (se *Series) intern(index map[string]int32, raw, file string, line int64) int32 {
	name := NormalizeFunctionName(raw)
	if i, ok := index[name]; ok {
		return i
	}
	f := Function{Name: name, File: file, Line: line}
	if raw != name {
		f.RawName = raw
	}
	i := int32(len(se.Functions))
	se.Functions = append(se.Functions, f)
	index[name] = i
	return i
}
