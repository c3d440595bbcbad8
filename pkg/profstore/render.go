package profstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

var errUnsupportedFormat = errors.New("profstore: this output format is not supported")

// renderParams is one side of a /pyroscope/render(-diff) request.
type renderParams struct {
	sel      selection
	maxNodes int64
}

// parseRenderQuery reads `<profile type ID>{matchers}` plus a time range
// from the named form fields, with the real server's error wording.
func (s *Server) parseRenderQuery(r *http.Request, queryField, fromField, untilField string) (renderParams, error) {
	q := r.Form.Get(queryField)
	if q == "" {
		return renderParams{}, fmt.Errorf("%q is required", queryField)
	}
	ms, err := promParser.ParseMetricSelector(q)
	if err != nil {
		return renderParams{}, fmt.Errorf("failed to parse %q: %w", queryField, err)
	}
	var typeID string
	rest := make([]*labels.Matcher, 0, len(ms))
	for _, m := range ms {
		if m.Name == labelName {
			typeID = m.Value
			continue
		}
		rest = append(rest, m)
	}
	if typeID == "" {
		return renderParams{}, fmt.Errorf("%q must contain a profile-type selection", queryField)
	}
	t, err := parseProfileTypeID(typeID)
	if err != nil {
		return renderParams{}, fmt.Errorf("failed to parse %q", queryField)
	}
	now := s.opts.Now()
	from, until := now, now
	if v := r.Form.Get(fromField); v != "" {
		if from, err = ParseTime(v, now); err != nil {
			return renderParams{}, fmt.Errorf("%q: %w", fromField, err)
		}
	}
	if v := r.Form.Get(untilField); v != "" {
		if until, err = ParseTime(v, now); err != nil {
			return renderParams{}, fmt.Errorf("%q: %w", untilField, err)
		}
	}
	var mn int64
	for _, k := range []string{"max-nodes", "maxNodes"} {
		if v, err := strconv.Atoi(r.Form.Get(k)); err == nil && v != 0 {
			mn = int64(v)
		}
	}
	p := renderParams{sel: selection{typ: t, startMs: from.UnixMilli(), endMs: until.UnixMilli()}, maxNodes: mn}
	if len(rest) > 0 {
		p.sel.matchers = [][]*labels.Matcher{rest}
	}
	if err := checkRange(p.sel.startMs, p.sel.endMs); err != nil {
		return renderParams{}, err
	}
	if err := checkQueryLength(p.sel.startMs, p.sel.endMs, s.opts.MaxQueryLength); err != nil {
		return renderParams{}, err
	}
	return p, nil
}

// handleRender implements GET /pyroscope/render (flamebearer v1 JSON with a
// timeline, and per-group timelines for groupBy). An unmatched selector is
// a 200 with an empty flame graph, as on the real server.
func (s *Server) handleRender(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.parseRenderQuery(r, "query", "from", "until")
	if err != nil {
		writeQueryError(w, err)
		return
	}
	if f := r.Form.Get("format"); f != "" && f != "json" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("profstore: format=%s is not supported; use json", f))
		return
	}
	maxNodes, err := checkMaxNodes(p.maxNodes)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	tree, err := s.tree(p.sel)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	groupBy := r.URL.Query()["groupBy"]
	avg := r.URL.Query().Get("aggregation") == "avg"
	step := pointInterval(p.sel.startMs, p.sel.endMs)
	series, err := s.series(p.sel, float64(step), groupBy, avg)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	fg := flameGraph(tree, maxNodes)
	out := flamebearerProfile{
		Version: 1,
		Flamebearer: flamebearerV1{
			Names: fg.Names, Levels: levelsOf(fg.Levels), NumTicks: fg.Total, MaxSelf: fg.MaxSelf,
		},
		Metadata: flamebearerMeta(p.sel.typ, "single"),
	}
	// Like the real server, the main timeline shows the series only when
	// there is exactly one (no groupBy, or a single group).
	var single *typesv1.Series
	if len(series) == 1 {
		single = series[0]
	}
	out.Timeline = newTimeline(single, p.sel.startMs, p.sel.endMs, step)
	if len(groupBy) > 0 {
		out.Groups = map[string]*flamebearerTimeline{}
		for _, ser := range series {
			key := "*"
			for _, l := range ser.Labels {
				if l.Name == groupBy[0] {
					key = l.Value
					break
				}
			}
			out.Groups[key] = newTimeline(ser, p.sel.startMs, p.sel.endMs, step)
		}
	}
	writeJSON(w, out)
}

// handleRenderDiff implements GET /pyroscope/render-diff: two selections of
// the same profile type, answered as a "double" flamebearer.
func (s *Server) handleRenderDiff(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	left, err := s.parseRenderQuery(r, "leftQuery", "leftFrom", "leftUntil")
	if err != nil {
		writeQueryError(w, err)
		return
	}
	right, err := s.parseRenderQuery(r, "rightQuery", "rightFrom", "rightUntil")
	if err != nil {
		writeQueryError(w, err)
		return
	}
	if left.sel.typ.ID() != right.sel.typ.ID() {
		writeError(w, http.StatusBadRequest, "profile types must match")
		return
	}
	maxNodes, err := checkMaxNodes(left.maxNodes)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	lt, err := s.tree(left.sel)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	rt, err := s.tree(right.sel)
	if err != nil {
		writeConnectError(w, err)
		return
	}
	fg := diffFlameGraph(lt, rt, maxNodes)
	writeJSON(w, flamebearerProfile{
		Version: 1,
		Flamebearer: flamebearerV1{
			Names: fg.Names, Levels: levelsOf(fg.Levels), NumTicks: fg.Total, MaxSelf: fg.MaxSelf,
		},
		Metadata:   flamebearerMeta(left.sel.typ, "double"),
		LeftTicks:  uint64(max(fg.LeftTicks, 0)),
		RightTicks: uint64(max(fg.RightTicks, 0)),
	})
}

// handleLabelValues implements GET /pyroscope/label-values. Only
// label=__name__ (the profile type IDs) is useful: for any other label the
// real v2.2.1 drops the time range and answers 400, and so does profstore,
// so that clients are pushed to Connect LabelValues here as there.
func (s *Server) handleLabelValues(w http.ResponseWriter, r *http.Request) {
	label := r.URL.Query().Get("label")
	if label == "" {
		writeError(w, http.StatusBadRequest, "label parameter is required")
		return
	}
	if label != labelName {
		writeError(w, http.StatusBadRequest, errMissingTimeRange.Error())
		return
	}
	seen := map[string]profileType{}
	for _, h := range s.store.query("", nil, -1<<63, 1<<63-1) {
		seen[h.typ.ID()] = h.typ
	}
	ids := sortedKeys(seen)
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, ids)
}

func writeQueryError(w http.ResponseWriter, err error) {
	var ce interface{ Message() string }
	if errors.As(err, &ce) {
		writeConnectError(w, err)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
