package reporttest

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// Sampled draws a series of windows from a distribution over folded call
// stacks (root first, frames separated by ";"; each value a weight), the way
// a sampling profiler sees one: each window is a multinomial draw of samples
// events, each worth weight units of the sample type. Everything follows
// from seed. The merged stacks are kept for flame graphs and the cause
// model.
func Sampled(service, profileType string, stacks map[string]float64, files map[string]string, windows, samples int, weight int64, seed uint64) *baseline.Series {
	id, err := profiletype.ParseID(profileType)
	if err != nil {
		panic(err)
	}
	se := baseline.NewSeries(service, id)
	if id.Kind() == profiletype.KindCPU {
		se.Period = weight
	}
	keys := make([]string, 0, len(stacks))
	for k := range stacks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	index := map[string]int32{}
	paths := make([][]int32, len(keys))
	cdf := make([]float64, len(keys))
	var sum float64
	for i, k := range keys {
		for _, name := range strings.Split(k, ";") {
			fi, ok := index[name]
			if !ok {
				fi = int32(len(se.Functions))
				index[name] = fi
				line := int64(0)
				if files[name] != "" {
					line = int64(10 + 7*len(se.Functions))
				}
				se.Functions = append(se.Functions, baseline.Function{Name: reduce.NormalizeFunctionName(name), File: files[name], Line: line})
				if n := se.Functions[fi].Name; n != name {
					se.Functions[fi].RawName = name
				}
			}
			paths[i] = append(paths[i], fi)
		}
		sum += stacks[k]
		cdf[i] = sum
	}
	rng := rand.New(rand.NewPCG(seed, 0x51ed))
	merged := make([]int64, len(keys))
	start := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	for w := range windows {
		counts := make([]int64, len(keys))
		for range samples {
			counts[sort.SearchFloat64s(cdf, rng.Float64()*sum)]++
		}
		self := map[int32]int64{}
		cum := map[int32]int64{}
		for i, c := range counts {
			if c == 0 {
				continue
			}
			merged[i] += c
			p := paths[i]
			self[p[len(p)-1]] += c * weight
			seen := map[int32]bool{}
			for _, f := range p {
				if !seen[f] {
					seen[f] = true
					cum[f] += c * weight
				}
			}
		}
		win := baseline.Window{
			Start: start.Add(time.Duration(w) * 10 * time.Second), End: start.Add(time.Duration(w+1) * 10 * time.Second),
			Total: int64(samples) * weight, Samples: int64(samples), Period: se.Period,
			Self: values(self), Cum: values(cum),
		}
		se.Windows = append(se.Windows, win)
	}
	for i, c := range merged {
		if c > 0 {
			se.Stacks = append(se.Stacks, baseline.Stack{Frames: paths[i], Value: c * weight})
		}
	}
	return se
}

func values(m map[int32]int64) baseline.Values {
	vs := make(baseline.Values, 0, len(m))
	for f, v := range m {
		vs = append(vs, baseline.Value{F: f, V: v})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].F < vs[j].F })
	return vs
}

// Scale returns a copy of stacks with every stack that passes through fn
// weighted by factor: fn and everything it calls doing factor times the
// work.
func Scale(stacks map[string]float64, fn string, factor float64) map[string]float64 {
	out := make(map[string]float64, len(stacks))
	for k, v := range stacks {
		if slices.Contains(strings.Split(k, ";"), fn) {
			v *= factor
		}
		out[k] = v
	}
	return out
}

// Names of the scenarios' functions.
const (
	Match           = bank + ".(*rules).Match"
	MatchFraudRules = bank + ".matchFraudRules"
	fraudHandler    = "runtime.goexit;net/http.(*conn).serve;net/http.serverHandler.ServeHTTP;" + bank + ".(*server).handleScore;" + bank + ".scoreTransfer"
)

// MatchCallees are the eight functions below Match that grow with it in
// EightCallees.
var MatchCallees = []string{
	"regexp.(*Regexp).doExecute", "regexp.(*machine).step", "regexp.(*machine).add", "regexp/syntax.Parse",
	"regexp/syntax.(*parser).collapse", "regexp/syntax.(*parser).push", "regexp/syntax.Compile", "runtime.memmove",
}

// fraudCPU is bank-fraud-service's CPU profile: a rule matcher (root) that
// spends most of its time in the regexp package, next to JSON, a cycle
// detector, GC and the scheduler.
func fraudCPU(root string) map[string]float64 {
	m := fraudHandler + ";" + root
	return map[string]float64{
		m:                                 10,
		m + ";regexp.(*Regexp).doExecute": 4,
		m + ";regexp.(*Regexp).doExecute;regexp.(*machine).step":                   5,
		m + ";regexp.(*Regexp).doExecute;regexp.(*machine).add":                    3,
		m + ";regexp/syntax.Parse":                                                 3,
		m + ";regexp/syntax.Parse;regexp/syntax.(*parser).collapse":                2,
		m + ";regexp/syntax.Parse;regexp/syntax.(*parser).push":                    2,
		m + ";regexp/syntax.Compile":                                               2,
		m + ";runtime.memmove":                                                     3,
		fraudHandler + ";encoding/json.Marshal":                                    15,
		fraudHandler + ";encoding/json.Marshal;runtime.mallocgc":                   5,
		fraudHandler + ";" + bank + ".detectCycles":                                12,
		"runtime.goexit;runtime.gcBgMarkWorker;runtime.gcDrain;runtime.scanobject": 10,
		"runtime.goexit;runtime.mcall;runtime.schedule;runtime.findRunnable":       6,
	}
}

