package pyroscope

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// appearAfter makes the default data visible only once ready is set, like
// a server that makes uploads queryable a moment after they arrive. Times
// are shifted so that the data lies in the last minutes.
func appearAfter(ready *atomic.Bool, base time.Time) func(string, string, time.Time, time.Time) *profile.Profile {
	inner := defaultData(0.3)
	return func(typeID, sel string, start, end time.Time) *profile.Profile {
		if !ready.Load() {
			return nil
		}
		shift := base.Sub(t0)
		return inner(typeID, sel, start.Add(-shift), end.Add(-shift))
	}
}

func TestWaitForData(t *testing.T) {
	var ready atomic.Bool
	base := time.Now().Add(-time.Minute)
	srv := newFake(t, &fakeQuerier{data: appearAfter(&ready, base)}, nil)
	c, _ := New(srv.URL)
	time.AfterFunc(300*time.Millisecond, func() { ready.Store(true) })
	start := time.Now()
	if err := c.WaitForData(context.Background(), []string{"svc-a", "svc-b"}, mustTypes(t, "cpu", "alloc"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("returned after %s; data appeared after 300ms", d)
	}
	// With no services named, any service will do.
	if err := c.WaitForData(context.Background(), nil, mustTypes(t, "cpu"), time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestWaitForDataTimeout(t *testing.T) {
	base := time.Now().Add(-time.Minute)
	var ready atomic.Bool
	ready.Store(true)
	srv := newFake(t, &fakeQuerier{data: appearAfter(&ready, base)}, nil)
	c, _ := New(srv.URL)
	start := time.Now()
	err := c.WaitForData(context.Background(), []string{"svc-a", "svc-idle"}, mustTypes(t, "cpu", "mutex_count"), 600*time.Millisecond)
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want *WaitError", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout of 600ms took %s", d)
	}
	want := "svc-a mutex_count, svc-idle cpu, svc-idle mutex_count"
	if !strings.Contains(err.Error(), "still has no data after") || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v\nwant it to end %q", err, want)
	}
}

func TestWaitStopsOnRefusedCredentials(t *testing.T) {
	var count atomic.Int32
	srv := newFake(t, &fakeQuerier{}, failFirst(1000, 401, "", &count))
	c, _ := New(srv.URL)
	start := time.Now()
	err := c.WaitForData(context.Background(), []string{"svc-a"}, nil, 10*time.Second)
	if !errors.Is(err, ErrUnauthorized) || time.Since(start) > time.Second || count.Load() != 1 {
		t.Errorf("err = %v after %s and %d calls; want ErrUnauthorized at once", err, time.Since(start), count.Load())
	}
}

func TestWaitSurvivesServerStarting(t *testing.T) {
	// The first calls fail as a starting server's would; the wait goes on.
	var count atomic.Int32
	var ready atomic.Bool
	ready.Store(true)
	srv := newFake(t, &fakeQuerier{data: appearAfter(&ready, time.Now().Add(-time.Minute))}, failFirst(3, 503, "", &count))
	c, _ := New(srv.URL, WithRetry(1, time.Millisecond))
	if err := c.WaitForData(context.Background(), []string{"svc-a"}, mustTypes(t, "cpu"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if count.Load() < 4 {
		t.Errorf("%d calls; want the failures to be waited out", count.Load())
	}
}

func TestWaitForRange(t *testing.T) {
	// Data up to t0+60s exists; the last window of [t0, t0+60s) has it,
	// that of [t0+10s, t0+70s) does not.
	srv := newFake(t, &fakeQuerier{}, nil)
	c, _ := New(srv.URL)
	ctx := context.Background()
	if err := c.WaitForRange(ctx, Query{From: t0, Until: t0.Add(time.Minute), Window: 10 * time.Second}, time.Second); err != nil {
		t.Fatal(err)
	}
	err := c.WaitForRange(ctx, Query{From: t0.Add(10 * time.Second), Until: t0.Add(70 * time.Second), Window: 10 * time.Second, Services: []string{"svc-a", "svc-b"}}, 500*time.Millisecond)
	var we *WaitError
	if !errors.As(err, &we) || len(we.Pending) != 2 || !strings.HasSuffix(err.Error(), "for svc-a, svc-b") {
		t.Errorf("err = %v", err)
	}
}
