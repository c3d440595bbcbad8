package bank

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkThroughput measures requests per second of each service over real
// loopback HTTP, with continuous profiling off and on (by default all five
// event kinds; BENCH_PROFILER_EVENT picks others, e.g. "cpu,alloc,lock"), with
// 1 s uploads to a local ingest endpoint so that uploads happen during the run.
// The client runs in the same process, so its own blocking events are profiled
// too: the figure is an upper bound on the service's overhead. Compare with
// benchstat:
//
//	go test -run '^$' -bench Throughput -benchtime 3s -count 5 ./services/bank > bench.txt
//	benchstat -col /profiling bench.txt
func BenchmarkThroughput(b *testing.B) {
	ingest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer ingest.Close()
	for _, s := range Services {
		for _, prof := range []string{"off", "on"} {
			b.Run("service="+s.Short+"/profiling="+prof, func(b *testing.B) {
				cfg := Config{Service: s.Name, Logger: quiet, PaymentLatency: -1}
				if s.Name == ServiceGateway {
					g, err := StartGroup(b.Context(), Config{Logger: quiet, PaymentLatency: -1}, "")
					if err != nil {
						b.Fatal(err)
					}
					defer g.Close()
					cfg.Downstreams = Downstreams{Order: g.URLs[ServiceOrder], Payment: g.URLs[ServicePayment], Fraud: g.URLs[ServiceFraud],
						Account: g.URLs[ServiceAccount], Loan: g.URLs[ServiceLoan], Notification: g.URLs[ServiceNotification]}
				}
				srv, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ts := httptest.NewServer(srv.Handler())
				defer ts.Close()
				if prof == "on" {
					events, err := ParseEvents(os.Getenv("BENCH_PROFILER_EVENT"))
					if err != nil {
						b.Fatal(err)
					}
					p, err := StartProfiling(ProfilingConfig{ApplicationName: s.Name, ServerAddress: ingest.URL, UploadInterval: time.Second, Events: events}, quiet)
					if err != nil {
						b.Fatal(err)
					}
					defer p.Stop()
				}
				mix := loadMix[s.Name]
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				defer client.CloseIdleConnections()
				var next, failed atomic.Int64
				b.SetParallelism(4)
				cpu0 := processCPU()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						q := mix[int(next.Add(1))%len(mix)]
						req, _ := http.NewRequest(q.method, ts.URL+q.path, strings.NewReader(q.body))
						resp, err := client.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode >= 300 && resp.StatusCode != 404 {
							failed.Add(1)
						}
					}
				})
				b.StopTimer() // teardown (drain, final upload) is not throughput
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				// CPU per request is what other load on a shared machine
				// disturbs least; throughput follows it when CPU-bound.
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
				if n := failed.Load(); n > 0 {
					b.Fatalf("%d failed requests", n)
				}
			})
		}
	}
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
