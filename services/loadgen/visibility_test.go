package loadgen

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/pproftest"
	"github.com/profdiff/profdiff/services/bank"
)

// TestHotspotsVisibleUnderLoad runs the seven services in this process under
// the generator's own request mix and checks that every hot spot holds at
// least 2% of its service's profile. CPU hot spots are measured with all seven
// loaded, their samples split by the pprof label the Group sets. Allocation and
// lock profiles carry no labels, so those hot spots are measured one service
// at a time, counting only server-side stacks (not the generator's own).
func TestHotspotsVisibleUnderLoad(t *testing.T) {
	d := 2 * time.Second
	if testing.Short() {
		d = time.Second
	}
	g, err := bank.StartGroup(context.Background(), bank.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	oldMem := runtime.MemProfileRate
	runtime.MemProfileRate = 64 << 10
	defer func() { runtime.MemProfileRate = oldMem }()
	oldMutex := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(oldMutex)

	load := func(targets map[string]string, rate float64, d time.Duration) {
		t.Helper()
		res, err := Run(context.Background(), Config{Targets: targets, Rate: rate, Concurrency: 32, Duration: d})
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors > 0 {
			t.Errorf("%d errors under load", res.Errors)
		}
	}
	var cpu bytes.Buffer
	runtime.SetCPUProfileRate(400)
	if err := pprof.StartCPUProfile(&cpu); err != nil {
		t.Fatal(err)
	}
	// 100 requests/s per service for three times the allocation and lock
	// phases' time: the gateway's whole CPU at 40 requests/s for 2 s was
	// about four samples at 400 Hz, and its hot spot's share of them came
	// out 0% in a CI run (2026-11-27). Now it gets some tens. (Its share
	// still moves a lot between runs of this test, 4% to 55%: see the CPU
	// profile attribution finding in docs/verdict-quality.md.)
	load(g.URLs, 700, 3*d)
	pprof.StopCPUProfile()
	cpuProf, err := profile.Parse(&cpu)
	if err != nil {
		t.Fatal(err)
	}
	serverSide := func(s *profile.Sample) bool {
		return pproftest.InStack(s, "net/http.(*conn).serve") || pproftest.InStack(s, "github.com/profdiff/profdiff/services/bank.(*Server).startJobs.func1")
	}
	for _, h := range bank.Hotspots {
		var p *profile.Profile
		var typ string
		keep := serverSide
		switch h.Profile {
		case "cpu":
			p, typ = cpuProf, "cpu"
			keep = func(s *profile.Sample) bool {
				return len(s.Label["service"]) == 1 && s.Label["service"][0] == h.Service
			}
		case "alloc_space", "mutex_delay":
			name, t2 := "allocs", "alloc_space"
			if h.Profile == "mutex_delay" {
				name, t2 = "mutex", "delay"
			}
			before := pproftest.Lookup(t, name)
			load(map[string]string{h.Service: g.URLs[h.Service]}, 30, d)
			p, typ = pproftest.Delta(t, pproftest.Lookup(t, name), before), t2
		}
		sh, total, _ := pproftest.Share(t, p, typ, h.Function, keep)
		t.Logf("%-22s %-26s %-12s %5.1f%% of %d", h.Inject, h.Service, h.Profile, 100*sh, total)
		if sh < 0.02 {
			t.Errorf("%s: %s holds %.1f%% of %s, want >= 2%%", h.Inject, h.Function, 100*sh, h.Profile)
		}
	}
}
