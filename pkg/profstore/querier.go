package profstore

import (
	"context"
	"maps"
	"math"
	"slices"
	"sort"

	"connectrpc.com/connect"
	"github.com/prometheus/prometheus/model/labels"

	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// querier implements querier.v1.QuerierService on the store. Methods it does
// not implement answer CodeUnimplemented through the embedded stub.
type querier struct {
	querierv1connect.UnimplementedQuerierServiceHandler
	s *Server
}

// ProfileTypes lists the profile types with data, sorted by ID. Like the
// real server it works without a time range (then: all retained data).
func (q querier) ProfileTypes(_ context.Context, req *connect.Request[querierv1.ProfileTypesRequest]) (*connect.Response[querierv1.ProfileTypesResponse], error) {
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if req.Msg.Start != 0 && req.Msg.End != 0 {
		start, end = req.Msg.Start*1e6, req.Msg.End*1e6
	}
	types := map[string]profileType{}
	for _, h := range q.s.store.query("", nil, start, end) {
		types[h.typ.ID()] = h.typ
	}
	resp := &querierv1.ProfileTypesResponse{}
	for _, id := range slices.Sorted(maps.Keys(types)) {
		resp.ProfileTypes = append(resp.ProfileTypes, types[id].proto())
	}
	return connect.NewResponse(resp), nil
}

func (q querier) rangeHits(matchers []string, start, end int64) ([]hit, error) {
	if err := checkRange(start, end); err != nil {
		return nil, err
	}
	sets, err := parseMatcherSets(matchers)
	if err != nil {
		return nil, err
	}
	return q.s.store.query("", sets, start*1e6, end*1e6), nil
}

// LabelNames lists the visible label names of the matching series.
func (q querier) LabelNames(_ context.Context, req *connect.Request[typesv1.LabelNamesRequest]) (*connect.Response[typesv1.LabelNamesResponse], error) {
	hs, err := q.rangeHits(req.Msg.Matchers, req.Msg.Start, req.Msg.End)
	if err != nil {
		return nil, err
	}
	names := map[string]struct{}{}
	for _, h := range hs {
		h.lbls.Range(func(l labels.Label) {
			if visibleLabel(l.Name) {
				names[l.Name] = struct{}{}
			}
		})
	}
	return connect.NewResponse(&typesv1.LabelNamesResponse{Names: slices.Sorted(maps.Keys(names))}), nil
}

// LabelValues lists the values of one label over the matching series.
func (q querier) LabelValues(_ context.Context, req *connect.Request[typesv1.LabelValuesRequest]) (*connect.Response[typesv1.LabelValuesResponse], error) {
	hs, err := q.rangeHits(req.Msg.Matchers, req.Msg.Start, req.Msg.End)
	if err != nil {
		return nil, err
	}
	vals := map[string]struct{}{}
	for _, h := range hs {
		if v := h.lbls.Get(req.Msg.Name); v != "" {
			vals[v] = struct{}{}
		}
	}
	return connect.NewResponse(&typesv1.LabelValuesResponse{Names: slices.Sorted(maps.Keys(vals))}), nil
}

// Series lists the distinct label sets of the matching series, reduced to
// label_names when given, otherwise to the visible labels.
func (q querier) Series(_ context.Context, req *connect.Request[querierv1.SeriesRequest]) (*connect.Response[querierv1.SeriesResponse], error) {
	hs, err := q.rangeHits(req.Msg.Matchers, req.Msg.Start, req.Msg.End)
	if err != nil {
		return nil, err
	}
	keep := visibleLabel
	if len(req.Msg.LabelNames) > 0 {
		want := map[string]bool{}
		for _, n := range req.Msg.LabelNames {
			want[n] = visibleLabel(n)
		}
		keep = func(n string) bool { return want[n] }
	}
	seen := map[string]labels.Labels{}
	for _, h := range hs {
		b := labels.NewBuilder(labels.EmptyLabels())
		h.lbls.Range(func(l labels.Label) {
			if keep(l.Name) {
				b.Set(l.Name, l.Value)
			}
		})
		ls := b.Labels()
		if ls.IsEmpty() {
			continue
		}
		seen[ls.String()] = ls
	}
	sets := make([]labels.Labels, 0, len(seen))
	for _, ls := range seen {
		sets = append(sets, ls)
	}
	sort.Slice(sets, func(i, j int) bool { return labels.Compare(sets[i], sets[j]) < 0 })
	resp := &querierv1.SeriesResponse{}
	for _, ls := range sets {
		resp.LabelsSet = append(resp.LabelsSet, &typesv1.Labels{Labels: toPairs(ls, nil)})
	}
	return connect.NewResponse(resp), nil
}

// SelectMergeProfile merges the selected profiles into one pprof carrying
// only the selected sample type. time_nanos is the query end, as the real
// server sets it (v2.2.1 and v1.21.1 both), and duration_nanos is 0.
func (q querier) SelectMergeProfile(_ context.Context, req *connect.Request[querierv1.SelectMergeProfileRequest]) (*connect.Response[profilev1.Profile], error) {
	sel, err := newSelection(req.Msg.ProfileTypeID, req.Msg.LabelSelector, req.Msg.Start, req.Msg.End, q.s.opts.MaxQueryLength)
	if err != nil {
		return nil, err
	}
	m, err := q.s.merge(sel.hits(q.s.store))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(m.profile(sel.typ, sel.endMs*1e6)), nil
}

// SelectMergeStacktraces answers a flame graph, or the compact tree bytes
// when format=PROFILE_FORMAT_TREE.
func (q querier) SelectMergeStacktraces(_ context.Context, req *connect.Request[querierv1.SelectMergeStacktracesRequest]) (*connect.Response[querierv1.SelectMergeStacktracesResponse], error) {
	sel, err := newSelection(req.Msg.ProfileTypeID, req.Msg.LabelSelector, req.Msg.Start, req.Msg.End, q.s.opts.MaxQueryLength)
	if err != nil {
		return nil, err
	}
	maxNodes, err := checkMaxNodes(req.Msg.GetMaxNodes())
	if err != nil {
		return nil, err
	}
	switch req.Msg.Format {
	case querierv1.ProfileFormat_PROFILE_FORMAT_UNSPECIFIED, querierv1.ProfileFormat_PROFILE_FORMAT_FLAMEGRAPH, querierv1.ProfileFormat_PROFILE_FORMAT_TREE:
	default:
		return nil, connect.NewError(connect.CodeUnimplemented, errUnsupportedFormat)
	}
	tree, err := q.s.tree(sel)
	if err != nil {
		return nil, err
	}
	resp := &querierv1.SelectMergeStacktracesResponse{}
	if req.Msg.Format == querierv1.ProfileFormat_PROFILE_FORMAT_TREE {
		resp.Tree = marshalTree(tree, maxNodes)
	} else {
		resp.Flamegraph = flameGraph(tree, maxNodes)
	}
	return connect.NewResponse(resp), nil
}

func (s *Server) tree(sel selection) (*treeNode, error) {
	m, err := s.merge(sel.hits(s.store))
	if err != nil {
		return nil, err
	}
	return treeFromMerger(m), nil
}

// SelectSeries answers one time series per group_by value set: each point
// sums (or averages, with aggregation=AVERAGE) the selected sample type of
// the profiles in its step. As on the real server the grid starts one step
// before start, and a profile at time t lands on the first grid point >= t.
func (q querier) SelectSeries(_ context.Context, req *connect.Request[querierv1.SelectSeriesRequest]) (*connect.Response[querierv1.SelectSeriesResponse], error) {
	sel, err := newSelection(req.Msg.ProfileTypeID, req.Msg.LabelSelector, req.Msg.Start, req.Msg.End, q.s.opts.MaxQueryLength)
	if err != nil {
		return nil, err
	}
	if !(req.Msg.Step >= 0.001) {
		return nil, invalid(errStep)
	}
	avg := req.Msg.Aggregation != nil && *req.Msg.Aggregation == typesv1.TimeSeriesAggregationType_TIME_SERIES_AGGREGATION_TYPE_AVERAGE
	series, err := q.s.series(sel, req.Msg.Step, req.Msg.GroupBy, avg)
	if err != nil {
		return nil, err
	}
	if lim := req.Msg.GetLimit(); lim > 0 && int64(len(series)) > lim {
		sort.SliceStable(series, func(i, j int) bool { return seriesSum(series[i]) > seriesSum(series[j]) })
		series = series[:lim]
	}
	return connect.NewResponse(&querierv1.SelectSeriesResponse{Series: series}), nil
}

func seriesSum(s *typesv1.Series) float64 {
	var t float64
	for _, p := range s.Points {
		t += p.Value
	}
	return t
}

func (s *Server) series(sel selection, stepSec float64, groupBy []string, avg bool) ([]*typesv1.Series, error) {
	stepMs := int64(stepSec * 1000)
	if stepMs < 1 {
		stepMs = 1
	}
	sel.startMs -= stepMs
	type acc struct {
		lbls labels.Labels
		sum  map[int64]float64
		n    map[int64]int
	}
	groups := map[string]*acc{}
	dc := &decodeCache{max: s.opts.MaxDecompressedBytes}
	// Include the end itself, as the real grid does.
	hs := s.store.query(sel.typ.ID(), sel.matchers, sel.startMs*1e6, sel.endMs*1e6+1)
	for _, h := range hs {
		b := labels.NewScratchBuilder(len(groupBy))
		for _, g := range groupBy {
			if v := h.lbls.Get(g); v != "" {
				b.Add(g, v)
			}
		}
		b.Sort()
		gl := b.Labels()
		a := groups[gl.String()]
		if a == nil {
			a = &acc{lbls: gl, sum: map[int64]float64{}, n: map[int64]int{}}
			groups[gl.String()] = a
		}
		for _, e := range h.entries {
			p, err := dc.get(e.up)
			if err != nil {
				return nil, connect.NewError(connect.CodeInternal, err)
			}
			tMs := e.ts / 1e6
			k := (tMs - sel.startMs + stepMs - 1) / stepMs
			ts := sel.startMs + k*stepMs
			a.sum[ts] += float64(sampleTotal(p, e.sampleIdx))
			a.n[ts]++
		}
	}
	var out []*typesv1.Series
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		a := groups[key]
		ts := make([]int64, 0, len(a.sum))
		for t := range a.sum {
			ts = append(ts, t)
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		ser := &typesv1.Series{Labels: toPairs(a.lbls, nil)}
		for _, t := range ts {
			v := a.sum[t]
			if avg {
				v /= float64(a.n[t])
			}
			ser.Points = append(ser.Points, &typesv1.Point{Timestamp: t, Value: v})
		}
		out = append(out, ser)
	}
	return out, nil
}

// GetProfileStats answers an empty message, exactly what real v2.2.1
// answered in the samples.
func (q querier) GetProfileStats(context.Context, *connect.Request[typesv1.GetProfileStatsRequest]) (*connect.Response[typesv1.GetProfileStatsResponse], error) {
	return connect.NewResponse(&typesv1.GetProfileStatsResponse{}), nil
}
