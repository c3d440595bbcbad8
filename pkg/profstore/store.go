package profstore

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// upload is one accepted profile as it arrived (usually gzipped pprof).
// It is immutable once stored, so queries may decode it without a lock.
type upload struct {
	seq      uint64
	data     []byte
	size     int64 // bytes charged against Options.MaxBytes
	received time.Time
	ts       int64 // profile time, Unix ns
	series   []*series
}

// entry places one upload in one series; sampleIdx selects the sample type
// of the upload that belongs to the series' profile type.
type entry struct {
	ts        int64
	up        *upload
	sampleIdx int
}

// series is all uploads of one label set (one profile type of one process).
type series struct {
	key     string
	lbls    labels.Labels
	typ     profileType
	service string
	entries []entry // sorted by ts
}

// placement asks the store to file an upload under a label set.
type placement struct {
	lbls      labels.Labels
	typ       profileType
	sampleIdx int
}

// errTooBig is returned for an upload larger than the whole memory cap.
var errTooBig = errors.New("profile is larger than the store's memory cap")

// uploadOverhead approximates the bookkeeping memory of an upload beyond its
// bytes, so that the cap also holds for many tiny uploads.
const uploadOverhead = 256

// store is the in-memory profile database: series indexed by label set,
// uploads in arrival order for eviction. One RWMutex guards it; queries only
// hold the read lock while collecting entries, never while decoding.
type store struct {
	mu        sync.RWMutex
	retention time.Duration
	maxBytes  int64
	maxSeries int
	delay     time.Duration
	now       func() time.Time

	series  map[string]*series
	uploads []*upload // oldest first
	bytes   int64
	seq     uint64
	stats   statsCounters
}

func newStore(o Options) *store {
	return &store{
		retention: o.Retention,
		maxBytes:  o.MaxBytes,
		maxSeries: o.MaxSeries,
		delay:     o.QueryDelay,
		now:       o.Now,
		series:    make(map[string]*series),
		stats:     newStatsCounters(),
	}
}

// add stores one upload under each placement, evicting expired and then
// oldest uploads as needed to stay under the memory cap.
//
// Every byte the upload makes the store keep is charged: its data, its
// bookkeeping, and the labels of each series it is filed under (charged per
// upload, an upper bound on what the shared series hold, since a series
// lives only as long as its uploads). The per-service counters are charged
// too (stats.bytes).
func (st *store) add(data []byte, ts int64, places []placement) error {
	size := int64(len(data)) + uploadOverhead
	for _, p := range places {
		size += 64 + 2*labelsBytes(p.lbls) // the labels, and the series key spelling them out
	}
	if size > st.maxBytes {
		return errTooBig
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	st.evictExpiredLocked(now)
	fresh := map[string]bool{}
	for _, p := range places {
		if k := p.lbls.String(); st.series[k] == nil {
			fresh[k] = true
		}
	}
	if len(st.series)+len(fresh) > st.maxSeries {
		return errTooManySeries{st.maxSeries}
	}
	for st.bytes+st.stats.bytes+size > st.maxBytes && len(st.uploads) > 0 {
		st.removeLocked(st.uploads[0])
		st.uploads = st.uploads[1:]
		st.stats.evicted++
	}
	st.seq++
	u := &upload{seq: st.seq, data: data, size: size, received: now, ts: ts}
	for _, p := range places {
		key := p.lbls.String()
		s := st.series[key]
		if s == nil {
			s = &series{key: key, lbls: p.lbls, typ: p.typ, service: p.lbls.Get(labelService)}
			st.series[key] = s
		}
		i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts > ts })
		s.entries = append(s.entries, entry{})
		copy(s.entries[i+1:], s.entries[i:])
		s.entries[i] = entry{ts: ts, up: u, sampleIdx: p.sampleIdx}
		u.series = append(u.series, s)
		st.stats.count(s.service, p.typ.ID(), now)
	}
	st.trimStatsLocked()
	st.uploads = append(st.uploads, u)
	st.bytes += size
	st.stats.uploads++
	return nil
}

// evictExpired drops uploads received before the retention window.
func (st *store) evictExpired() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.evictExpiredLocked(st.now())
}

func (st *store) evictExpiredLocked(now time.Time) {
	cut := now.Add(-st.retention)
	n := 0
	for n < len(st.uploads) && st.uploads[n].received.Before(cut) {
		st.removeLocked(st.uploads[n])
		n++
	}
	if n > 0 {
		st.uploads = append(st.uploads[:0:0], st.uploads[n:]...)
	}
}

// removeLocked unlinks an upload from its series; the caller drops it from
// st.uploads.
func (st *store) removeLocked(u *upload) {
	for _, s := range u.series {
		i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts >= u.ts })
		for ; i < len(s.entries) && s.entries[i].ts == u.ts; i++ {
			if s.entries[i].up == u {
				s.entries = append(s.entries[:i], s.entries[i+1:]...)
				break
			}
		}
		if len(s.entries) == 0 {
			delete(st.series, s.key)
		}
	}
	u.series = nil
	st.bytes -= u.size
}

// hit is a query's view of one series: its labels and the entries in range.
type hit struct {
	lbls    labels.Labels
	typ     profileType
	entries []entry
}

// query returns, per matching series, copies of the entries whose profile
// time is in [startNs, endNs) and that are visible (past QueryDelay and
// within retention). typeID "" matches every profile type. matcherSets are
// OR-ed; an empty list matches everything.
func (st *store) query(typeID string, matcherSets [][]*labels.Matcher, startNs, endNs int64) []hit {
	st.mu.RLock()
	defer st.mu.RUnlock()
	now := st.now()
	visibleBefore := now.Add(-st.delay)
	expired := now.Add(-st.retention)
	var out []hit
	for _, s := range st.series {
		if typeID != "" && s.typ.ID() != typeID {
			continue
		}
		if !matchAny(s.lbls, matcherSets) {
			continue
		}
		lo := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].ts >= startNs })
		var es []entry
		for i := lo; i < len(s.entries) && s.entries[i].ts < endNs; i++ {
			e := s.entries[i]
			if e.up.received.After(visibleBefore) || e.up.received.Before(expired) {
				continue
			}
			es = append(es, e)
		}
		if len(es) > 0 {
			out = append(out, hit{lbls: s.lbls, typ: s.typ, entries: es})
		}
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].lbls, out[j].lbls) < 0 })
	return out
}

func matchAny(ls labels.Labels, sets [][]*labels.Matcher) bool {
	if len(sets) == 0 {
		return true
	}
	for _, ms := range sets {
		if matchesAll(ls, ms) {
			return true
		}
	}
	return false
}
