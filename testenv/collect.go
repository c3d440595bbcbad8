package testenv

import (
	"context"
	"fmt"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/pyroscope"
)

// client returns a Pyroscope client for the stack's Pyroscope.
func (s *Stack) client() (*pyroscope.Client, error) {
	return pyroscope.New(s.PyroscopeURL(), pyroscope.WithAuthFromEnv(), pyroscope.WithAllocSampleRate(s.opts.AllocRate))
}

// selector narrows queries to this stack's env label, so a shared Pyroscope
// holding other runs is not mixed in.
func (s *Stack) selector() pyroscope.Selector {
	return pyroscope.MustParseSelector(fmt.Sprintf(`{env=%q}`, s.opts.Env))
}

// WaitForProfiles waits until Pyroscope has profiles of every given type from
// every given service (default: all running services; cpu, alloc, lock).
func (s *Stack) WaitForProfiles(ctx context.Context, services []string, types []profiletype.ID, timeout time.Duration) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	if len(services) == 0 {
		services = s.Services()
	}
	if len(types) == 0 {
		types = profiletype.Default()
	}
	return c.WaitForData(ctx, services, types, timeout)
}

// Snapshot collects the stack's profiles over [from, until) into a snapshot,
// one window per upload interval. Series with no data are listed in the
// result's Missing; a comparison against a baseline that has them is
// inconclusive.
func (s *Stack) Snapshot(ctx context.Context, from, until time.Time, types []profiletype.ID) (*pyroscope.Result, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	q := pyroscope.Query{
		From: from, Until: until, Window: s.opts.UploadInterval,
		Services: s.opts.Services, Types: types, Selector: s.selector(),
	}
	if err := c.WaitForRange(ctx, q, 2*s.opts.UploadInterval+15*time.Second); err != nil {
		// Collect anyway: the missing services become inconclusive series,
		// which is what a killed or silent service must produce.
		fmt.Fprintf(s.progress, "not every service has data in the last window: %v\n", err)
	}
	res, err := c.Collect(ctx, q)
	if err != nil {
		return nil, err
	}
	res.Snapshot.Meta.Labels = map[string]string{"version": s.opts.Version, "env": s.opts.Env}
	if s.opts.Inject != "" {
		res.Snapshot.Meta.Labels["inject"] = s.opts.Inject
	}
	res.Snapshot.Meta.Window = baseline.Duration(s.opts.UploadInterval)
	return res, nil
}

// alignUp and alignDown round t to the window grid, so collection windows
// line up with the SDK's uploads (heap, mutex and block uploads are aligned
// to the interval's boundaries).
func alignUp(t time.Time, d time.Duration) time.Time {
	a := t.Truncate(d)
	if a.Before(t) {
		a = a.Add(d)
	}
	return a
}

func alignDown(t time.Time, d time.Duration) time.Time { return t.Truncate(d) }
