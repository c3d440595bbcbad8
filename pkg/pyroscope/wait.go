package pyroscope

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// WaitLookback is how far back WaitForData looks for data.
const WaitLookback = 5 * time.Minute

// Poll intervals: start quickly (the real server makes data queryable about
// two seconds after upload) and back off so that a long wait costs little.
const (
	firstPoll = 250 * time.Millisecond
	maxPoll   = 2 * time.Second
)

// WaitError is returned when the data waited for did not arrive in time.
type WaitError struct {
	URL     string
	Waited  time.Duration
	Pending []SeriesKey // what still had no data, sorted
	Last    error       // the last query error, if the last poll failed
}

func (e *WaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pyroscope at %s still has no data after %s for ", e.URL, e.Waited.Round(time.Millisecond))
	for i, k := range e.Pending {
		if i == 8 {
			fmt.Fprintf(&b, " and %d more", len(e.Pending)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case k.Service == "*":
			b.WriteString("any service " + profiletype.MustAlias(k.ProfileType))
		case k.ProfileType == "any":
			b.WriteString(k.Service)
		default:
			b.WriteString(k.String())
		}
	}
	if e.Last != nil {
		fmt.Fprintf(&b, " (last error: %v)", e.Last)
	}
	return b.String()
}

// Unwrap returns the last query error.
func (e *WaitError) Unwrap() error { return e.Last }

// WaitForData polls until Pyroscope has data of every type for every
// service in the last WaitLookback, or until timeout (or ctx) ends. It is
// for the moment after a stack starts: profiles become queryable only a
// while after the first upload, so an immediate Collect would find nothing.
// With no services it waits for any service to have each type; with no
// types it waits for profiletype.Default().
//
// A service that never produces a type (say, no lock contention at all) may
// have no series of it: wait for the types the services are sure to have.
// Failed queries are retried until the timeout, since the server may still
// be starting; refused credentials and refused requests end the wait at once.
// On timeout the error is a *WaitError naming what is still missing.
func (c *Client) WaitForData(ctx context.Context, services []string, types []profiletype.ID, timeout time.Duration) error {
	if len(types) == 0 {
		types = profiletype.Default()
	}
	pending := map[SeriesKey]bool{}
	for _, t := range types {
		if len(services) == 0 {
			pending[SeriesKey{Service: "*", ProfileType: t.String()}] = true
		}
		for _, s := range services {
			pending[SeriesKey{Service: s, ProfileType: t.String()}] = true
		}
	}
	return c.poll(ctx, timeout, pending, func(ctx context.Context, pending map[SeriesKey]bool) error {
		now := time.Now()
		for _, t := range types {
			if !anyPending(pending, t.String()) {
				continue
			}
			resp, err := call(ctx, c, "LabelValues", c.q.LabelValues, &typesv1.LabelValuesRequest{
				Name:     "service_name",
				Matchers: []string{`{__profile_type__=` + strconv.Quote(t.String()) + `}`},
				Start:    now.Add(-WaitLookback).UnixMilli(),
				End:      now.UnixMilli(),
			})
			if err != nil {
				return err
			}
			for _, name := range resp.Names {
				delete(pending, SeriesKey{Service: name, ProfileType: t.String()})
			}
			if len(resp.Names) > 0 {
				delete(pending, SeriesKey{Service: "*", ProfileType: t.String()})
			}
		}
		return nil
	})
}

// WaitForRange polls until the last window of q has data for every service
// of q, or until timeout (or ctx) ends. It is for the moment after a load
// run: the last upload of the run reaches Pyroscope one upload interval
// after the run ends, plus the server's ingestion delay, and collecting
// before then would lose the last window.
//
// A service counts as arrived when any type of q has data in the last
// window, since an SDK uploads all its types together and a service may
// legitimately have no samples of one type. With no services in q it waits
// until some service has data in the range and then for every service
// found. On timeout the error is a *WaitError.
func (c *Client) WaitForRange(ctx context.Context, q Query, timeout time.Duration) error {
	wins, err := q.windows()
	if err != nil {
		return err
	}
	last := wins[len(wins)-1]
	types := q.Types
	if len(types) == 0 {
		types = profiletype.Default()
	}
	services := q.Services
	pending := map[SeriesKey]bool{}
	for _, s := range services {
		pending[SeriesKey{Service: s, ProfileType: "any"}] = true
	}
	if len(services) == 0 {
		pending[SeriesKey{Service: "*", ProfileType: "any"}] = true
	}
	return c.poll(ctx, timeout, pending, func(ctx context.Context, pending map[SeriesKey]bool) error {
		if pending[SeriesKey{Service: "*", ProfileType: "any"}] {
			found, err := c.Services(ctx, q.From, last.end, q.Selector)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return nil
			}
			delete(pending, SeriesKey{Service: "*", ProfileType: "any"})
			for _, s := range found {
				pending[SeriesKey{Service: s, ProfileType: "any"}] = true
			}
		}
		for key := range pending {
			for _, t := range types {
				p, err := c.mergedProfile(ctx, t.String(), q.Selector.forService(key.Service), last.start, last.end, nil)
				if err != nil {
					return err
				}
				if p != nil {
					delete(pending, key)
					break
				}
			}
		}
		return nil
	})
}

func anyPending(pending map[SeriesKey]bool, typeID string) bool {
	for k := range pending {
		if k.ProfileType == typeID {
			return true
		}
	}
	return false
}

// poll runs check until pending is empty, backing off between rounds.
func (c *Client) poll(ctx context.Context, timeout time.Duration, pending map[SeriesKey]bool,
	check func(context.Context, map[SeriesKey]bool) error) error {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := firstPoll
	var last error
	for {
		err := check(wctx, pending)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err == nil:
			last = nil
		case wctx.Err() != nil:
			// The wait timed out in the middle of a query; keep the
			// previous error, which says more than "deadline exceeded".
		case permanent(err):
			return err
		default:
			last = err
		}
		if len(pending) == 0 {
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			we := &WaitError{URL: c.url, Waited: time.Since(start), Last: last}
			for k := range pending {
				we.Pending = append(we.Pending, k)
			}
			sort.Slice(we.Pending, func(i, j int) bool { return we.Pending[i].String() < we.Pending[j].String() })
			return we
		case <-t.C:
		}
		interval = min(interval*3/2, maxPoll)
	}
}

// permanent reports whether waiting longer cannot help: the server refused
// the credentials or the request itself.
func permanent(err error) bool {
	var pe *Error
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeUnimplemented:
		return true
	}
	return pe.Status >= 400 && pe.Status < 500 && pe.Status != 429 && pe.Status != 408
}
