package diff

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// heapRate is the allocation sampling rate of the synthetic heap profiles:
// the bank stack's 64 KiB.
const heapRate = 64 << 10

// allocSite is one allocating function: perWindow objects of size bytes
// each window, or, when burstEvery > 0, burst objects in one window of
// burstEvery on average (a handler run once per scrape, say).
type allocSite struct {
	name       string
	size       float64
	perWindow  float64
	burst      float64
	burstEvery int
}

// heapSites are a service's allocations: bulk request work, a template
// renderer of mid-sized buffers, large response buffers, and a bursty
// function of tiny objects whose every sampled allocation reads as 4,096
// objects.
var heapSites = []allocSite{
	{name: "main.decodeRequest", size: 48, perWindow: 400_000},
	{name: "main.renderTemplate", size: 512, perWindow: 60_000},
	{name: "main.encodeResponse", size: 4096, perWindow: 8_000},
	{name: "main.largeBuffer", size: 256 << 10, perWindow: 20},
	{name: "promhttp.collect", size: 16, burst: 60_000, burstEvery: 3},
}

// heapProfile draws one window of a Go heap profile: every allocation is
// sampled with probability 1-e^(-size/R), and the profile reports each
// sampled one as 1/(1-e^(-size/R)) objects and size times that in bytes,
// as runtime/pprof does.
func heapProfile(rng *rand.Rand, sites []allocSite, start time.Time) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		PeriodType:    &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:        heapRate,
		TimeNanos:     start.UnixNano(),
		DurationNanos: int64(10 * time.Second),
	}
	root := &profile.Function{ID: 1, Name: "main.main"}
	p.Function = append(p.Function, root)
	rootLoc := &profile.Location{ID: 1, Line: []profile.Line{{Function: root}}}
	p.Location = append(p.Location, rootLoc)
	for i, s := range sites {
		n := s.perWindow
		if s.burstEvery > 0 {
			n = 0
			if rng.IntN(s.burstEvery) == 0 {
				n = s.burst
			}
		}
		q := -math.Expm1(-s.size / heapRate)
		events := poisson(rng, n*q)
		if events == 0 {
			continue
		}
		fn := &profile.Function{ID: uint64(i + 2), Name: s.name}
		loc := &profile.Location{ID: uint64(i + 2), Line: []profile.Line{{Function: fn}}}
		p.Function = append(p.Function, fn)
		p.Location = append(p.Location, loc)
		objects := int64(float64(events) / q)
		bytes := int64(float64(events) * s.size / q)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc, rootLoc}, Value: []int64{objects, bytes, 0, 0}})
	}
	return p
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean > 50 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// heapSeries builds alias's series from runs of windows of heap profiles.
func heapSeries(t testing.TB, rng *rand.Rand, alias string, runs, windows int, sites []allocSite) *baseline.Series {
	ids, _ := profiletype.Parse(alias)
	se := baseline.NewSeries("bank-notification-service", ids[0])
	for r := range runs {
		for w := range windows {
			start := testNow.Add(time.Duration(r*windows+w) * 10 * time.Second)
			if err := reduce.AddProfile(se, heapProfile(rng, sites, start), reduce.WindowOptions{}); err != nil {
				t.Fatal(err)
			}
			se.Windows[len(se.Windows)-1].Run = int32(r)
		}
	}
	return se
}

// TestHeapSamplingWeights is the allocation A/A case: Go's heap profile
// with its sampling weights and a bursty function of tiny objects, in runs
// of a minute (twelve 5 s windows a side). A/A comparisons of alloc_objects
// and alloc_space raise a false finding, regression or improvement, in at
// most 1 of 30 runs, and no interval reaches below -100%. (Thinner runs are
// harder: with six windows a side and the burst in every other window, 2 of
// 30 raised one, an improvement of a 256 KiB buffer whose events weigh four
// times the window's average; see docs/verdict-quality.md.)
func TestHeapSamplingWeights(t *testing.T) {
	bad := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 77))
		base, cur := &baseline.Snapshot{}, &baseline.Snapshot{}
		for _, alias := range []string{"alloc_objects", "alloc_space"} {
			base.Put(heapSeries(t, rng, alias, 1, 12, heapSites))
			cur.Put(heapSeries(t, rng, alias, 1, 12, heapSites))
		}
		r := mustCompare(t, base, cur, Options{TopUnchanged: -1, Params: Params{MinSamples: 1}})
		if r.Summary.Regressions+r.Summary.Improvements+r.Summary.NewHotPaths > 0 {
			bad++
		}
		for _, sr := range r.Series {
			for _, f := range sr.Findings {
				if f.ChangeLow < -1 {
					t.Fatalf("%s %s: interval reaches %.0f%%", sr.Alias, f.Function, 100*f.ChangeLow)
				}
			}
		}
	}
	t.Logf("A/A runs with a false finding: %d/30", bad)
	if bad > 1 {
		t.Errorf("%d of 30 A/A runs raised a false finding; want at most 1", bad)
	}
}

