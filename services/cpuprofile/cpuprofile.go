// Package cpuprofile collects CPU profiles in windows aligned to a fixed
// interval grid, at any sampling rate, and hands each window to a
// pyroscope-go uploader.
//
// It replaces the CPU collector of pyroscope-go v1.5.0, which the bank
// services cannot use for a per-window comparison, for two reasons:
//
//   - The SDK's CPU windows drift. Its collector starts a ticker, then the
//     profile; when a tick comes less than a full interval after the
//     profile started, which is almost every time, since the tick is timed
//     from before the start, it re-arms the ticker for the elapsed time
//     instead of the remainder. So most CPU profiles cover two upload
//     intervals and some one, as scheduling decides (20 s and 10 s windows
//     follow each other for a 10 s interval), starting whenever the process
//     did, while the SDK's heap, mutex and block uploads each cover one
//     interval of the interval grid. A comparison that counts windows needs
//     every window to hold exactly one interval of CPU profile.
//   - The SDK has no setting for the CPU sampling rate: its SampleRate is
//     ignored, and pprof.StartCPUProfile always sets 100 Hz. More samples
//     per window let a comparison see smaller changes.
//
// The collector here ends each window at the next multiple of the interval
// (10:00:00, 10:00:10, ...), starts the next at once, and sets the rate with
// runtime.SetCPUProfileRate before pprof.StartCPUProfile, so the runtime
// keeps it and the profile's period records it. At any rate but 100 Hz the
// Go runtime then prints "cannot set cpu profile rate" to stderr once per
// window; that line is expected. TestSDKCollector pins both behaviours of
// pyroscope-go, so an SDK that fixes them shows up as a failing test.
package cpuprofile

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/grafana/pyroscope-go/upstream"
)

// Logger receives the collector's errors; pyroscope.Logger satisfies it.
type Logger interface {
	Errorf(format string, args ...any)
}

// Config is what a Collector profiles and where it sends the profiles.
type Config struct {
	// Name is the ingest name, "app{k=v,...}", as pyroscope-go renders it
	// for its own uploads, so the CPU profiles join the same series.
	Name string
	// Hz is the sampling rate (100 when zero).
	Hz int
	// Interval is the window length; windows end on its multiples.
	Interval time.Duration
	// Upstream uploads each window's profile (pyroscope-go's remote.Remote).
	Upstream upstream.Upstream
	// Logger receives errors starting a profile.
	Logger Logger
}

// Collector is a running CPU profile collector. CPU profiling is
// process-wide: run one at a time, and no other CPU profile beside it.
type Collector struct {
	cfg   Config
	clock clock
	done  chan struct{}
	wg    sync.WaitGroup
}

// clock is the time a Collector reads and waits on: the real one, or a
// test's.
type clock interface {
	now() time.Time
	// after returns a channel that receives once d has passed, and a
	// function that stops it.
	after(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Start starts collecting in the background until Stop.
func Start(cfg Config) *Collector {
	return startWith(cfg, realClock{})
}

func startWith(cfg Config, clk clock) *Collector {
	if cfg.Hz <= 0 {
		cfg.Hz = 100
	}
	c := &Collector{cfg: cfg, clock: clk, done: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// Stop ends the current window early, uploads it and returns when the
// collector has stopped.
func (c *Collector) Stop() {
	close(c.done)
	c.wg.Wait()
}

func (c *Collector) loop() {
	defer c.wg.Done()
	hz, interval := c.cfg.Hz, c.cfg.Interval
	var buf bytes.Buffer
	for {
		buf.Reset()
		if hz != 100 {
			// pprof.StartCPUProfile would set 100 Hz; setting the rate
			// first makes the runtime keep ours (and print once that it
			// cannot set the rate again, which is expected).
			runtime.SetCPUProfileRate(hz)
		}
		start := c.clock.now()
		err := pprof.StartCPUProfile(&buf)
		if err != nil {
			if hz != 100 {
				runtime.SetCPUProfileRate(0)
			}
			if c.cfg.Logger != nil {
				c.cfg.Logger.Errorf("cpu profile at %d Hz: %v", hz, err)
			}
		}
		// End at the next boundary of the interval grid.
		fired, stop := c.clock.after(start.Truncate(interval).Add(interval).Sub(c.clock.now()))
		stopped := false
		select {
		case <-fired:
		case <-c.done:
			stop()
			stopped = true
		}
		if err == nil {
			pprof.StopCPUProfile()
			if buf.Len() > 0 {
				c.cfg.Upstream.Upload(&upstream.UploadJob{
					Name: c.cfg.Name, StartTime: start, EndTime: c.clock.now(), SpyName: "gospy",
					SampleRate: uint32(hz), Units: "samples", AggregationType: "sum",
					Format: upstream.FormatPprof, Profile: bytes.Clone(buf.Bytes()),
				})
			}
		}
		if stopped {
			return
		}
	}
}
