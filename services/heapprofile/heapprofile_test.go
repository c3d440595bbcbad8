package heapprofile

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go/godeltaprof"
	"github.com/grafana/pyroscope-go/upstream"
)

// recorder is an upstream that keeps every upload job and signals each.
type recorder struct {
	mu   sync.Mutex
	jobs []*upstream.UploadJob
	sig  chan struct{}
}

func newRecorder() *recorder { return &recorder{sig: make(chan struct{}, 100)} }

func (r *recorder) Upload(j *upstream.UploadJob) {
	r.mu.Lock()
	r.jobs = append(r.jobs, j)
	r.mu.Unlock()
	select {
	case r.sig <- struct{}{}:
	default: // nobody waits for that many: never block the collector
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

func (r *recorder) Flush() {}

func (r *recorder) job(i int) *upstream.UploadJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jobs[i]
}

// sink keeps the marked allocations reachable until they are counted; it is
// an array, so that keeping them allocates nothing more.
var sink [1000][]byte

// allocMarked makes n (at most len(sink)) allocations of 1 KiB in a
// function the tests find by name.
//
//go:noinline
func allocMarked(n int) {
	for i := range n {
		sink[i] = make([]byte, 1024)
	}
}

// markedObjects is how many objects a heap profile says allocMarked
// allocated.
func markedObjects(t *testing.T, data []byte) int64 {
	t.Helper()
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "alloc_objects" {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("heap profile has no alloc_objects: %v", p.SampleType)
	}
	var n int64
samples:
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if strings.HasSuffix(l.Function.Name, ".allocMarked") {
					n += s.Value[idx]
					continue samples
				}
			}
		}
	}
	return n
}

// sampleEvery sets runtime.MemProfileRate to 1, so every allocation is
// recorded and counts are exact, for the test's duration.
func sampleEvery(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	t.Cleanup(func() { runtime.MemProfileRate = old })
}

// TestRuntimePublishesAtGC pins the behaviour this package works around:
// allocations enter the heap profile only when a collection completes, so
// a profile read without one misses everything allocated since the last.
// When a Go release makes this test fail, read the package comment again.
func TestRuntimePublishesAtGC(t *testing.T) {
	sampleEvery(t)
	prof := godeltaprof.NewHeapProfiler()
	runtime.GC()
	var buf bytes.Buffer
	if err := prof.Profile(&buf); err != nil {
		t.Fatal(err)
	}
	const n = 500
	allocMarked(n)
	buf.Reset()
	if err := prof.Profile(&buf); err != nil {
		t.Fatal(err)
	}
	if got := markedObjects(t, buf.Bytes()); got != 0 {
		t.Skipf("a collection ran during the test (%d objects already published)", got)
	}
	runtime.GC()
	buf.Reset()
	if err := prof.Profile(&buf); err != nil {
		t.Fatal(err)
	}
	if got := markedObjects(t, buf.Bytes()); got != n {
		t.Errorf("after a collection the profile holds %d of the %d allocations", got, n)
	}
	sink = [len(sink)][]byte{}
}

// TestWindowHoldsItsAllocations: allocations made in a window are in that
// window's upload, all of them, and in no later one; windows end on the
// interval grid, with the sample types the server needs.
func TestWindowHoldsItsAllocations(t *testing.T) {
	sampleEvery(t)
	const interval = 200 * time.Millisecond
	r := newRecorder()
	c := Start(Config{Name: "svc{env=test}", Interval: interval, Upstream: r})
	<-r.sig // a window boundary just passed: the next is a full interval away
	const n = 300
	allocMarked(n)
	<-r.sig
	<-r.sig
	c.Stop()

	j1, j2 := r.job(1), r.job(2)
	if got := markedObjects(t, j1.Profile); got != n {
		t.Errorf("the window of the allocations holds %d of %d", got, n)
	}
	if got := markedObjects(t, j2.Profile); got != 0 {
		t.Errorf("the next window holds %d of them again", got)
	}
	for i, j := range []*upstream.UploadJob{j1, j2} {
		if j.Name != "svc{env=test}" || j.Format != upstream.FormatPprof || j.SampleTypeConfig["alloc_space"] == nil {
			t.Errorf("upload %d: name %q, format %q, sample types %v", i+1, j.Name, j.Format, j.SampleTypeConfig)
		}
		// Each window ends just after a multiple of the interval (the
		// collection takes a little), and starts where the last ended.
		if off := j.EndTime.Sub(j.EndTime.Truncate(interval)); off > interval/2 {
			t.Errorf("upload %d ends %v after the grid", i+1, off)
		}
	}
	if !j2.StartTime.Equal(j1.EndTime) {
		t.Errorf("windows do not follow each other: %v then %v", j1.EndTime, j2.StartTime)
	}
	sink = [len(sink)][]byte{}
}

// TestZeroInterval: a Config without an interval collects in windows of
// DefaultInterval instead of collecting garbage in a tight loop. (The 100 ms
// may hold one boundary of the 10 s grid, and the runtime's own
// collections: a tight loop makes hundreds.)
func TestZeroInterval(t *testing.T) {
	r := newRecorder()
	c := Start(Config{Name: "svc{}", Upstream: r})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	time.Sleep(100 * time.Millisecond)
	runtime.ReadMemStats(&ms)
	if n := ms.NumGC - gcs; n > 5 {
		t.Errorf("%d collections in 100 ms with no interval set", n)
	}
	c.Stop()
	if got := r.count(); got < 1 || got > 2 {
		t.Errorf("%d uploads, want the one Stop makes and at most one boundary's", got)
	}
}
