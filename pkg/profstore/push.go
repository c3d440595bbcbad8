package profstore

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
)

// pusher implements push.v1.PusherService, the API newer agents (and
// Grafana Alloy) use instead of /ingest. Each sample is one pprof profile;
// its series labels must name the profile (__name__) and the service.
type pusher struct{ s *Server }

func (p pusher) Push(_ context.Context, req *connect.Request[pushv1.PushRequest]) (*connect.Response[pushv1.PushResponse], error) {
	type pending struct {
		raw    []byte
		ts     int64
		places []placement
	}
	// Validate everything first so that a bad series rejects the request
	// without storing half of it.
	var todo []pending
	var cost int64
	for _, s := range req.Msg.Series {
		base, name, err := pushBaseLabels(s.Labels)
		if err == nil {
			err = p.s.opts.checkLabels(base)
		}
		if err != nil {
			p.s.store.reject()
			return nil, connect.NewError(connect.CodeInvalidArgument, err)
		}
		for _, smp := range s.Samples {
			if smp == nil || len(smp.RawProfile) == 0 {
				continue
			}
			prof, err := decodeProfile(smp.RawProfile, p.s.opts.MaxDecompressedBytes)
			if err != nil {
				p.s.store.reject()
				return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("failed to parse profile: %w", err))
			}
			ts := prof.TimeNanos
			if ts <= 0 {
				ts = p.s.opts.Now().UnixNano()
			}
			cost += uploadCost(prof.SizeVT(), base, name)
			types := profileTypesOf(name, prof)
			places := make([]placement, len(types))
			for i, t := range types {
				places[i] = placement{lbls: seriesLabels(base, t), typ: t, sampleIdx: i}
			}
			todo = append(todo, pending{smp.RawProfile, ts, places})
		}
	}
	// One charge for the whole request, as Pyroscope's distributor made
	// before it limited each series on its own; for one profile a request,
	// as pyroscope-go and Alloy send, the two agree.
	if err := p.s.limiter.allow(req.Header().Get(tenantHeader), cost, p.s.opts.Now()); err != nil {
		p.s.store.reject()
		return nil, connect.NewError(connect.CodeResourceExhausted, err)
	}
	for _, t := range todo {
		if err := p.s.store.add(t.raw, t.ts, t.places); err != nil {
			p.s.store.reject()
			// A profile larger than the whole store will never fit:
			// not a retryable 429. The series cap is per tenant and
			// frees up as series expire, so that one is.
			code := connect.CodeInvalidArgument
			if errors.As(err, new(errTooManySeries)) {
				code = connect.CodeResourceExhausted
			}
			return nil, connect.NewError(code, err)
		}
	}
	return connect.NewResponse(&pushv1.PushResponse{}), nil
}
