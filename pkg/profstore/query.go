package profstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/prometheus/model/labels"

	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
)

// Errors worded as the real server words them, so a client's error handling
// can be tested here.
var (
	errMissingTimeRange  = errors.New("missing time range in the query")
	errStartAfterEnd     = errors.New("query start time is after end time")
	errStep              = errors.New("step must be >= 1ms")
	errUnsupportedFormat = errors.New("profstore: this output format is not supported")
)

// Flame graph node limits of the real server: 8192 nodes by default, at
// most 1<<20 on request.
const (
	defaultMaxNodes = 8 << 10
	maxMaxNodes     = 1 << 20
)

func invalid(err error) error { return connect.NewError(connect.CodeInvalidArgument, err) }

// checkRange applies the real server's time range rule (both ends set, in
// order); start and end are Unix milliseconds.
func checkRange(start, end int64) error {
	if start == 0 || end == 0 {
		return invalid(errMissingTimeRange)
	}
	if start > end {
		return invalid(errStartAfterEnd)
	}
	return nil
}

func checkMaxNodes(n int64) (int64, error) {
	switch {
	case n == 0:
		return defaultMaxNodes, nil
	case n > maxMaxNodes:
		return 0, invalid(fmt.Errorf("max flamegraph nodes limit %d is greater than allowed %d", n, maxMaxNodes))
	case n < 0:
		return 0, invalid(fmt.Errorf("max flamegraph nodes limit must be set (max allowed %d)", maxMaxNodes))
	}
	return n, nil
}

// parseMatcherSets parses Connect "matchers" lists, whose selectors are OR-ed.
func parseMatcherSets(sels []string) ([][]*labels.Matcher, error) {
	var out [][]*labels.Matcher
	for _, s := range sels {
		ms, err := ParseSelector(s)
		if err != nil {
			return nil, invalid(err)
		}
		if ms == nil {
			return nil, nil // "{}" matches everything, so the OR does too
		}
		out = append(out, ms)
	}
	return out, nil
}

// selection is a parsed "profile type + label selector + time range" query.
type selection struct {
	typ      profileType
	matchers [][]*labels.Matcher
	startMs  int64
	endMs    int64
}

func newSelection(typeID, selector string, startMs, endMs int64, maxLength time.Duration) (selection, error) {
	if err := checkRange(startMs, endMs); err != nil {
		return selection{}, err
	}
	if err := checkQueryLength(startMs, endMs, maxLength); err != nil {
		return selection{}, err
	}
	t, err := parseProfileTypeID(typeID)
	if err != nil {
		return selection{}, invalid(err)
	}
	ms, err := ParseSelector(selector)
	if err != nil {
		return selection{}, invalid(err)
	}
	var sets [][]*labels.Matcher
	if ms != nil {
		sets = [][]*labels.Matcher{ms}
	}
	return selection{typ: t, matchers: sets, startMs: startMs, endMs: endMs}, nil
}

func (q selection) hits(st *store) []hit {
	return st.query(q.typ.ID(), q.matchers, q.startMs*1e6, q.endMs*1e6)
}

// decodeCache keeps decoded uploads for the duration of one request, since
// a heap upload backs four series and may be asked for by each.
type decodeCache struct {
	mu  sync.Mutex
	max int64
	m   map[*upload]*profilev1.Profile
}

func (c *decodeCache) get(u *upload) (*profilev1.Profile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[u]; ok {
		return p, nil
	}
	p, err := decodeProfile(u.data, c.max)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[*upload]*profilev1.Profile)
	}
	c.m[u] = p
	return p, nil
}

// merge decodes and merges every entry of the hits into one profile.
func (s *Server) merge(hs []hit) (*merger, error) {
	m := newMerger()
	dc := &decodeCache{max: s.opts.MaxDecompressedBytes}
	for _, h := range hs {
		for _, e := range h.entries {
			p, err := dc.get(e.up)
			if err != nil {
				// Stored uploads were validated on the way in; failing here
				// means memory corruption or a bug, not bad input.
				return nil, connect.NewError(connect.CodeInternal, err)
			}
			if e.sampleIdx < len(p.SampleType) {
				m.add(p, e.sampleIdx)
			}
		}
	}
	return m, nil
}

// sampleTotal sums one sample type of an upload, for time series points.
func sampleTotal(p *profilev1.Profile, idx int) int64 {
	var t int64
	for _, s := range p.Sample {
		if idx < len(s.Value) {
			t += s.Value[idx]
		}
	}
	return t
}
