package cpuprofile

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go"
	"github.com/grafana/pyroscope-go/upstream"
)

// recorder is an upstream that keeps every upload job.
type recorder struct {
	mu   sync.Mutex
	jobs []*upstream.UploadJob
}

func (r *recorder) Upload(j *upstream.UploadJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, j)
}

func (r *recorder) Flush() {}

func (r *recorder) taken() []*upstream.UploadJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*upstream.UploadJob(nil), r.jobs...)
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Debugf(string, ...any) {}
func (quiet) Errorf(string, ...any) {}

// period is the sampling period, in nanoseconds, of an uploaded CPU profile.
func period(t *testing.T, j *upstream.UploadJob) int64 {
	t.Helper()
	p, err := profile.Parse(bytes.NewReader(j.Profile))
	if err != nil {
		t.Fatalf("upload from %s: %v", j.StartTime.Format("15:04:05.000"), err)
	}
	return p.Period
}

const (
	interval = 250 * time.Millisecond
	run      = 10 * interval
)

// TestSDKCollector pins the two behaviours of pyroscope-go's own CPU
// collector (v1.5.0) that this package works around: its CPU profiles
// cover one or, mostly, two upload intervals, and it samples at 100 Hz
// whatever rate it is given. When an SDK upgrade makes this test
// fail, the SDK may have fixed them, and this package may be unneeded.
func TestSDKCollector(t *testing.T) {
	rec := &recorder{}
	s, err := pyroscope.NewSession(pyroscope.SessionConfig{
		Upstream: rec, Logger: quiet{}, AppName: "sdk",
		ProfilingTypes: []pyroscope.ProfileType{pyroscope.ProfileCPU},
		UploadRate:     interval, SampleRate: 250,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(run)
	s.Stop()
	jobs := rec.taken()
	if len(jobs) < 2 {
		t.Fatalf("%d uploads in %v at a %v interval; want at least 2", len(jobs), run, interval)
	}
	// The last upload is cut short by Stop. Of the others, most span about
	// two intervals; one spans one when the tick's time came late enough.
	long := 0
	for _, j := range jobs[:len(jobs)-1] {
		if j.EndTime.Sub(j.StartTime) >= interval*3/2 {
			long++
		}
	}
	if long == 0 {
		t.Errorf("none of %d windows covers more than 1.5 × %v: the SDK's CPU windows no longer drift", len(jobs)-1, interval)
	}
	for i, j := range jobs {
		if j.SampleRate != 100 || period(t, j) != int64(10*time.Millisecond) {
			t.Errorf("upload %d: %d Hz, period %d ns, though 250 Hz was asked: the SDK now takes a CPU rate", i, j.SampleRate, period(t, j))
		}
	}
}

// TestCollector runs the collector on the real clock: it uploads a
// profile per window at the rate asked for, each window ends no earlier
// than the first boundary of the interval grid after its start, and the
// next starts where it ended. (How windows realign after a late timer is
// TestCollectorWindows's, on a clock the test controls.)
func TestCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles the CPU for a few seconds")
	}
	for _, hz := range []int{100, 250} {
		rec := &recorder{}
		c := Start(Config{Name: "app{env=test}", Hz: hz, Interval: interval, Upstream: rec, Logger: quiet{}})
		time.Sleep(run)
		c.Stop()
		jobs := rec.taken()
		if len(jobs) < 2 {
			t.Fatalf("%d Hz: %d uploads in %v at a %v interval", hz, len(jobs), run, interval)
		}
		for i, j := range jobs {
			if j.Name != "app{env=test}" || j.SampleRate != uint32(hz) || j.Format != upstream.FormatPprof {
				t.Errorf("%d Hz: upload %d: name %q, %d Hz, format %q", hz, i, j.Name, j.SampleRate, j.Format)
			}
			if got, want := period(t, j), int64(time.Second)/int64(hz); got != want {
				t.Errorf("%d Hz: upload %d: period %d ns, want %d", hz, i, got, want)
			}
			if i == len(jobs)-1 {
				break // cut short by Stop
			}
			if boundary := j.StartTime.Truncate(interval).Add(interval); j.EndTime.Before(boundary) {
				t.Errorf("%d Hz: upload %d ends at %s, before the boundary %s", hz, i,
					j.EndTime.Format("15:04:05.000"), boundary.Format("15:04:05.000"))
			}
			if next := jobs[i+1].StartTime; next.Before(j.EndTime) {
				t.Errorf("%d Hz: upload %d starts at %s, before upload %d ended", hz, i+1, next.Format("15:04:05.000"), i)
			}
		}
	}
}

// fakeClock is a clock the test moves: each wait the collector asks for is
// sent on asked, and the test fires it after moving the time on.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	asked chan time.Duration
	fire  chan time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = t
}

func (f *fakeClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	f.asked <- d
	return f.fire, func() bool { return true }
}

// TestCollectorWindows: each window ends on the first boundary of the
// interval grid after it started, so a timer that fires late (the process
// was not scheduled) shortens the next window back onto the grid instead
// of moving every later window, as pyroscope-go's collector does.
func TestCollectorWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// The collector starts at 10:00:00.300 with a 1 s interval; each
	// timer fires late by the given amount.
	late := []time.Duration{0, 0, 700 * time.Millisecond, 0, 1300 * time.Millisecond, 0}
	want := []struct{ start, end time.Time }{
		{at(300), at(1000)},
		{at(1000), at(2000)},
		{at(2000), at(3700)}, // late
		{at(3700), at(4000)}, // back on the grid
		{at(4000), at(6300)}, // late by more than an interval
		{at(6300), at(7000)},
	}
	clk := &fakeClock{t: at(300), asked: make(chan time.Duration), fire: make(chan time.Time)}
	rec := &recorder{}
	c := startWith(Config{Name: "app{}", Interval: time.Second, Upstream: rec, Logger: quiet{}}, clk)
	for _, l := range late {
		d := <-clk.asked
		clk.set(clk.now().Add(d + l))
		clk.fire <- clk.now()
	}
	<-clk.asked
	c.Stop()
	jobs := rec.taken()
	if len(jobs) != len(want)+1 {
		t.Fatalf("%d uploads, want %d", len(jobs), len(want)+1)
	}
	for i, w := range want {
		if j := jobs[i]; !j.StartTime.Equal(w.start) || !j.EndTime.Equal(w.end) {
			t.Errorf("window %d: %s to %s, want %s to %s", i, j.StartTime.Format("05.000"), j.EndTime.Format("05.000"),
				w.start.Format("05.000"), w.end.Format("05.000"))
		}
	}
}
