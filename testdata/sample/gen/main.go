// Command gen writes profdiff's sample data: pprof CPU profiles of two
// synthetic bank services, eight 10-second windows each, for a baseline
// run, a "regressed" run in which one fraud function does 40% more work,
// and an A/A run (same build, fresh samples); and the snapshots profdiff
// builds from them. It is deterministic: running it again rewrites the same
// bytes.
//
//	go run ./testdata/sample/gen        # from the repository root
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// Regressed is the function the regressed run slows down, named as the bank
// service names it.
const Regressed = "github.com/profdiff/profdiff/services/bank.matchFraudRules"

func main() {
	dir := flag.String("dir", "testdata/sample", "where to write the sample data")
	flag.Parse()
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

	fraud := gen.NewModel(11, 200)
	hot := fraud.Closest(0.05)
	fraud.Rename(hot, Regressed, "/src/profdiff/services/bank/fraud.go")
	order := gen.NewModel(12, 180)

	runs := []struct {
		name   string
		models map[string]*gen.Model
		seed   uint64
		offset time.Duration
	}{
		{"baseline", map[string]*gen.Model{"bank-fraud-service": fraud, "bank-order-service": order}, 1, 0},
		{"regressed", map[string]*gen.Model{"bank-fraud-service": fraud.Scale(hot, 1.4), "bank-order-service": order}, 2, 24 * time.Hour},
		{"aa", map[string]*gen.Model{"bank-fraud-service": fraud, "bank-order-service": order}, 3, 48 * time.Hour},
	}
	cpu, _ := profiletype.Parse("cpu")
	for _, run := range runs {
		snap := &baseline.Snapshot{Meta: baseline.Meta{
			ProfdiffVersion: "sample",
			CreatedAt:       start.Add(run.offset + 2*time.Minute),
			Source:          "pprof files (testdata/sample/gen)",
			Window:          baseline.Duration(10 * time.Second),
			Labels:          map[string]string{"env": "sample", "version": run.name},
		}}
		for _, svc := range []string{"bank-fraud-service", "bank-order-service"} {
			m := run.models[svc]
			rng := rand.New(rand.NewPCG(run.seed, uint64(len(svc))))
			se := baseline.NewSeries(svc, cpu[0])
			for w := range 8 {
				ws := start.Add(run.offset + time.Duration(w)*10*time.Second)
				// ~3000 samples a window: 10 s of a service using 3 cores at
				// 100 Hz, with the load varying a little from window to window.
				n := 2700 + rng.IntN(600)
				p := m.Profile(m.Sample(rng, n, 0.03), ws, 10*time.Second)
				var buf bytes.Buffer
				if err := p.Write(&buf); err != nil {
					log.Fatal(err)
				}
				file := filepath.Join(*dir, "pprof", run.name, fmt.Sprintf("%s-cpu-%d.pb.gz", svc, w))
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					log.Fatal(err)
				}
				if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
					log.Fatal(err)
				}
				if err := reduce.AddProfile(se, p, reduce.WindowOptions{}); err != nil {
					log.Fatal(err)
				}
			}
			snap.Put(se)
		}
		snap.Meta.From = start.Add(run.offset)
		snap.Meta.Until = start.Add(run.offset + 80*time.Second)
		out := filepath.Join(*dir, run.name)
		if err := baseline.Write(out, snap); err != nil {
			log.Fatal(err)
		}
		fmt.Println("wrote", out)
	}
}
