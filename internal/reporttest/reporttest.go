// Package reporttest builds diff.Result values for the report renderers'
// tests, by hand, so that renderer tests depend only on the result types and
// not on the comparison engine producing a particular outcome.
package reporttest

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// Repo is the checkout path and Module the module path the fixture's file
// names are written for.
const (
	Repo   = "/home/runner/work/profdiff/profdiff"
	Module = "github.com/profdiff/profdiff"
	bank   = Module + "/services/bank"
)

// RegressedFunction is the fixture's headline regression, in
// bank-fraud-service's CPU profile.
const RegressedFunction = bank + ".(*fraudRules).match"

// Result is a comparison with one of everything a renderer must handle:
// regressions of several kinds, a new hot path, file names in each shape
// Go records them (checkout path, -trimpath module path, GOPATH-like path,
// the runtime's -trimpath name, an absolute path outside the repository, no
// file), an improvement and an ignored regression (not results), an
// inconclusive series and an expired-ignore warning.
func Result() *diff.Result {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fraudBase, fraudCur := fraudStacks()
	allocBase, allocCur := allocStacks()
	return &diff.Result{
		SchemaVersion: diff.ResultSchemaVersion,
		Verdict:       diff.Regression,
		Baseline:      baseline.Meta{ProfdiffVersion: "v0.1.0", CreatedAt: at.Add(-24 * time.Hour), GitCommit: "1111111"},
		Current:       baseline.Meta{ProfdiffVersion: "v0.1.0", CreatedAt: at, GitCommit: "2222222"},
		Normalization: "share",
		Compared:      at,
		Summary:       diff.Summary{Series: 4, Regressions: 4, NewHotPaths: 1, Improvements: 1, Inconclusive: 1, Ignored: 1},
		Warnings:      []string{`ignore rule "legacy-json" expired on 2026-02-01: remove it or extend it`},
		Series: []*diff.SeriesResult{
			{
				Service: "bank-fraud-service", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Alias: "cpu",
				Verdict: diff.Regression, BaselineWindows: 6, CurrentWindows: 6, BaselineSamples: 6000, CurrentSamples: 6100,
				Unit: "nanoseconds", Tested: 12, MinDetectable: 0.12, Base: fraudBase, Cur: fraudCur,
				Findings: []diff.Finding{
					{Function: bank + ".(*fraudRules).match", File: Repo + "/services/bank/fraud.go", Line: 142,
						Measure: diff.Self, Kind: diff.KindRegression, Baseline: 0.112, Current: 0.171, Change: 0.527, ChangeLow: 0.41, ChangeHigh: 0.65, P: 0.00004, Q: 0.0004, Rule: "default"},
					{Function: "regexp.(*Regexp).doExecute", File: "/usr/local/go/src/regexp/exec.go", Line: 527,
						Measure: diff.Self, Kind: diff.KindRegression, Baseline: 0.05, Current: 0.061, Change: 0.22, ChangeLow: 0.11, ChangeHigh: 0.33, P: 0.002, Q: 0.012},
					{Function: bank + ".detectCycles", File: "github.com/profdiff/profdiff/services/bank/fraud.go", Line: 88,
						Measure: diff.Cumulative, Kind: diff.KindImprovement, Baseline: 0.25, Current: 0.21, Change: -0.16, ChangeLow: -0.2, ChangeHigh: -0.1, P: 0.001, Q: 0.006},
				},
			},
			{
				Service: "bank-order-service", ProfileType: "mutex:delay:nanoseconds:contentions:count", Alias: "mutex_delay",
				Verdict: diff.Regression, BaselineWindows: 6, CurrentWindows: 6, BaselineSamples: 900, CurrentSamples: 1400,
				Unit: "nanoseconds", Tested: 4,
				Findings: []diff.Finding{
					{Function: bank + ".(*orderBook).processOrders", RawName: bank + ".(*orderBook).processOrders.func1",
						File: "github.com/profdiff/profdiff/services/bank/order.go", Line: 61,
						Measure: diff.Cumulative, Kind: diff.KindRegression, Baseline: 0.4, Current: 0.52, Change: 0.30, ChangeLow: 0.12, ChangeHigh: 0.48, P: 0.003, Q: 0.01},
					{Function: "sync.(*Mutex).Unlock", File: "sync/mutex.go", Line: 219,
						Measure: diff.Self, Kind: diff.KindIgnored, Baseline: 0.2, Current: 0.3, Change: 0.5, P: 0.001, Q: 0.004, Rule: "ignore sync internals: reviewed 2026-01"},
				},
			},
			{
				Service: "bank-notification-service", ProfileType: "memory:alloc_space:bytes:space:bytes", Alias: "alloc_space",
				Verdict: diff.Regression, BaselineWindows: 6, CurrentWindows: 6, BaselineSamples: 50000, CurrentSamples: 52000,
				Unit: "bytes", Tested: 20, Base: allocBase, Cur: allocCur,
				Findings: []diff.Finding{
					{Function: bank + ".renderTemplate", File: "/build/src/github.com/profdiff/profdiff/services/bank/notification.go", Line: 47,
						Measure: diff.Self, Kind: diff.KindNewHotPath, Baseline: 0, Current: 0.043, Change: math.Inf(1), P: 0.0001, Q: 0.001},
					{Function: "runtime.mallocgc", File: "runtime/malloc.go", Line: 1010,
						Measure: diff.Self, Kind: diff.KindRegression, Baseline: 0.08, Current: 0.095, Change: 0.1875, ChangeLow: 0.1, ChangeHigh: 0.27, P: 0.004, Q: 0.03},
					{Function: "main.main.gowrap1", Measure: diff.Cumulative, Kind: diff.KindRegression,
						Baseline: 0.1, Current: 0.2, Change: 1.0, ChangeLow: 0.6, ChangeHigh: 1.4, P: 0.0002, Q: 0.002},
				},
			},
			{
				Service: "bank-payment-service", ProfileType: "process_cpu:cpu:nanoseconds:cpu:nanoseconds", Alias: "cpu",
				Verdict: diff.Inconclusive, Reason: "no data in the current run", BaselineWindows: 6,
			},
		},
	}
}

