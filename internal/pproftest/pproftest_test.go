package pproftest

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

var sink [][]byte

//go:noinline
func allocateLots(n int) {
	for range n {
		sink = append(sink, make([]byte, 4096))
	}
	sink = nil
}

// TestDeltaOfAllocations: the allocations of a function between two
// lookups show in their delta, and not in a delta with nothing between.
func TestDeltaOfAllocations(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 4096
	defer func() { runtime.MemProfileRate = old }()
	const fn = "github.com/profdiff/profdiff/internal/pproftest.allocateLots"

	before := Lookup(t, "allocs")
	allocateLots(2000)
	after := Lookup(t, "allocs")
	d := Delta(t, after, before)
	share, total, seen := Share(t, d, "alloc_space", fn, nil)
	if !seen || share < 0.5 || total < 2000*4096/2 {
		t.Errorf("%s: %.0f%% of %d bytes allocated between the lookups, seen %v; want most of about %d", fn, 100*share, total, seen, 2000*4096)
	}
	if _, _, seen := Share(t, Delta(t, after, after), "alloc_space", fn, nil); seen {
		t.Errorf("a profile minus itself still holds %s", fn)
	}
}

// TestMutexDelta: contention on a lock shows in the mutex profile's delta.
func TestMutexDelta(t *testing.T) {
	old := runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(old)
	before := Lookup(t, "mutex")
	contend()
	d := Delta(t, Lookup(t, "mutex"), before)
	if _, total, seen := Share(t, d, "delay", "github.com/profdiff/profdiff/internal/pproftest.contend.func1", nil); !seen || total <= 0 {
		t.Errorf("no contention recorded in the delta (total %d)", total)
	}
}

//go:noinline
func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				mu.Lock()
				time.Sleep(100 * time.Microsecond)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestShare(t *testing.T) {
	f := func(id uint64, name string) *profile.Location {
		return &profile.Location{ID: id, Line: []profile.Line{{Function: &profile.Function{ID: id, Name: name}}}}
	}
	a, b, c := f(1, "a"), f(2, "b"), f(3, "c")
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{b, a}, Value: []int64{1, 30}, Label: map[string][]string{"svc": {"x"}}},
			{Location: []*profile.Location{c, a}, Value: []int64{1, 60}},
			{Location: []*profile.Location{c}, Value: []int64{1, 10}, Label: map[string][]string{"svc": {"x"}}},
		},
	}
	onlyX := func(s *profile.Sample) bool { return len(s.Label["svc"]) == 1 && s.Label["svc"][0] == "x" }
	tests := []struct {
		fn    string
		keep  func(*profile.Sample) bool
		share float64
		total int64
		seen  bool
	}{
		{"a", nil, 0.9, 100, true},
		{"c", nil, 0.7, 100, true},
		{"b", onlyX, 0.75, 40, true},
		{"a", onlyX, 0.75, 40, true},
		{"d", nil, 0, 100, false},
	}
	for _, tt := range tests {
		share, total, seen := Share(t, p, "cpu", tt.fn, tt.keep)
		if share != tt.share || total != tt.total || seen != tt.seen {
			t.Errorf("Share(%s): %v, %d, %v; want %v, %d, %v", tt.fn, share, total, seen, tt.share, tt.total, tt.seen)
		}
	}
}
