package pyroscope_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"
	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"

	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/profstore"
	pc "github.com/profdiff/profdiff/pkg/pyroscope"
)

// benchServices are the seven bank services of the stack.
var benchServices = []string{
	"bank-api-gateway", "bank-order-service", "bank-payment-service", "bank-fraud-service",
	"bank-account-service", "bank-loan-service", "bank-notification-service",
}

// BenchmarkCollect measures the query side of a CI gate run: a 60 s range
// in six 10 s windows for the seven services and the default types (cpu,
// alloc, lock: five profile types, plus the CPU sample counts fetched to
// recover the period), i.e. 252 SelectMergeProfile calls, against the
// embedded server over loopback. Each upload is shaped like a busy Go
// service's: 300 functions, 400 distinct stacks of depth 8-24.
func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	srv, err := profstore.Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	start := time.Now().Add(-5 * time.Minute).Truncate(10 * time.Second)
	pushBenchData(b, srv.URL(), start)

	for _, bc := range []struct {
		name string
		opts []pc.Option
	}{
		{"proto/concurrency=1", []pc.Option{pc.WithConcurrency(1)}},
		{"proto/concurrency=4", nil},
		{"proto/concurrency=8", []pc.Option{pc.WithConcurrency(8)}},
		{"json/concurrency=4", []pc.Option{pc.WithConnectJSON()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := pc.New(srv.URL(), bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			q := pc.Query{From: start, Until: start.Add(time.Minute), Window: 10 * time.Second, Types: profiletype.Default()}
			for b.Loop() {
				res, err := c.Collect(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Snapshot.Series) != 7*5 || len(res.Missing) != 0 {
					b.Fatalf("%d series, missing %v", len(res.Snapshot.Series), res.Missing)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/collect")
		})
	}
}

// pushBenchData pushes six 10 s windows of cpu, memory and mutex profiles
// for every bench service, through the Push API.
func pushBenchData(b *testing.B, url string, start time.Time) {
	push := pushv1connect.NewPusherServiceClient(http.DefaultClient, url)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, svc := range benchServices {
		funcs := make([]*profile.Function, 300)
		for i := range funcs {
			name := fmt.Sprintf("github.com/profdiff/profdiff/services/%s.fn%03d", svc, i)
			funcs[i] = &profile.Function{ID: uint64(i + 1), Name: name, SystemName: name, Filename: "svc.go", StartLine: int64(i)}
		}
		locs := make([]*profile.Location, len(funcs))
		for i, f := range funcs {
			locs[i] = &profile.Location{ID: uint64(i + 1), Address: uint64(0x1000 + i*16), Line: []profile.Line{{Function: f, Line: int64(i + 3)}}}
		}
		stacks := make([][]*profile.Location, 400)
		for i := range stacks {
			depth := 8 + rng.IntN(17)
			for range depth {
				stacks[i] = append(stacks[i], locs[rng.IntN(len(locs))])
			}
		}
		kinds := []struct {
			name   string
			types  [][2]string
			period int64
			ptype  [2]string
			scale  []int64
		}{
			{"process_cpu", [][2]string{{"samples", "count"}, {"cpu", "nanoseconds"}}, 1e7, [2]string{"cpu", "nanoseconds"}, []int64{1, 1e7}},
			{"memory", [][2]string{{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}}, 512 * 1024, [2]string{"space", "bytes"}, []int64{1, 4096, 1, 4096}},
			{"mutex", [][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}, 1, [2]string{"contentions", "count"}, []int64{1, 50000}},
		}
		for w := range 6 {
			at := start.Add(time.Duration(w) * 10 * time.Second)
			req := &pushv1.PushRequest{}
			for _, k := range kinds {
				p := &profile.Profile{
					PeriodType: &profile.ValueType{Type: k.ptype[0], Unit: k.ptype[1]}, Period: k.period,
					TimeNanos: at.UnixNano(), DurationNanos: 10e9, Function: funcs, Location: locs,
				}
				for _, t := range k.types {
					p.SampleType = append(p.SampleType, &profile.ValueType{Type: t[0], Unit: t[1]})
				}
				for _, st := range stacks {
					n := int64(1 + rng.IntN(5))
					vals := make([]int64, len(k.scale))
					for i, s := range k.scale {
						vals[i] = n * s
					}
					p.Sample = append(p.Sample, &profile.Sample{Location: st, Value: vals})
				}
				var buf bytes.Buffer
				if err := p.Write(&buf); err != nil {
					b.Fatal(err)
				}
				req.Series = append(req.Series, &pushv1.RawProfileSeries{
					Labels: []*typesv1.LabelPair{
						{Name: "__name__", Value: k.name}, {Name: "service_name", Value: svc}, {Name: "env", Value: "bench"},
					},
					Samples: []*pushv1.RawSample{{RawProfile: buf.Bytes()}},
				})
			}
			if _, err := push.Push(context.Background(), connect.NewRequest(req)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
