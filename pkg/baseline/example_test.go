package baseline_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// A snapshot is written to a directory and loaded back. Its windows would
// come from pprof profiles by way of package reduce; this one is made by
// hand: 100 CPU samples at 100 Hz, 70 of them in checkRules.
func Example() {
	cpu, _ := profiletype.Parse("cpu")
	series := baseline.NewSeries("bank-fraud-service", cpu[0])
	series.Functions = []baseline.Function{{Name: "main.main"}, {Name: "fraud.checkRules"}, {Name: "fraud.other"}}
	const tick = 10_000_000 // ns
	start := time.Unix(1_700_000_000, 0).UTC()
	series.Windows = []baseline.Window{{
		Start: start, End: start.Add(10 * time.Second), Period: tick,
		Total: 100 * tick, Samples: 100,
		Self: baseline.Values{{F: 1, V: 70 * tick}, {F: 2, V: 30 * tick}},
		Cum:  baseline.Values{{F: 0, V: 100 * tick}, {F: 1, V: 70 * tick}, {F: 2, V: 30 * tick}},
	}}
	snap := &baseline.Snapshot{Meta: baseline.Meta{Source: "example", Window: baseline.Duration(10 * time.Second)}}
	snap.Put(series)

	dir, _ := os.MkdirTemp("", "baseline-example")
	defer os.RemoveAll(dir)
	if err := baseline.Write(filepath.Join(dir, "snap"), snap); err != nil {
		log.Fatal(err)
	}
	loaded, err := baseline.Load(filepath.Join(dir, "snap"))
	if err != nil {
		log.Fatal(err)
	}
	se := loaded.Lookup("bank-fraud-service", cpu[0].String())
	w := se.Windows[0]
	for i, f := range se.Functions {
		fmt.Printf("%-16s self %.0f%%\n", f.Name, 100*float64(w.Self.Get(int32(i)))/float64(w.Total))
	}
	fmt.Println("windows:", len(se.Windows), "samples:", w.Samples)
	// Output:
	// main.main        self 0%
	// fraud.checkRules self 70%
	// fraud.other      self 30%
	// windows: 1 samples: 100
}
