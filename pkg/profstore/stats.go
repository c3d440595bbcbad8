package profstore

import (
	"context"
	"sort"
	"time"
)

// Stats describes what the server has received, for a harness that must
// wait until every service has uploaded before it starts measuring.
type Stats struct {
	Uploads  int64 // uploads accepted since start (each /ingest or Push sample is one)
	Rejected int64 // uploads refused with a 4xx
	Evicted  int64 // uploads dropped to stay under the memory cap
	Stored   int   // uploads held now
	Series   int   // label sets held now
	Bytes    int64 // memory charged against Options.MaxBytes
	// Services maps service_name to profile type ID to counts. Counts are
	// cumulative: eviction does not lower them.
	Services map[string]map[string]TypeStats
}

// TypeStats counts the uploads of one profile type of one service.
type TypeStats struct {
	Uploads int64
	First   time.Time // when the first one was received
	Last    time.Time // when the latest one was received
}

type statsCounters struct {
	uploads, rejected, evicted int64
	services                   map[string]map[string]TypeStats
	entries                    int   // counters in services
	bytes                      int64 // their memory, charged against the cap
}

func newStatsCounters() statsCounters {
	return statsCounters{services: make(map[string]map[string]TypeStats)}
}

func (c *statsCounters) count(service, typeID string, at time.Time) {
	m := c.services[service]
	if m == nil {
		m = make(map[string]TypeStats)
		c.services[service] = m
	}
	t, ok := m[typeID]
	if !ok {
		c.entries++
		c.bytes += int64(len(service)+len(typeID)) + statsEntryBytes
	}
	t.Uploads++
	if t.First.IsZero() {
		t.First = at
	}
	t.Last = at
	m[typeID] = t
}

// trimStatsLocked drops the counters of services that hold no data any
// more, least recently uploaded first, while there are more than
// maxStatsEntries. Counters of services with data are kept: WaitForUploads
// relies on them.
func (st *store) trimStatsLocked() {
	c := &st.stats
	if c.entries <= maxStatsEntries {
		return
	}
	live := map[string]bool{}
	for _, s := range st.series {
		live[s.service] = true
	}
	type idle struct {
		service string
		last    time.Time
	}
	var gone []idle
	for svc, m := range c.services {
		if live[svc] {
			continue
		}
		var last time.Time
		for _, t := range m {
			if t.Last.After(last) {
				last = t.Last
			}
		}
		gone = append(gone, idle{svc, last})
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].last.Before(gone[j].last) })
	for _, g := range gone {
		if c.entries <= maxStatsEntries {
			break
		}
		for typeID := range c.services[g.service] {
			c.entries--
			c.bytes -= int64(len(g.service)+len(typeID)) + statsEntryBytes
		}
		delete(c.services, g.service)
	}
}

func (st *store) snapshotStats() Stats {
	st.mu.RLock()
	defer st.mu.RUnlock()
	s := Stats{
		Uploads: st.stats.uploads, Rejected: st.stats.rejected, Evicted: st.stats.evicted,
		Stored: len(st.uploads), Series: len(st.series), Bytes: st.bytes + st.stats.bytes,
		Services: make(map[string]map[string]TypeStats, len(st.stats.services)),
	}
	for svc, m := range st.stats.services {
		cp := make(map[string]TypeStats, len(m))
		for k, v := range m {
			cp[k] = v
		}
		s.Services[svc] = cp
	}
	return s
}

func (st *store) reject() {
	st.mu.Lock()
	st.stats.rejected++
	st.mu.Unlock()
}

// Stats reports what the server has received and holds.
func (s *Server) Stats() Stats { return s.store.snapshotStats() }

// WaitForUploads blocks until service has at least n uploads of each of the
// given profile type IDs (all types it has uploaded when typeIDs is empty,
// requiring at least one), or ctx ends. Uploads count when received; with
// Options.QueryDelay they become queryable that much later.
func (s *Server) WaitForUploads(ctx context.Context, service string, typeIDs []string, n int64) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if s.hasUploads(service, typeIDs, n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Server) hasUploads(service string, typeIDs []string, n int64) bool {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	m := st.stats.services[service]
	if len(m) == 0 {
		return false
	}
	if len(typeIDs) == 0 {
		for _, t := range m {
			if t.Uploads < n {
				return false
			}
		}
		return true
	}
	for _, id := range typeIDs {
		if m[id].Uploads < n {
			return false
		}
	}
	return true
}