// TestBurstFloor: six windows a side, a function present in one baseline
// window and four current ones. Exchanging the windows (a permutation
// test) gives p = 0.12; the t test alone says 0.04 here (0.003 on a
// simulated heap profile), with the burst floor 0.09.
func TestBurstFloor(t *testing.T) {
	ids, _ := profiletype.Parse("alloc_objects")
	mk := func(bursts []bool) *baseline.Series {
		se := baseline.NewSeries("svc", ids[0])
		se.Functions = []baseline.Function{{Name: "main.bulk"}, {Name: "promhttp.collect"}}
		for i, b := range bursts {
			bulk := int64(400_000 + 1000*(i%3))
			var burst int64
			if b {
				burst = 61_440 + 4096*int64(i%2)
			}
			w := baseline.Window{Start: testNow.Add(time.Duration(i) * 10 * time.Second), End: testNow.Add(time.Duration(i+1) * 10 * time.Second),
				Total: bulk + burst, Samples: 400}
			w.Self = baseline.Values{{F: 0, V: bulk}}
			if burst > 0 {
				w.Self = append(w.Self, baseline.Value{F: 1, V: burst})
			}
			w.Cum = w.Self
			se.Windows = append(se.Windows, w)
		}
		return se
	}
	b := mk([]bool{true, false, false, false, false, false})
	c := mk([]bool{true, true, false, true, true, false})
	r := mustCompare(t, snap(b), snap(c), Options{TopUnchanged: 10, Params: Params{MinSamples: 1}})
	for _, f := range r.Series[0].Findings {
		if f.Function == "promhttp.collect" {
			if f.P < 0.06 || f.Kind != KindUnchanged {
				t.Errorf("bursty function: %s, p = %.3g; want unchanged with p near the exchange test's 0.12", f.Kind, f.P)
			}
			return
		}
	}
	t.Fatal("the bursty function was not tested")
}

// TestHeapEventCount: a window's sample count is the number of sampled
// allocations it holds, not its objects: about 1,250 (290 + 470 + 490)
// for 468,000 objects. Each function's own events weigh what its objects
// make them: 400,000 48-byte objects come in about 290 sampled allocations
// of 1,366 objects each.
func TestHeapEventCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	se := heapSeries(t, rng, "alloc_objects", 1, 6, heapSites[:3])
	for _, w := range se.Windows {
		if w.Samples < 1100 || w.Samples > 1400 {
			t.Errorf("window of %d objects: %d samples, want about 1,250 sampled allocations", w.Total, w.Samples)
		}
	}
	var total int64
	for _, w := range se.Windows {
		for _, v := range w.Self {
			if se.Functions[v.F].Name == "main.decodeRequest" {
				total += v.V
			}
		}
	}
	for _, f := range se.Functions {
		if f.Name != "main.decodeRequest" {
			continue
		}
		if w := f.SelfVW / float64(total); w < 1300 || w > 1430 {
			t.Errorf("decodeRequest's events weigh %.0f objects each, want about 1,366 (1/(1-e^(-48/64Ki)))", w)
		}
		return
	}
	t.Fatal("no decodeRequest in the series")
}

// TestFewEventsCounted: a function of tiny objects sampled once in 85
// baseline windows and three times in 11 current ones (each sampled event
// 4,096 objects). Counting the four events, three landing in the current
// run's 11 of 96 windows has p = 0.005: no regression after a real run's
// correction over hundreds of tests, where a t test on the windows says
// p = 3e-5.
func TestFewEventsCounted(t *testing.T) {
	ids, _ := profiletype.Parse("alloc_objects")
	const w = 4096
	mk := func(windows int, eventsAt map[int]bool, run0 int) *baseline.Series {
		se := baseline.NewSeries("svc", ids[0])
		se.Functions = []baseline.Function{{Name: "main.bulk"}, {Name: "net/http.matchPath"}}
		for i := range windows {
			bulk := int64(100_000 + 997*(i%5))
			win := baseline.Window{Start: testNow.Add(time.Duration(i) * 5 * time.Second), End: testNow.Add(time.Duration(i+1) * 5 * time.Second),
				Total: bulk, Samples: 300, Run: int32(run0 + i/11)}
			win.Self = baseline.Values{{F: 0, V: bulk}}
			if eventsAt[i] {
				win.Self = append(win.Self, baseline.Value{F: 1, V: w})
				win.Total += w
			}
			win.Cum = win.Self
			se.Windows = append(se.Windows, win)
		}
		// Event weights as the profile's sampling gives them: bulk's events
		// weigh 1,366 objects, matchPath's 4,096.
		var bulkSum, pathSum float64
		for _, win := range se.Windows {
			for _, v := range win.Self {
				if v.F == 0 {
					bulkSum += float64(v.V)
				} else {
					pathSum += float64(v.V)
				}
			}
		}
		se.Functions[0].SelfVW, se.Functions[0].CumVW = bulkSum*1366, bulkSum*1366
		se.Functions[1].SelfVW, se.Functions[1].CumVW = pathSum*w, pathSum*w
		return se
	}
	b := mk(85, map[int]bool{40: true}, 0)
	c := mk(11, map[int]bool{2: true, 5: true, 9: true}, 0)
	r := mustCompare(t, snap(b), snap(c), Options{Normalization: Rate, TopUnchanged: 10, Params: Params{MinSamples: 1}})
	for _, f := range r.Series[0].Findings {
		if f.Function == "net/http.matchPath" {
			if f.P < 0.004 {
				t.Errorf("p = %.3g; want the counting test's p = 0.005 (the t test alone says 3e-5)", f.P)
			}
			return
		}
	}
	t.Fatal("the rare function was not tested")
}