// fraudAlloc is the same service's allocation profile: the matcher's
// allocations are all in regexp/syntax and the runtime below it.
func fraudAlloc(root string) map[string]float64 {
	m := fraudHandler + ";" + root
	return map[string]float64{
		m + ";regexp/syntax.Parse;regexp/syntax.(*parser).collapse;runtime.mallocgc": 12,
		m + ";regexp/syntax.Parse;regexp/syntax.(*parser).push;runtime.growslice":    8,
		m + ";regexp.(*Regexp).doExecute;regexp.(*Regexp).get;runtime.mallocgc":      4,
		fraudHandler + ";encoding/json.Marshal;runtime.mallocgc":                     30,
		fraudHandler + ";" + bank + ".detectCycles;runtime.makeslice":                20,
		"runtime.goexit;net/http.(*conn).serve;bufio.NewReaderSize":                  26,
	}
}

var fraudFiles = map[string]string{
	Match:                           Repo + "/services/bank/rules.go",
	MatchFraudRules:                 Repo + "/services/bank/fraud.go",
	bank + ".scoreTransfer":         Repo + "/services/bank/fraud.go",
	bank + ".(*server).handleScore": Repo + "/services/bank/server.go",
	bank + ".detectCycles":          Repo + "/services/bank/fraud.go",
	"regexp/syntax.Parse":           "regexp/syntax/parse.go",
	"regexp.(*Regexp).doExecute":    "/usr/local/go/src/regexp/exec.go",
	"runtime.mallocgc":              "runtime/malloc.go",
}

const (
	cpuType   = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	allocType = "memory:alloc_objects:count:space:bytes"
)

func snapshot(commit string, at time.Time, series ...*baseline.Series) *baseline.Snapshot {
	s := &baseline.Snapshot{Meta: baseline.Meta{ProfdiffVersion: "v0.1.0", CreatedAt: at, Source: "synthetic", GitCommit: commit}}
	for _, se := range series {
		s.Put(se)
	}
	return s
}

var scenarioAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// EightCallees is a baseline and a current snapshot of bank-fraud-service's
// CPU profile in which Match does 60% more work, all of it through eight
// callees in the regexp package and the runtime.
func EightCallees() (base, cur *baseline.Snapshot) {
	b := fraudCPU(Match)
	c := Scale(b, Match, 1.6)
	return snapshot("1111111", scenarioAt.Add(-24*time.Hour), Sampled("bank-fraud-service", cpuType, b, fraudFiles, 8, 3000, 10_000_000, 1)),
		snapshot("2222222", scenarioAt, Sampled("bank-fraud-service", cpuType, c, fraudFiles, 8, 3000, 10_000_000, 2))
}

// CPUAndAlloc is bank-fraud-service's CPU and allocation profiles in which
// matchFraudRules does 60% more work and allocates 60% more, the
// allocations all in regexp/syntax and the runtime below it.
func CPUAndAlloc() (base, cur *baseline.Snapshot) {
	bc, ba := fraudCPU(MatchFraudRules), fraudAlloc(MatchFraudRules)
	cc, ca := Scale(bc, MatchFraudRules, 1.6), Scale(ba, MatchFraudRules, 1.6)
	return snapshot("1111111", scenarioAt.Add(-24*time.Hour),
			Sampled("bank-fraud-service", cpuType, bc, fraudFiles, 8, 3000, 10_000_000, 3),
			Sampled("bank-fraud-service", allocType, ba, fraudFiles, 8, 3000, 1, 4)),
		snapshot("2222222", scenarioAt,
			Sampled("bank-fraud-service", cpuType, cc, fraudFiles, 8, 3000, 10_000_000, 5),
			Sampled("bank-fraud-service", allocType, ca, fraudFiles, 8, 3000, 1, 6))
}

// MemmoveElsewhere is CPUAndAlloc's baseline against a later run in which
// matchFraudRules still does 60% more work and allocates 60% more, and
// detectCycles, another function of the service, now copies memory too:
// runtime.memmove, one of matchFraudRules' callees, grows under a second
// caller, a regression of its own that accepting matchFraudRules' cause
// must not hide.
func MemmoveElsewhere() (base, cur *baseline.Snapshot) {
	bc, ba := fraudCPU(MatchFraudRules), fraudAlloc(MatchFraudRules)
	cc, ca := Scale(bc, MatchFraudRules, 1.6), Scale(ba, MatchFraudRules, 1.6)
	cc[fraudHandler+";"+bank+".detectCycles;runtime.memmove"] = 3
	return snapshot("1111111", scenarioAt.Add(-24*time.Hour),
			Sampled("bank-fraud-service", cpuType, bc, fraudFiles, 8, 3000, 10_000_000, 3),
			Sampled("bank-fraud-service", allocType, ba, fraudFiles, 8, 3000, 1, 4)),
		snapshot("3333333", scenarioAt,
			Sampled("bank-fraud-service", cpuType, cc, fraudFiles, 8, 3000, 10_000_000, 5),
			Sampled("bank-fraud-service", allocType, ca, fraudFiles, 8, 3000, 1, 6))
}

// AA is two runs of the same build: the same profiles, drawn twice.
func AA() (base, cur *baseline.Snapshot) {
	bc, ba := fraudCPU(Match), fraudAlloc(Match)
	return snapshot("1111111", scenarioAt.Add(-24*time.Hour),
			Sampled("bank-fraud-service", cpuType, bc, fraudFiles, 8, 3000, 10_000_000, 7),
			Sampled("bank-fraud-service", allocType, ba, fraudFiles, 8, 3000, 1, 8)),
		snapshot("1111111", scenarioAt,
			Sampled("bank-fraud-service", cpuType, bc, fraudFiles, 8, 3000, 10_000_000, 9),
			Sampled("bank-fraud-service", allocType, ba, fraudFiles, 8, 3000, 1, 10))
}