// Series builds a series from folded stacks: each key is a call stack, root
// first, frames separated by ";", and its value the stack's merged value. The
// function table gets one entry per distinct name; file names come from
// files (by function name) when given.
func Series(service, profileType string, stacks map[string]int64, files map[string]string) *baseline.Series {
	id, err := profiletype.ParseID(profileType)
	if err != nil {
		panic(err)
	}
	se := baseline.NewSeries(service, id)
	index := map[string]int32{}
	keys := make([]string, 0, len(stacks))
	for k := range stacks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var frames []int32
		for _, name := range strings.Split(k, ";") {
			fi, ok := index[name]
			if !ok {
				fi = int32(len(se.Functions))
				index[name] = fi
				se.Functions = append(se.Functions, baseline.Function{Name: name, File: files[name], Line: 1})
			}
			frames = append(frames, fi)
		}
		se.Stacks = append(se.Stacks, baseline.Stack{Frames: frames, Value: stacks[k]})
	}
	return se
}

// fraudStacks is bank-fraud-service's CPU profile before and after the rule
// matcher got costlier: match and its regexp work grew, a rule compiler is new
// on the hot path, a legacy scorer is gone, the rest is as it was.
func fraudStacks() (base, cur *baseline.Series) {
	const (
		serve   = "runtime.goexit;net/http.(*conn).serve;net/http.serverHandler.ServeHTTP;net/http.(*ServeMux).ServeHTTP"
		handler = serve + ";" + bank + ".(*server).handleScore"
		score   = handler + ";" + bank + ".scoreTransfer"
		match   = score + ";" + bank + ".(*fraudRules).match"
		cycles  = score + ";" + bank + ".detectCycles"
		gc      = "runtime.goexit;runtime.gcBgMarkWorker;runtime.gcDrain"
	)
	files := map[string]string{
		bank + ".(*fraudRules).match": Repo + "/services/bank/fraud.go",
		bank + ".scoreTransfer":       Repo + "/services/bank/fraud.go",
		bank + ".detectCycles":        Repo + "/services/bank/fraud.go",
	}
	common := map[string]int64{
		cycles:                                900,
		cycles + ";" + bank + ".detectCycles": 700,
		cycles + ";" + bank + ".detectCycles;" + bank + ".detectCycles":                     500,
		handler + ";encoding/json.Marshal;encoding/json.(*encodeState).marshal":             800,
		handler + ";encoding/json.(*Decoder).Decode;encoding/json.(*decodeState).object":    600,
		serve + ";net/http.(*response).finishRequest;bufio.(*Writer).Flush;syscall.Syscall": 450,
		gc + ";runtime.scanobject": 1000,
		gc + ";runtime.markroot":   300,
		"runtime.goexit;runtime.mcall;runtime.schedule;runtime.findRunnable": 550,
	}
	b := map[string]int64{
		match: 1120,
		match + ";regexp.(*Regexp).doExecute;regexp.(*machine).step": 500,
		score + ";" + bank + ".legacyScore":                          350,
	}
	c := map[string]int64{
		match: 1710,
		match + ";regexp.(*Regexp).doExecute;regexp.(*machine).step":     610,
		match + ";regexp.MustCompile;regexp.compile;regexp/syntax.Parse": 280,
	}
	for k, v := range common {
		b[k] = v
		c[k] = v * 97 / 100
	}
	pt := "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	return Series("bank-fraud-service", pt, b, files), Series("bank-fraud-service", pt, c, files)
}

// allocStacks is bank-notification-service's allocation profile before and
// after template rendering moved onto the request path.
func allocStacks() (base, cur *baseline.Series) {
	const (
		h = "runtime.goexit;net/http.(*conn).serve;" + bank + ".(*server).handleNotify"
	)
	b := map[string]int64{
		h + ";encoding/json.Marshal;runtime.mallocgc":               40000,
		h + ";" + bank + ".queueMessage;runtime.growslice":          30000,
		"runtime.goexit;net/http.(*conn).serve;bufio.NewReaderSize": 20000,
	}
	c := map[string]int64{
		h + ";encoding/json.Marshal;runtime.mallocgc":                                   41000,
		h + ";" + bank + ".queueMessage;runtime.growslice":                              29000,
		h + ";" + bank + ".renderTemplate;text/template.(*state).walk;runtime.mallocgc": 6000,
		"runtime.goexit;net/http.(*conn).serve;bufio.NewReaderSize":                     20000,
	}
	pt := "memory:alloc_space:bytes:space:bytes"
	return Series("bank-notification-service", pt, b, nil), Series("bank-notification-service", pt, c, nil)
}
