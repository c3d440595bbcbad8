// Command genpair writes a large baseline/current pair of pprof CPU profiles
// for bench/compare-vs-pprof.sh: one synthetic service with many functions,
// a number of windows a side, and one function 30% slower in the current
// run.
//
//	go run ./bench/genpair -dir /tmp/pair -funcs 20000 -windows 8 -samples 200000
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
)

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	funcs := flag.Int("funcs", 20000, "functions in the model")
	windows := flag.Int("windows", 8, "windows (profiles) a side")
	samples := flag.Int("samples", 200000, "samples per window")
	seed := flag.Uint64("seed", 42, "random seed")
	flag.Parse()
	if *dir == "" {
		log.Fatal("genpair: -dir is required")
	}
	m := gen.NewModel(*seed, *funcs)
	hot := m.Closest(0.03)
	rng := rand.New(rand.NewPCG(*seed, *seed))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, side := range []struct {
		name  string
		model *gen.Model
	}{{"base", m}, {"cur", m.Scale(hot, 1.3)}} {
		if _, err := side.model.WriteWindows(rng, filepath.Join(*dir, side.name), gen.Windows{
			N: *windows, Samples: *samples, Jitter: 0.02, Start: start,
		}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("genpair: %s: %d functions, %d windows a side, %d samples a window; regressed %s\n", *dir, *funcs, *windows, *samples, m.Funcs[hot].Name)
}
