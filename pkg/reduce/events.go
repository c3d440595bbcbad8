package reduce

import (
	"math"
	"strconv"
	"strings"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// An eventCounter tells how many sampling events a pprof sample's value
// stands for, from the profile's own sampling. The variance a sampled
// value carries depends on it: a CPU profile's value is its events times the
// period; Go's heap profile reports one sampled allocation of s bytes as
// 1/(1-e^(-s/R)) objects and s/(1-e^(-s/R)) bytes (R the sampling rate,
// runtime.MemProfileRate), so one sampled 16-byte allocation at R = 512 KiB
// reads as about 32,768 objects; a mutex profile's contention count is its
// events times the profile fraction; a delay is its events times their mean
// delay, which only the count beside it tells.
type eventCounter struct {
	kind eventKind
	// period is the CPU sampling period, or a lock profile's fraction.
	period float64
	// rate is the heap profile's sampling rate R in bytes.
	rate float64
	// objIdx and spaceIdx (memory), countIdx (lock delay) are the sample
	// value indices of the companion types in the profile itself, or -1.
	objIdx, spaceIdx, countIdx int
	// self is the index of the series' own value.
	self int
	// companion holds the companion profile's values by stack, when the
	// profile holds one sample type only.
	companion map[string]int64
}

type eventKind int

const (
	eventsPerPeriod eventKind = iota // value = events × period (CPU time)
	eventsCounted                    // value = events (CPU sample counts, block counts, goroutines)
	eventsObjects                    // heap objects: events × 1/(1-e^(-s/R))
	eventsBytes                      // heap bytes: events × s/(1-e^(-s/R))
	eventsLockCount                  // mutex contentions: events × fraction
	eventsLockDelay                  // mutex or block delay: events × mean delay
)

// defaultMemProfileRate is Go's runtime.MemProfileRate default, for heap
// profiles that do not state their period.
const defaultMemProfileRate = 512 * 1024

// newEventCounter returns the counter for the series' profile type, or nil
// when the type's values cannot be turned into events (an unknown type).
func newEventCounter(se *baseline.Series, p *rawProfile, idx int, period int64, companion *rawProfile) *eventCounter {
	id, err := profiletype.ParseID(se.ProfileType)
	if err != nil {
		return nil
	}
	ec := &eventCounter{self: idx, objIdx: -1, spaceIdx: -1, countIdx: -1, period: float64(period)}
	find := func(typ, unit string) int { return p.sampleIndex(baseline.ValueType{Type: typ, Unit: unit}) }
	var comp profiletype.ID
	hasComp := false
	switch {
	case id.Name == "process_cpu" && id.SampleUnit == "nanoseconds":
		if period <= 0 {
			return nil
		}
		ec.kind = eventsPerPeriod
		return ec
	case id.Name == "memory":
		// The window's period: the profile's, or the rate its source
		// said the services sample at (WindowOptions.Period).
		ec.rate = float64(period)
		if period <= 0 {
			ec.rate = defaultMemProfileRate
		}
		ec.kind = eventsObjects
		if id.SampleUnit == "bytes" {
			ec.kind = eventsBytes
		}
		prefix := strings.TrimSuffix(strings.TrimSuffix(id.SampleType, "_objects"), "_space")
		ec.objIdx = find(prefix+"_objects", "count")
		ec.spaceIdx = find(prefix+"_space", "bytes")
		if ec.objIdx >= 0 && ec.spaceIdx >= 0 {
			return ec
		}
		comp, hasComp = id.Companion()
	case id.Name == "mutex" && id.SampleType == "contentions":
		ec.kind, ec.period = eventsLockCount, math.Max(1, float64(p.period))
		return ec
	case (id.Name == "mutex" || id.Name == "block") && id.SampleType == "delay":
		ec.kind = eventsLockDelay
		ec.period = 1
		if id.Name == "mutex" {
			ec.period = math.Max(1, float64(p.period))
		}
		if ec.countIdx = find("contentions", "count"); ec.countIdx >= 0 {
			return ec
		}
		comp, hasComp = id.Companion()
	case id.SampleUnit == "count":
		ec.kind = eventsCounted
		return ec
	default:
		return nil
	}
	if !hasComp || companion == nil {
		return nil
	}
	ci := companion.sampleIndex(baseline.ValueType{Type: comp.SampleType, Unit: comp.SampleUnit})
	if ci < 0 || ci >= companion.minValues {
		return nil
	}
	ec.companion = make(map[string]int64, len(companion.samples))
	for i := range companion.samples {
		ec.companion[companion.sampleKey(i)] += companion.value(i, ci)
	}
	return ec
}

// count returns the number of sampling events sample i of p (value v of
// the series' type) stands for; 0 when it cannot tell.
func (ec *eventCounter) count(p *rawProfile, i int, v int64) float64 {
	other := func(j int) (int64, bool) {
		if j >= 0 {
			if j >= p.minValues {
				return 0, false
			}
			return p.value(i, j), true
		}
		c, ok := ec.companion[p.sampleKey(i)]
		return c, ok
	}
	switch ec.kind {
	case eventsPerPeriod:
		return float64(v) / ec.period
	case eventsCounted:
		return float64(v)
	case eventsLockCount:
		return math.Max(1, float64(v)/ec.period)
	case eventsLockDelay:
		c, ok := other(ec.countIdx)
		if !ok || c <= 0 {
			return 0
		}
		return math.Max(1, float64(c)/ec.period)
	case eventsObjects, eventsBytes:
		var objects, bytes int64
		var ok bool
		if ec.kind == eventsObjects {
			objects = v
			bytes, ok = other(ec.spaceIdx)
		} else {
			bytes = v
			objects, ok = other(ec.objIdx)
		}
		if !ok || objects <= 0 || bytes <= 0 {
			return 0
		}
		size := float64(bytes) / float64(objects)
		// Each sampled allocation is reported as 1/(1-e^(-size/R)) objects.
		perEvent := 1 / -math.Expm1(-size/ec.rate)
		return math.Max(1, float64(objects)/perEvent)
	}
	return 0
}

// sampleKey identifies sample i's stack across two profiles of the same
// window: function names and lines, leaf first, since location IDs differ
// between profiles.
func (r *rawProfile) sampleKey(i int) string {
	var b strings.Builder
	for _, li := range r.sampleLocs(i) {
		loc := r.locs[li]
		if loc.hi == loc.lo {
			b.WriteString("0x")
			b.WriteString(strconv.FormatUint(loc.addr, 16))
			b.WriteByte('\n')
			continue
		}
		for _, ln := range r.lines[loc.lo:loc.hi] {
			b.Write(r.funcs[ln.fn].name)
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(ln.line, 10))
			b.WriteByte('\n')
		}
	}
	return b.String()
}
