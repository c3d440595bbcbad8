package profstore

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
)

// fakeClock is a settable clock for retention and delay tests.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration)  { c.ns.Add(int64(d)) }

func countSamples(t *testing.T, s *Server, typeID, sel string, from, to time.Time) int {
	t.Helper()
	resp, err := newQuerierClient(s).SelectMergeProfile(context.Background(), connect.NewRequest(&querierv1.SelectMergeProfileRequest{
		ProfileTypeID: typeID, LabelSelector: sel, Start: from.UnixMilli(), End: to.UnixMilli(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.Msg.Sample)
}

// TestRetentionCapAndDelay checks the three ways data stops or starts being
// visible: the retention window, the memory cap (oldest first) and
// QueryDelay.
func TestRetentionCapAndDelay(t *testing.T) {
	t.Run("retention", func(t *testing.T) {
		clk := newFakeClock(time.Now())
		srv := startTest(t, Options{Retention: time.Minute, Now: clk.Now})
		at := clk.Now()
		uploadAll(t, srv.URL(), "ret", nil, at, 1)
		from, to := at.Add(-time.Hour), at.Add(time.Hour)
		if countSamples(t, srv, cpuType, "{}", from, to) == 0 {
			t.Fatal("fresh upload not visible")
		}
		clk.Add(2 * time.Minute)
		if n := countSamples(t, srv, cpuType, "{}", from, to); n != 0 {
			t.Errorf("expired upload still visible (%d samples)", n)
		}
		srv.store.evictExpired()
		// What is left is only the per-service counters, which outlive
		// the uploads they count (and are charged against the cap).
		if st := srv.Stats(); st.Stored != 0 || st.Series != 0 || st.Bytes != srv.store.stats.bytes || st.Bytes > int64(len(st.Services["ret"]))*(statsEntryBytes+64) {
			t.Errorf("after eviction: %+v", st)
		}
	})
	t.Run("memory cap", func(t *testing.T) {
		// What one upload costs, labels included, measured on a server
		// with room; and what the counters of one service cost.
		ref := startTest(t, Options{})
		at0 := time.Now().Add(-time.Hour)
		resp, err := http.DefaultClient.Do(ingestRequest(t, ref.URL(), "cap0", nil, kindCPU, at0, at0, buildProfile(kindCPU, at0, 1)))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("reference ingest: %v %v", err, resp)
		}
		resp.Body.Close()
		statsPer := ref.store.stats.bytes
		one := ref.Stats().Bytes - statsPer
		// Room for three uploads and the counters of all five services
		// (plus slack: gzip sizes vary by a few bytes), not four uploads.
		max := 3*one + 5*statsPer + one/2
		srv := startTest(t, Options{MaxBytes: max})
		base := time.Now().Add(-time.Hour)
		for i := 0; i < 5; i++ {
			at := base.Add(time.Duration(i) * 10 * time.Second)
			req := ingestRequest(t, srv.URL(), fmt.Sprintf("cap%d", i), nil, kindCPU, at, at, buildProfile(kindCPU, at, 1))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("ingest %d: %v %v", i, err, resp)
			}
			resp.Body.Close()
		}
		st := srv.Stats()
		if st.Stored != 3 || st.Evicted != 2 || st.Bytes > max {
			t.Errorf("stats %+v, want 3 stored, 2 evicted, <= %d bytes", st, max)
		}
		from, to := base.Add(-time.Minute), base.Add(time.Hour)
		for i, want := range []bool{false, false, true, true, true} {
			got := countSamples(t, srv, cpuType, fmt.Sprintf(`{service_name="cap%d"}`, i), from, to) > 0
			if got != want {
				t.Errorf("cap%d visible=%v, want %v", i, got, want)
			}
		}
	})
	t.Run("query delay", func(t *testing.T) {
		clk := newFakeClock(time.Now())
		srv := startTest(t, Options{QueryDelay: 2 * time.Second, Now: clk.Now})
		at := clk.Now()
		uploadAll(t, srv.URL(), "late", nil, at, 1)
		from, to := at.Add(-time.Hour), at.Add(time.Hour)
		if n := countSamples(t, srv, cpuType, "{}", from, to); n != 0 {
			t.Errorf("visible before QueryDelay (%d samples)", n)
		}
		if err := srv.WaitForUploads(context.Background(), "late", []string{cpuType}, 1); err != nil {
			t.Errorf("WaitForUploads counts received uploads: %v", err)
		}
		clk.Add(3 * time.Second)
		if countSamples(t, srv, cpuType, "{}", from, to) == 0 {
			t.Error("not visible after QueryDelay")
		}
	})
}

// TestConcurrentIngestAndQuery runs uploads, evictions and every query kind
// at once; run with -race, it is the concurrency safety check.
func TestConcurrentIngestAndQuery(t *testing.T) {
	one := int64(len(buildProfile(kindHeap, time.Now(), 1)))
	srv := startTest(t, Options{MaxBytes: 40 * one})
	c := newQuerierClient(srv)
	// The deadline only catches a hang: under -race on a busy 2-core machine
	// the run takes 15 s and more, so 20 s failed healthy runs. Any query
	// error, a lost upload or no eviction still fails.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	now := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				uploadAll(t, srv.URL(), fmt.Sprintf("svc%d", w), map[string]string{"env": "c"}, now.Add(time.Duration(i)*time.Second), int64(i+1))
			}
		}()
	}
	s, e := now.Add(-time.Minute).UnixMilli(), now.Add(time.Minute).UnixMilli()
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15 && ctx.Err() == nil; i++ {
				calls := []error{
					func() error {
						_, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{ProfileTypeID: allocType, LabelSelector: `{env="c"}`, Start: s, End: e}))
						return err
					}(),
					func() error {
						_, err := c.SelectSeries(ctx, connect.NewRequest(&querierv1.SelectSeriesRequest{ProfileTypeID: cpuType, Start: s, End: e, Step: 1, GroupBy: []string{"service_name"}}))
						return err
					}(),
					func() error {
						_, err := c.Series(ctx, connect.NewRequest(&querierv1.SeriesRequest{Start: s, End: e}))
						return err
					}(),
					func() error {
						_, err := c.SelectMergeStacktraces(ctx, connect.NewRequest(&querierv1.SelectMergeStacktracesRequest{ProfileTypeID: cpuType, LabelSelector: "{}", Start: s, End: e}))
						return err
					}(),
					func() error {
						_, err := c.LabelValues(ctx, connect.NewRequest(&typesv1.LabelValuesRequest{Name: "service_name", Start: s, End: e}))
						return err
					}(),
				}
				for _, err := range calls {
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	st := srv.Stats()
	if st.Uploads != 3*15*int64(len(allKinds)) || st.Evicted == 0 {
		t.Errorf("stats %+v: want %d uploads and some evictions", st, 3*15*len(allKinds))
	}
	if got := st.Services["svc0"][cpuType].Uploads; got != 15 {
		t.Errorf("svc0 cpu uploads %d, want 15", got)
	}
}
