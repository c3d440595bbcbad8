package pyroscope

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/google/pprof/profile"
	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
	"golang.org/x/sync/errgroup"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// DefaultWindow is the window length when a Query names none:
// pyroscope-go's default upload interval, so that each window of a service
// left at the default holds one upload per profile type. Services that set
// another interval need Query.Window set to it (UploadInterval measures it).
const DefaultWindow = DefaultUploadInterval

// maxWindows bounds one Collect, so that a range typed in the wrong unit
// does not start a million queries.
const maxWindows = 10000

// cpuSamplesType is the companion of the CPU type that counts samples
// rather than nanoseconds; dividing one total by the other recovers the
// sampling period that merging hides.
const cpuSamplesType = "process_cpu:samples:count:cpu:nanoseconds"

// mergedCPUPeriod is the period Pyroscope reports on merged CPU profiles,
// whatever the rate the profiles were taken at.
const mergedCPUPeriod = int64(time.Second)

// Query says what Collect fetches.
type Query struct {
	// From and Until bound the range. It is cut into windows
	// [From+i*Window, From+(i+1)*Window); a remainder shorter than one
	// window at the end is not collected.
	From, Until time.Time
	// Window is the length of one window; DefaultWindow when zero. It
	// should be a multiple of the services' upload interval, or some
	// windows hold two uploads and others none.
	Window time.Duration
	// Services to collect; when empty, every service with data in the range
	// that Selector matches.
	Services []string
	// Types to collect; profiletype.Default() (cpu, alloc, lock) when empty.
	Types []profiletype.ID
	// Selector narrows the profiles further, e.g. {version="v2"}.
	Selector Selector
}

// SeriesKey names one series of a snapshot.
type SeriesKey struct {
	Service     string
	ProfileType string // full profile type ID
}

func (k SeriesKey) String() string {
	return k.Service + " " + profiletype.MustAlias(k.ProfileType)
}

// Missing is a (service, type) for which the range held no data at all.
// It is not an error: comparing against a baseline that has the series makes
// the comparison inconclusive, naming it.
type Missing struct {
	SeriesKey
	Reason string
}

// Result is what Collect gathered.
type Result struct {
	// Snapshot has one series per (service, type) with data. A window
	// without data is absent from its series (not a zero window).
	Snapshot *baseline.Snapshot
	// Services are the services queried, sorted.
	Services []string
	// Windows is how many windows the range was cut into.
	Windows int
	// Missing lists the (service, type) pairs with no data in any window.
	Missing []Missing
}

// Services lists the services (label service_name) with data in
// [from, until) that sel matches. Pyroscope refuses label queries without a
// time range, and its HTTP /pyroscope/label-values cannot list this label on
// v1.21 or v2.2, hence the Connect call.
func (c *Client) Services(ctx context.Context, from, until time.Time, sel Selector) ([]string, error) {
	resp, err := call(ctx, c, "LabelValues", c.q.LabelValues, &typesv1.LabelValuesRequest{
		Name:     "service_name",
		Matchers: []string{sel.with(`service_name!=""`)},
		Start:    from.UnixMilli(),
		End:      until.UnixMilli(),
	})
	if err != nil {
		return nil, err
	}
	out := slices.Clone(resp.Names)
	sort.Strings(out)
	return slices.Compact(out), nil
}

