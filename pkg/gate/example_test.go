package gate_test

import (
	"fmt"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// series builds a CPU series of eight 10 s windows in which main.check
// takes check samples of every 1,000.
func series(check int64) *baseline.Series {
	ids, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries("bank-fraud-service", ids[0])
	se.Functions = []baseline.Function{{Name: "main.check"}, {Name: "main.serve"}}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const period = 10_000_000 // 100 Hz
	for i := range 8 {
		c := (check + int64(i%3-1)) * period
		rest := (1000 - check) * period
		se.Windows = append(se.Windows, baseline.Window{
			Start: start.Add(time.Duration(i) * 10 * time.Second), End: start.Add(time.Duration(i+1) * 10 * time.Second),
			Total: c + rest, Samples: 1000, Period: period,
			Self: baseline.Values{{F: 0, V: c}, {F: 1, V: rest}},
			Cum:  baseline.Values{{F: 0, V: c}, {F: 1, V: c + rest}},
		})
	}
	return se
}

// A function that doubles its share of the CPU fails the gate; the
// comparison says which, by how much, and that the default gate compared
// shares (neither side recorded a fixed load rate).
func Example() {
	base, cur := &baseline.Snapshot{}, &baseline.Snapshot{}
	base.Put(series(100))
	cur.Put(series(200))
	res, err := gate.Compare(base, cur, gate.Options{})
	if err != nil {
		panic(err)
	}
	f := res.Series[0].Findings[0]
	fmt.Println(res.Verdict, res.Normalization, f.Function, f.Kind)
	fmt.Printf("%.1f%% -> %.1f%% of the CPU\n", 100*f.Baseline, 100*f.Current)
	fmt.Println("exit status", res.Verdict.ExitCode(false))
	// Output:
	// regression share main.check regression
	// 10.0% -> 20.0% of the CPU
	// exit status 1
}
