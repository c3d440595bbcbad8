package baseline

import (
	"math"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

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
func newEventCounter(se *Series, p *profile.Profile, idx int, period int64, companion *profile.Profile) *eventCounter {
	id, err := profiletype.ParseID(se.ProfileType)
	if err != nil {
		return nil
	}
	ec := &eventCounter{self: idx, objIdx: -1, spaceIdx: -1, countIdx: -1, period: float64(period)}
	find := func(typ, unit string) int {
		for i, st := range p.SampleType {
			if st.Type == typ && st.Unit == unit {
				return i
			}
		}
		return -1
	}
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
		ec.kind, ec.period = eventsLockCount, math.Max(1, float64(p.Period))
		return ec
	case (id.Name == "mutex" || id.Name == "block") && id.SampleType == "delay":
		ec.kind = eventsLockDelay
		ec.period = 1
		if id.Name == "mutex" {
			ec.period = math.Max(1, float64(p.Period))
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
	ci := -1
	for i, st := range companion.SampleType {
		if st.Type == comp.SampleType && st.Unit == comp.SampleUnit {
			ci = i
		}
	}
	if ci < 0 {
		return nil
	}
	ec.companion = make(map[string]int64, len(companion.Sample))
	for _, s := range companion.Sample {
		if ci < len(s.Value) {
			ec.companion[sampleKey(s)] += s.Value[ci]
		}
	}
	return ec
}

// count returns the number of sampling events sample s (value v of the
// series' type) stands for; 0 when it cannot tell.
func (ec *eventCounter) count(s *profile.Sample, v int64) float64 {
	other := func(i int) (int64, bool) {
		if i >= 0 {
			if i < len(s.Value) {
				return s.Value[i], true
			}
			return 0, false
		}
		c, ok := ec.companion[sampleKey(s)]
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

// sampleKey identifies a sample's stack across two profiles of the same
// window: function names and lines, leaf first, since location IDs differ
// between profiles.
func sampleKey(s *profile.Sample) string {
	var b strings.Builder
	for _, loc := range s.Location {
		if loc == nil {
			continue
		}
		if len(loc.Line) == 0 {
			b.WriteString("0x")
			b.WriteString(strconv.FormatUint(loc.Address, 16))
			b.WriteByte('\n')
			continue
		}
		for _, ln := range loc.Line {
			if ln.Function != nil {
				b.WriteString(ln.Function.Name)
			}
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(ln.Line, 10))
			b.WriteByte('\n')
		}
	}
	return b.String()
}