// ProfileTypes lists the profile types the server has data for in
// [from, until), sorted by ID. A zero range asks only the most recent data
// (on a real Pyroscope, the ingesters). IDs not of the five-part form are
// skipped.
func (c *Client) ProfileTypes(ctx context.Context, from, until time.Time) ([]profiletype.ID, error) {
	req := &querierv1.ProfileTypesRequest{}
	if !from.IsZero() {
		req.Start, req.End = from.UnixMilli(), until.UnixMilli()
	}
	resp, err := call(ctx, c, "ProfileTypes", c.q.ProfileTypes, req)
	if err != nil {
		return nil, err
	}
	var out []profiletype.ID
	for _, pt := range resp.ProfileTypes {
		if id, err := profiletype.ParseID(pt.ID); err == nil {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// MergedProfile fetches the profile of one type merged over [from, until)
// for the profiles selector matches (a full label selector such as
// {service_name="x"}). It returns nil, nil when there is no data.
func (c *Client) MergedProfile(ctx context.Context, typeID, selector string, from, until time.Time) (*profile.Profile, error) {
	return c.mergedProfile(ctx, typeID, selector, from, until, nil)
}

func (c *Client) mergedProfile(ctx context.Context, typeID, selector string, from, until time.Time, maxNodes *int64) (*profile.Profile, error) {
	msg, err := call(ctx, c, "SelectMergeProfile", c.q.SelectMergeProfile, &querierv1.SelectMergeProfileRequest{
		ProfileTypeID: typeID,
		LabelSelector: selector,
		Start:         from.UnixMilli(),
		End:           until.UnixMilli(),
		MaxNodes:      maxNodes,
	})
	if err != nil {
		return nil, err
	}
	return toPprof(msg)
}

// toPprof converts the API's pprof message to google/pprof's model (see
// fromProto). Empty results (no samples, or only zero values) are nil:
// Pyroscope answers a query without data with an empty profile, not an
// error.
func toPprof(msg *profilev1.Profile) (*profile.Profile, error) {
	if msg == nil || len(msg.Sample) == 0 {
		return nil, nil
	}
	nonzero := false
	for _, s := range msg.Sample {
		for _, v := range s.GetValue() {
			if v != 0 {
				nonzero = true
			}
		}
	}
	if !nonzero {
		return nil, nil
	}
	p, err := fromProto(msg)
	if err != nil {
		return nil, fmt.Errorf("merged profile from Pyroscope is malformed: %w", err)
	}
	// Frames the SDK could not symbolize come back as functions without a
	// name; a snapshot needs one to compare by.
	for _, f := range p.Function {
		if f.Name == "" {
			f.Name = f.SystemName
		}
		if f.Name == "" {
			f.Name = unknownFunction
		}
	}
	return p, nil
}

// unknownFunction names frames that have no name. It has no brackets, which
// function name normalization would take for generic type arguments.
const unknownFunction = "<unknown>"

type window struct{ start, end time.Time }

func (q Query) windows() ([]window, error) {
	w := q.Window
	if w == 0 {
		w = DefaultWindow
	}
	switch {
	case q.From.IsZero() || q.Until.IsZero():
		return nil, errors.New("query needs both a start (from) and an end (until)")
	case !q.Until.After(q.From):
		return nil, fmt.Errorf("query range is empty: until %s is not after from %s", q.Until.Format(time.RFC3339), q.From.Format(time.RFC3339))
	case w < time.Second || w%time.Millisecond != 0:
		return nil, fmt.Errorf("window %s: want at least 1s, in whole milliseconds (Pyroscope's resolution)", w)
	}
	n := q.Until.Sub(q.From) / w
	if n < 1 {
		return nil, fmt.Errorf("range %s is shorter than one %s window", q.Until.Sub(q.From), w)
	}
	if n > maxWindows {
		return nil, fmt.Errorf("range %s holds %d windows of %s; at most %d are allowed", q.Until.Sub(q.From), n, w, maxWindows)
	}
	out := make([]window, n)
	for i := range out {
		s := q.From.Add(time.Duration(i) * w)
		out[i] = window{s, s.Add(w)}
	}
	return out, nil
}

// Collect fetches, for every (service, type) of q, one merged profile per
// window, and builds a snapshot from them.
//
// Profile types are checked against what the server has in the range. A
// type profdiff knows (an alias exists for it) that the server lacks is
// reported in Missing for every service, since the services may simply not
// profile it; an unknown full ID the server lacks is an
// *UnknownProfileTypeError listing the types the server has.
//
// CPU period: Pyroscope reports a merged CPU profile's period as 1 s, while
// pyroscope-go samples at 100 Hz (a 10 ms period). The true mean period of a
// window is its CPU nanoseconds divided by its sample count, and the server
// has that count as the companion type process_cpu:samples:count, which
// Collect fetches alongside whenever the server lists it. That stays right
// when the sampling rate is raised. When the server has no such type (e.g.
// other SDKs), a period of exactly 1 s is taken to be the merge artifact and
// replaced by 1/WithCPUSampleRate (100 Hz by default); any other period is
// kept.
func (c *Client) Collect(ctx context.Context, q Query) (*Result, error) {
	wins, err := q.windows()
	if err != nil {
		return nil, err
	}
	types := q.Types
	if len(types) == 0 {
		types = profiletype.Default()
	}
	rangeEnd := wins[len(wins)-1].end

	available, err := c.ProfileTypes(ctx, q.From, rangeEnd)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	var haveList []string
	for _, id := range available {
		have[id.String()] = true
		haveList = append(haveList, id.String())
	}
	var fetch []profiletype.ID // types to query
	absent := map[string]string{}
	for _, id := range types {
		switch {
		case have[id.String()]:
			fetch = append(fetch, id)
		case id.Alias() != id.String():
			absent[id.String()] = fmt.Sprintf("the server has no %s profiles in the range", id.Alias())
		default:
			return nil, &UnknownProfileTypeError{URL: c.url, Type: id.String(), Available: haveList}
		}
	}

	services := slices.Clone(q.Services)
	if len(services) == 0 {
		if services, err = c.Services(ctx, q.From, rangeEnd, q.Selector); err != nil {
			return nil, err
		}
	}
	sort.Strings(services)
	services = slices.Compact(services)

	// The companion sample-count type, fetched to recover CPU periods.
	cpuID := ""
	for _, id := range fetch {
		if id.Name == "process_cpu" && id.SampleType == "cpu" {
			cpuID = id.String()
		}
	}
	fetchIDs := make([]string, 0, len(fetch)+1)
	for _, id := range fetch {
		fetchIDs = append(fetchIDs, id.String())
	}
	if cpuID != "" && have[cpuSamplesType] && !slices.Contains(fetchIDs, cpuSamplesType) {
		fetchIDs = append(fetchIDs, cpuSamplesType)
	}
	// Companion types count the same sampling events in the other unit
	// (alloc_space for alloc_objects, a lock's count for its delay): a
	// merged profile holds one sample type, and the window's number of
	// events, which bounds how precise a share is, needs both.
	for _, id := range fetch {
		if c, ok := id.Companion(); ok && have[c.String()] && !slices.Contains(fetchIDs, c.String()) {
			fetchIDs = append(fetchIDs, c.String())
		}
	}

	// profiles[s][t][w] is the merged profile of service s, type t, window w.
	profiles := make([][][]*profile.Profile, len(services))
	for s := range services {
		profiles[s] = make([][]*profile.Profile, len(fetchIDs))
		for t := range fetchIDs {
			profiles[s][t] = make([]*profile.Profile, len(wins))
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.concurrency)
	for s, svc := range services {
		sel := q.Selector.forService(svc)
		for t, typeID := range fetchIDs {
			for w, win := range wins {
				g.Go(func() error {
					p, err := c.mergedProfile(gctx, typeID, sel, win.start, win.end, nil)
					if err != nil {
						var pe *Error
						if errors.As(err, &pe) {
							return err
						}
						return fmt.Errorf("%s %s window %s: %w", svc, profiletype.MustAlias(typeID), win.start.Format(time.RFC3339), err)
					}
					profiles[s][t][w] = p
					return nil
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	res := &Result{
		Services: services,
		Windows:  len(wins),
		Snapshot: &baseline.Snapshot{Meta: baseline.Meta{
			CreatedAt: time.Now().UTC().Truncate(time.Second),
			Source:    "pyroscope " + c.url,
			From:      q.From.UTC(),
			Until:     rangeEnd.UTC(),
			Window:    baseline.Duration(wins[0].end.Sub(wins[0].start)),
			Selector:  q.Selector.String(),
		}},
	}
	samplesIdx := slices.Index(fetchIDs, cpuSamplesType)
	for s, svc := range services {
		for _, id := range types {
			key := SeriesKey{Service: svc, ProfileType: id.String()}
			if reason, ok := absent[id.String()]; ok {
				res.Missing = append(res.Missing, Missing{key, reason})
				continue
			}
			t := slices.Index(fetchIDs, id.String())
			series := baseline.NewSeries(svc, id)
			for w, p := range profiles[s][t] {
				if p == nil {
					continue
				}
				opts := reduce.WindowOptions{Start: wins[w].start.UTC(), End: wins[w].end.UTC()}
				if id.Name == "memory" && c.cfg.allocRate > 0 {
					opts.Period = c.cfg.allocRate
				}
				if c, ok := id.Companion(); ok {
					if ci := slices.Index(fetchIDs, c.String()); ci >= 0 {
						opts.Companion = profiles[s][ci][w]
					}
				}
				if id.String() == cpuID {
					var samples *profile.Profile
					if samplesIdx >= 0 {
						samples = profiles[s][samplesIdx][w]
					}
					opts.Period = c.cpuPeriod(p, samples)
				}
				if err := reduce.AddProfile(series, p, opts); err != nil {
					return nil, fmt.Errorf("Pyroscope at %s: %s window %s: %w", c.url, key, wins[w].start.Format(time.RFC3339), err)
				}
			}
			if len(series.Windows) == 0 {
				res.Missing = append(res.Missing, Missing{key, "no data in the range"})
				continue
			}
			res.Snapshot.Put(series)
		}
	}
	return res, nil
}

// cpuPeriod recovers the sampling period of a merged CPU profile; see
// Collect.
func (c *Client) cpuPeriod(cpu, samples *profile.Profile) int64 {
	if samples != nil {
		if n := total(samples); n > 0 {
			return int64(math.Round(float64(total(cpu)) / float64(n)))
		}
	}
	if cpu.Period == mergedCPUPeriod || cpu.Period <= 0 {
		return int64(time.Second) / c.cfg.cpuSampleRate
	}
	return cpu.Period
}

func total(p *profile.Profile) int64 {
	var t int64
	for _, s := range p.Sample {
		if len(s.Value) > 0 {
			t += s.Value[0]
		}
	}
	return t
}
