package pyroscope_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/profstore"
	"github.com/profdiff/profdiff/pkg/pyroscope"
)

// Collect one minute of CPU profiles of every service into a snapshot of
// six 10 s windows. The Pyroscope here is profdiff's embedded one, in
// process, with a minute of uploads from a "checkout" service, so the
// example runs offline; against a real Pyroscope only the URL changes.
func ExampleClient_Collect() {
	srv := httptest.NewServer(profstore.New(profstore.Options{}).Handler())
	defer srv.Close()
	start := time.Now().Add(-2 * time.Minute).Truncate(10 * time.Second)
	uploadCPU(srv.URL, "checkout", start, 6)

	c, err := pyroscope.New(srv.URL, pyroscope.WithAuthFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	cpu, _ := profiletype.Parse("cpu")
	res, err := c.Collect(context.Background(), pyroscope.Query{
		From:     start,
		Until:    start.Add(time.Minute),
		Window:   10 * time.Second,
		Types:    cpu,
		Selector: pyroscope.MustParseSelector(`{env="prod"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, se := range res.Snapshot.Series {
		w := se.Windows[0]
		fmt.Printf("%s %s: %d windows, period %s, %d samples in the first\n",
			se.Service, profiletype.MustAlias(se.ProfileType), len(se.Windows), time.Duration(w.Period), w.Samples)
		var lines []string
		for i, f := range se.Functions {
			lines = append(lines, fmt.Sprintf("  %-18s self %3.0f%%", f.Name, 100*float64(w.Self.Get(int32(i)))/float64(w.Total)))
		}
		sort.Strings(lines)
		fmt.Println(strings.Join(lines, "\n"))
	}
	fmt.Println("missing:", res.Missing)
	// Output:
	// checkout cpu: 6 windows, period 10ms, 1000 samples in the first
	//   checkout.price     self  70%
	//   checkout.render    self  30%
	//   main.main          self   0%
	// missing: []
}

// uploadCPU posts n 10 s CPU profiles, as pyroscope-go would: 1000 samples
// at 100 Hz, 70% in checkout.price.
func uploadCPU(base, service string, start time.Time, n int) {
	mainFn := &profile.Function{ID: 1, Name: "main.main"}
	price := &profile.Function{ID: 2, Name: "checkout.price"}
	render := &profile.Function{ID: 3, Name: "checkout.render"}
	l1 := &profile.Location{ID: 1, Line: []profile.Line{{Function: mainFn}}}
	l2 := &profile.Location{ID: 2, Line: []profile.Line{{Function: price}}}
	l3 := &profile.Location{ID: 3, Line: []profile.Line{{Function: render}}}
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		p := &profile.Profile{
			SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
			Period:        1e7,
			TimeNanos:     at.UnixNano(),
			DurationNanos: 10e9,
			Function:      []*profile.Function{mainFn, price, render},
			Location:      []*profile.Location{l1, l2, l3},
			Sample: []*profile.Sample{
				{Location: []*profile.Location{l2, l1}, Value: []int64{700, 700 * 1e7}},
				{Location: []*profile.Location{l3, l1}, Value: []int64{300, 300 * 1e7}},
			},
		}
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			log.Fatal(err)
		}
		q := url.Values{"name": {service + "{env=prod}"}, "format": {"pprof"}, "spyName": {"gospy"},
			"from": {fmt.Sprint(at.UnixNano())}, "until": {fmt.Sprint(at.Add(10 * time.Second).UnixNano())}}
		resp, err := http.Post(base+"/ingest?"+q.Encode(), "application/octet-stream", &buf)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("upload: %s", resp.Status)
		}
	}
}
