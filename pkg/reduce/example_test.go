package reduce_test

import (
	"fmt"
	"log"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// A series is built from one pprof profile per time window: each profile
// becomes a window holding every function's value (package baseline's
// Example writes such a series to disk and loads it back).
func Example() {
	cpu, _ := profiletype.Parse("cpu")
	series := baseline.NewSeries("bank-fraud-service", cpu[0])

	// One tiny CPU profile per 10 s window: checkRules is hot.
	for i := 0; i < 3; i++ {
		p := tinyCPUProfile(time.Unix(1_700_000_000+int64(10*i), 0), 70, 30)
		if err := reduce.AddProfile(series, p, reduce.WindowOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	w := series.Windows[0]
	for i, f := range series.Functions {
		fmt.Printf("%-16s self %.0f%%\n", f.Name, 100*float64(w.Self.Get(int32(i)))/float64(w.Total))
	}
	fmt.Println("windows:", len(series.Windows), "samples in the first:", w.Samples)
	// Output:
	// fraud.checkRules self 70%
	// main.main        self 0%
	// fraud.other      self 30%
	// windows: 3 samples in the first: 100
}

func tinyCPUProfile(start time.Time, hot, other int64) *profile.Profile {
	mainFn := &profile.Function{ID: 1, Name: "main.main"}
	hotFn := &profile.Function{ID: 2, Name: "fraud.checkRules"}
	otherFn := &profile.Function{ID: 3, Name: "fraud.other"}
	mainLoc := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn}}}
	hotLoc := &profile.Location{ID: 2, Line: []profile.Line{{Function: hotFn}}}
	otherLoc := &profile.Location{ID: 3, Line: []profile.Line{{Function: otherFn}}}
	const period = 10_000_000 // 100 Hz
	return &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        period,
		TimeNanos:     start.UnixNano(),
		DurationNanos: int64(10 * time.Second),
		Function:      []*profile.Function{mainFn, hotFn, otherFn},
		Location:      []*profile.Location{mainLoc, hotLoc, otherLoc},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{hotLoc, mainLoc}, Value: []int64{hot, hot * period}},
			{Location: []*profile.Location{otherLoc, mainLoc}, Value: []int64{other, other * period}},
		},
	}
}
