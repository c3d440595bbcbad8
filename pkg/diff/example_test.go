package diff_test

import (
	"fmt"
	"log"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// series builds a CPU series of 6 windows of 2000 samples in which
// checkRules holds the given number of samples per window.
func series(checkRules []int64) *baseline.Series {
	cpu, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries("bank-fraud-service", cpu[0])
	se.Functions = []baseline.Function{{Name: "main.main"}, {Name: "fraud.checkRules"}, {Name: "fraud.other"}}
	const period = 10_000_000 // 100 Hz
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, hot := range checkRules {
		const n = 2000
		se.Windows = append(se.Windows, baseline.Window{
			Start: start.Add(time.Duration(i) * 10 * time.Second), End: start.Add(time.Duration(i+1) * 10 * time.Second),
			Total: n * period, Samples: n, Period: period,
			Self: baseline.Values{{F: 1, V: hot * period}, {F: 2, V: (n - hot) * period}},
			Cum:  baseline.Values{{F: 0, V: n * period}, {F: 1, V: hot * period}, {F: 2, V: (n - hot) * period}},
		})
	}
	return se
}

// Compare finds that fraud.checkRules went from 10% to 13% of the CPU.
func Example() {
	base := &baseline.Snapshot{Series: []*baseline.Series{series([]int64{200, 195, 206, 199, 203, 197})}}
	cur := &baseline.Snapshot{Series: []*baseline.Series{series([]int64{262, 255, 266, 259, 258, 260})}}
	r, err := diff.Compare(base, cur, diff.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verdict:", r.Verdict, "exit status:", r.Verdict.ExitCode(false))
	for _, f := range r.Series[0].Findings {
		if f.Kind == diff.KindRegression {
			fmt.Printf("%s %s: %.1f%% -> %.1f%% (%+.0f%%), q < 0.001: %v\n", f.Function, f.Measure, 100*f.Baseline, 100*f.Current, 100*f.Change, f.Q < 0.001)
		}
	}
	// Output:
	// verdict: regression exit status: 1
	// fraud.checkRules self: 10.0% -> 13.0% (+30%), q < 0.001: true
}

// A series the current run lacks is inconclusive, never a pass.
func Example_missingData() {
	base := &baseline.Snapshot{Series: []*baseline.Series{series([]int64{200, 195, 206, 199, 203, 197})}}
	r, _ := diff.Compare(base, &baseline.Snapshot{}, diff.Options{})
	fmt.Println(r.Verdict)
	fmt.Println(r.Series[0].Reason)
	// Output:
	// inconclusive
	// no data in the current run for bank-fraud-service cpu (the baseline has 6 windows); missing data is never a pass
}
