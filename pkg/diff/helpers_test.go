package diff

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// snap wraps series in a snapshot.
func snap(series ...*baseline.Series) *baseline.Snapshot {
	s := &baseline.Snapshot{Meta: baseline.Meta{Source: "test"}}
	for _, se := range series {
		s.Put(se)
	}
	return s
}

// pair draws a baseline series from mb and a current one from mc.
func pair(seed uint64, service string, mb, mc *gen.Model, windows, samples int, jitter float64) (*baseline.Series, *baseline.Series) {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := mb.Series(rng, service, windows, samples, jitter)
	c := mc.Series(rng, service, windows, samples, jitter)
	return b, c
}

func mustCompare(t testing.TB, b, c *baseline.Snapshot, opts Options) *Result {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	r, err := Compare(b, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findingsOf(r *Result, k Kind) []Finding {
	var out []Finding
	for _, s := range r.Series {
		for _, f := range s.Findings {
			if f.Kind == k {
				out = append(out, f)
			}
		}
	}
	return out
}

// fakePolicy is a minimal Policy for tests; pkg/rules has the real one.
type fakePolicy struct {
	series   func(service, pt string) Params
	function func(fn string) (Params, string)
	ignore   map[string]string
	warnings []string
}

func (p fakePolicy) SeriesParams(service, pt string, def Params) (Params, string) {
	if p.series != nil {
		return p.series(service, pt).Merge(def), "fake-series"
	}
	return def, ""
}

func (p fakePolicy) FunctionParams(service, pt, fn string, sp Params) (Params, string) {
	if p.function != nil {
		fp, rule := p.function(fn)
		return fp.Merge(sp), rule
	}
	return sp, ""
}

func (p fakePolicy) Ignore(service, pt, fn string) (string, bool) {
	r, ok := p.ignore[fn]
	return r, ok
}

func (p fakePolicy) Warnings() []string { return p.warnings }
