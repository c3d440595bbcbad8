// Package heapprofile collects Go allocation profiles in windows aligned to a
// fixed interval grid, each holding the allocations made in it, and hands
// each window to a pyroscope-go uploader.
//
// It replaces the heap collector of pyroscope-go v1.5.0 for a per-window
// comparison. The Go runtime publishes a heap profile's allocations only
// when a garbage collection completes: a profile read at any moment holds
// the allocations up to the last completed cycle, not up to that moment.
// The SDK reads the profile at each upload and forces a collection only
// when none ran since the last one, so a window holds the allocations of
// the collections that happened to complete in it. A service that
// allocates a few MiB per window collects about once per window, and then
// one window holds two cycles' allocations and the next none. Over a
// 30-second block of six windows the measured total can move by a whole
// cycle, with the phase of the collections against the window grid: on
// the bank stack's A/A duets, functions across three services' allocation
// profiles once read 17-54% higher on one side of two identical builds
// (docs/duet.md).
//
// The collector here runs a collection at each boundary of the interval
// grid (10:00:00, 10:00:05, ...) and then reads the delta profile with
// godeltaprof, the SDK's own delta profiler, so each window holds exactly
// the allocations made between its two boundaries. A forced collection
// costs a mark of the live heap, which for the bank services is a few MiB:
// well under a millisecond of CPU per window.
package heapprofile

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/grafana/pyroscope-go/godeltaprof"
	"github.com/grafana/pyroscope-go/upstream"
)

// Logger receives the collector's errors; pyroscope.Logger satisfies it.
type Logger interface {
	Errorf(format string, args ...any)
}

// Config is what a Collector profiles and where it sends the profiles.
type Config struct {
	// Name is the ingest name, "app{k=v,...}", as pyroscope-go renders it
	// for its own uploads, so the profiles join the same series.
	Name string
	// Interval is the window length; windows end on its multiples
	// (DefaultInterval when zero or less).
	Interval time.Duration
	// Upstream uploads each window's profile (pyroscope-go's remote.Remote).
	Upstream upstream.Upstream
	// Logger receives errors reading a profile.
	Logger Logger
}

// DefaultInterval is the window length of a Config without one: the bank
// services' default upload interval.
const DefaultInterval = 10 * time.Second

// SampleTypes describes the heap profile's sample types to the server, as
// pyroscope-go v1.5.0 describes its own heap uploads: allocations are
// summed over windows, the in-use values averaged.
var SampleTypes = map[string]*upstream.SampleType{
	"alloc_objects": {Units: "objects"},
	"alloc_space":   {Units: "bytes"},
	"inuse_space":   {Units: "bytes", Aggregation: "average"},
	"inuse_objects": {Units: "objects", Aggregation: "average"},
}

// Collector is a running heap profile collector. Run one per process: the
// delta is the process's.
type Collector struct {
	cfg  Config
	done chan struct{}
	wg   sync.WaitGroup
}

// Start starts collecting in the background until Stop. What the process
// allocated before Start is left out: the first window starts at Start.
func Start(cfg Config) *Collector {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	c := &Collector{cfg: cfg, done: make(chan struct{})}
	prof := godeltaprof.NewHeapProfiler()
	runtime.GC()
	if err := prof.Profile(io.Discard); err != nil && cfg.Logger != nil {
		cfg.Logger.Errorf("heap profile: %v", err)
	}
	c.wg.Add(1)
	go c.loop(prof, time.Now())
	return c
}

// Stop ends the current window early, uploads it and returns when the
// collector has stopped.
func (c *Collector) Stop() {
	close(c.done)
	c.wg.Wait()
}

func (c *Collector) loop(prof *godeltaprof.HeapProfiler, start time.Time) {
	defer c.wg.Done()
	interval := c.cfg.Interval
	var buf bytes.Buffer
	for {
		t := time.NewTimer(time.Until(start.Truncate(interval).Add(interval)))
		stopped := false
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			stopped = true
		}
		// The collection publishes every allocation made so far.
		runtime.GC()
		end := time.Now()
		buf.Reset()
		if err := prof.Profile(&buf); err != nil {
			if c.cfg.Logger != nil {
				c.cfg.Logger.Errorf("heap profile: %v", err)
			}
		} else if buf.Len() > 0 {
			c.cfg.Upstream.Upload(&upstream.UploadJob{
				Name: c.cfg.Name, StartTime: start, EndTime: end, SpyName: "gospy",
				SampleRate: 100, Format: upstream.FormatPprof,
				Profile: bytes.Clone(buf.Bytes()), SampleTypeConfig: SampleTypes,
			})
		}
		if stopped {
			return
		}
		start = end
	}
}
