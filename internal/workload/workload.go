// Package workload makes a test process do work that a profiler sees: CPU
// in a busy loop of its own name, lock contention and heap allocations. The
// end-to-end tests of the profile pipeline run it under the real
// pyroscope-go SDK and look for it in what comes back.
package workload

import (
	"sync"
	"time"
)

// Spin keeps the calling goroutine's CPU busy until stop is closed. It is
// never inlined, so a CPU profile names it: a test looks for a function
// name ending in "workload.Spin".
//
//go:noinline
func Spin(stop <-chan struct{}) uint64 {
	x := uint64(1)
	for {
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		select {
		case <-stop:
			return x
		default:
		}
	}
}

// sink keeps allocations from being optimized away.
var sink struct {
	mu  sync.Mutex
	buf []byte
}

// Contend runs goroutines goroutines until stop is closed, each taking
// turns holding one lock for hold and allocating alloc bytes on the heap
// per turn, and returns when they have ended: mutex and block contention,
// and allocations, for the mutex, block and allocation profiles.
func Contend(stop <-chan struct{}, goroutines int, hold time.Duration, alloc int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				time.Sleep(hold)
				mu.Unlock()
				b := make([]byte, alloc)
				sink.mu.Lock()
				sink.buf = b
				sink.mu.Unlock()
			}
		})
	}
	wg.Wait()
}
