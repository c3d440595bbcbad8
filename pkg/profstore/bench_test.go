package profstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
)

// The benchmark models the stack profdiff targets: 7 services, each
// uploading all ten pyroscope-go profile types (5 uploads) every 10 s, for
// an hour — 12,600 uploads over loopback HTTP, 7 at a time. Then it
// measures a profdiff collect: 60 s as six 10 s windows, for 7 services × 3
// profile types, i.e. 126 SelectMergeProfile calls, 4 in flight.
//
//	go test -run '^$' -bench BenchmarkHour -benchtime 1x ./pkg/profstore/

const (
	benchServices = 7
	benchInterval = 10 * time.Second
	benchHour     = 360 // intervals
)

// richProfile makes a profile of realistic size for the kind: CPU with a
// 150 distinct stacks 10–30 deep over a 400-function code base,
// the others with 12–20 stacks (about 7 KB and 2 KB gzipped, like the
// uploads in shared/pyroscope-samples/upload). TimeNanos is 0 so that the
// upload's from parameter dates it, as for a variant reused across windows.
func richProfile(kind uploadKind, seed uint64) []byte {
	spec := kindSpecs[kind]
	r := rand.New(rand.NewPCG(seed, 7))
	nStacks := map[uploadKind]int{kindCPU: 150, kindHeap: 20, kindMutex: 12, kindBlock: 12, kindGoroutine: 15}[kind]
	p := &profile.Profile{PeriodType: &profile.ValueType{Type: spec.period[0], Unit: spec.period[1]}, Period: spec.periodVal}
	for _, st := range spec.types {
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: st[0], Unit: st[1]})
	}
	m := &profile.Mapping{ID: 1, File: "/app/bank", BuildID: "b1", HasFunctions: true}
	p.Mapping = []*profile.Mapping{m}
	for i := 0; i < 400; i++ {
		f := &profile.Function{ID: uint64(i + 1), Name: fmt.Sprintf("github.com/profdiff/profdiff/services/bank.(*svc%d).handler%d", i%17, i), Filename: fmt.Sprintf("/src/bank/f%d.go", i%40), StartLine: int64(i)}
		p.Function = append(p.Function, f)
		p.Location = append(p.Location, &profile.Location{ID: uint64(i + 1), Mapping: m, Address: uint64(0x401000 + i*64), Line: []profile.Line{{Function: f, Line: int64(i + 5)}}})
	}
	for s := 0; s < nStacks; s++ {
		depth := 10 + r.IntN(21)
		var locs []*profile.Location
		for d := 0; d < depth; d++ {
			locs = append(locs, p.Location[(d*37+r.IntN(12)+s%5)%400])
		}
		vals := make([]int64, len(spec.types))
		for i := range vals {
			vals[i] = int64(1+r.IntN(50)) * spec.periodVal
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: locs, Value: vals})
	}
	p = p.Compact() // drop the functions this upload does not use, as the runtime would
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// benchData holds pre-built uploads (4 variants per kind) so the timed loop
// measures the server, not profile generation.
type benchData struct{ variants map[uploadKind][][]byte }

func newBenchData() *benchData {
	d := &benchData{variants: map[uploadKind][][]byte{}}
	for _, k := range allKinds {
		for v := 0; v < 4; v++ {
			d.variants[k] = append(d.variants[k], richProfile(k, uint64(v)+uint64(len(k))*100))
		}
	}
	return d
}

// loadHour uploads an hour of data ending at end; it returns the number of
// uploads.
func loadHour(b *testing.B, srv *Server, d *benchData, end time.Time) int {
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchServices}}
	errs := make(chan error, benchServices)
	for svc := 0; svc < benchServices; svc++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := fmt.Sprintf("bank-svc-%d", svc)
			tags := map[string]string{"env": "bench", "version": "1"}
			for i := 0; i < benchHour; i++ {
				until := end.Add(-time.Duration(benchHour-1-i) * benchInterval)
				from := until.Add(-benchInterval)
				for _, k := range allKinds {
					body := d.variants[k][(i+svc)%4]
					resp, err := client.Do(ingestRequest(b, srv.URL(), app, tags, k, from, until, body))
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- fmt.Errorf("ingest status %d", resp.StatusCode)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return benchServices * benchHour * len(allKinds)
}

// liveHeap is the heap still reachable after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func BenchmarkHour(b *testing.B) {
	d := newBenchData()
	end := time.Now().Truncate(benchInterval)
	var srv *Server
	b.Run("ingest", func(b *testing.B) {
		var uploads int
		var heapDelta, stored float64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if srv != nil {
				_ = srv.Close()
				srv = nil
			}
			base := liveHeap()
			// The hour is loaded as fast as the server takes it, far
			// above real Pyroscope's ingestion rate: no rate limit.
			s, err := Run(context.Background(), WithIngestionLimit(-1, 0))
			if err != nil {
				b.Fatal(err)
			}
			srv = s
			b.StartTimer()
			uploads += loadHour(b, srv, d, end)
			b.StopTimer()
			after := liveHeap()
			b.Logf("live heap before %d MiB, after %d MiB", base>>20, after>>20)
			heapDelta = (float64(after) - float64(base)) / (1 << 20)
			stored = float64(srv.Stats().Bytes) / (1 << 20)
			b.StartTimer()
		}
		b.ReportMetric(float64(uploads)/b.Elapsed().Seconds(), "uploads/s")
		b.ReportMetric(heapDelta, "heap-MiB")
		b.ReportMetric(stored, "stored-MiB")
		b.ReportMetric(0, "ns/op")
	})
	if srv == nil {
		b.Skip("ingest did not run")
	}
	defer srv.Close()
	b.Run("collect-60s-6win-7svc-3types", func(b *testing.B) {
		c := newQuerierClient(srv)
		types := []string{cpuType, allocType, mutexType}
		ctx := context.Background()
		// Each op is ten collects, so that -benchtime 1x (needed to load the
		// hour only once) still averages several.
		const reps = 10
		for b.Loop() {
			for range reps {
				collectOnce(b, c, types, ctx, end)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*reps), "ms/collect")
		b.ReportMetric(float64(b.N*reps*benchServices*len(types)*6)/b.Elapsed().Seconds(), "calls/s")
	})
}

// collectOnce is one profdiff collect: 6 windows × 7 services × 3 types.
func collectOnce(b *testing.B, c querierv1connect.QuerierServiceClient, types []string, ctx context.Context, end time.Time) {
	type job struct {
		svc, typ string
		s, e     int64
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				resp, err := c.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{
					ProfileTypeID: j.typ, LabelSelector: fmt.Sprintf(`{service_name=%q}`, j.svc), Start: j.s, End: j.e,
				}))
				if err != nil || len(resp.Msg.Sample) == 0 {
					b.Errorf("collect %s %s: %v (empty=%v)", j.svc, j.typ, err, err == nil)
				}
			}
		}()
	}
	for svc := 0; svc < benchServices; svc++ {
		for _, typ := range types {
			for w := 0; w < 6; w++ {
				ws := end.Add(-time.Minute + time.Duration(w)*benchInterval)
				jobs <- job{fmt.Sprintf("bank-svc-%d", svc), typ, ws.UnixMilli(), ws.Add(benchInterval).UnixMilli()}
			}
		}
	}
	close(jobs)
	wg.Wait()
}
