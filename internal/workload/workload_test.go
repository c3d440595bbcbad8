package workload_test

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/pproftest"
	"github.com/profdiff/profdiff/internal/workload"
)

// TestContendShows: Contend's lock waits and allocations show in the
// mutex and allocation profiles, under its own name.
func TestContendShows(t *testing.T) {
	oldMutex := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(oldMutex)
	oldMem := runtime.MemProfileRate
	runtime.MemProfileRate = 4096
	defer func() { runtime.MemProfileRate = oldMem }()

	mutexBefore, allocsBefore := pproftest.Lookup(t, "mutex"), pproftest.Lookup(t, "allocs")
	stop := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { close(stop) })
	workload.Contend(stop, 3, 200*time.Microsecond, 64<<10)
	for _, c := range []struct {
		name, sampleType string
		before           *profile.Profile
	}{{"mutex", "delay", mutexBefore}, {"allocs", "alloc_space", allocsBefore}} {
		d := pproftest.Delta(t, pproftest.Lookup(t, c.name), c.before)
		if _, total, seen := pproftest.Share(t, d, c.sampleType, "github.com/profdiff/profdiff/internal/workload.Contend.func1", nil); !seen || total <= 0 {
			t.Errorf("%s profile: Contend not seen (total %d)", c.name, total)
		}
	}
}

// TestSpin: a CPU profile of Spin names it, and Spin returns once stop is
// closed.
func TestSpin(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles the CPU for a second")
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { workload.Spin(stop); close(done) }()
	time.Sleep(time.Second)
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Spin did not return after stop was closed")
	}
	pprof.StopCPUProfile()
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if share, total, seen := pproftest.Share(t, p, "cpu", "github.com/profdiff/profdiff/internal/workload.Spin", nil); !seen || share < 0.5 {
		t.Errorf("Spin holds %.0f%% of %d ns of CPU, seen %v; want most of it", 100*share, total, seen)
	}
}
