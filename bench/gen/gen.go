// Package gen makes synthetic but realistic CPU profiles of a Go service, for
// profdiff's sample data, its statistical tests and its benchmarks.
//
// A Model is a fixed probability distribution over call stacks: a random call
// tree of plausibly named Go functions, each with a self weight drawn from a
// heavy-tailed (Zipf-like) law, as real profiles have a few hot functions
// and a long cold tail. A window's profile is a multinomial draw of N
// samples from that distribution, which is exactly the noise a sampling
// profiler adds; Jitter adds window-to-window variation on top (load bursts,
// GC), which real services also have.
//
// Everything is deterministic given the seed, so generated files are
// reproducible byte for byte.
package gen

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// Period is the sampling period of generated CPU profiles: 100 Hz, as Go's
// runtime/pprof and pyroscope-go use.
const Period = int64(10 * time.Millisecond)

// Func is one function of a model.
type Func struct {
	Name string
	File string
	Line int64
}

// Model is a distribution of CPU samples over call stacks.
type Model struct {
	Funcs []Func
	// Parent is each function's caller in the call tree (-1 for the root).
	Parent []int32
	// Self is each function's self weight; the probability of a sample
	// landing in function i is Self[i] / sum(Self).
	Self []float64
	// paths[i] is the stack of function i, leaf first.
	paths [][]int32
	cdf   []float64
}

// NewModel returns a model of n functions (n ≥ 8) drawn with seed.
func NewModel(seed uint64, n int) *Model {
	if n < 8 {
		n = 8
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	m := &Model{Funcs: make([]Func, n), Parent: make([]int32, n), Self: make([]float64, n)}
	names := newNamer(rng)
	m.Funcs[0] = Func{Name: "runtime.goexit", File: "/usr/local/go/src/runtime/asm_amd64.s", Line: 1700}
	m.Parent[0] = -1
	for i := 1; i < n; i++ {
		m.Funcs[i] = names.next()
		// Prefer recent parents a little, giving stacks 5-15 deep.
		lo := 0
		if i > 4 {
			lo = i / 2 * int(rng.IntN(2))
		}
		m.Parent[i] = int32(lo + rng.IntN(i-lo))
	}
	// Zipf-like self weights over a random ranking: rank r gets 1/(r+2)^1.1.
	// The root and a few frames are pure callers with no self time.
	rank := rng.Perm(n)
	for i := range m.Self {
		if i == 0 || rng.Float64() < 0.1 {
			continue
		}
		m.Self[i] = 1 / math.Pow(float64(rank[i]+2), 1.1)
	}
	m.build()
	return m
}

func (m *Model) build() {
	n := len(m.Funcs)
	m.paths = make([][]int32, n)
	for i := 0; i < n; i++ {
		var p []int32
		for f := int32(i); f >= 0; f = m.Parent[f] {
			p = append(p, f)
		}
		m.paths[i] = p
	}
	m.cdf = make([]float64, n)
	var s float64
	for i, w := range m.Self {
		s += w
		m.cdf[i] = s
	}
	for i := range m.cdf {
		m.cdf[i] /= s
	}
}

// Share returns function i's expected self share.
func (m *Model) Share(i int) float64 {
	var s float64
	for _, w := range m.Self {
		s += w
	}
	return m.Self[i] / s
}

// Closest returns the function whose self share is closest to share.
func (m *Model) Closest(share float64) int {
	best, bd := 0, math.Inf(1)
	for i := range m.Self {
		if d := math.Abs(m.Share(i) - share); d < bd {
			best, bd = i, d
		}
	}
	return best
}

// Clone returns an independent copy.
func (m *Model) Clone() *Model {
	c := &Model{
		Funcs:  append([]Func(nil), m.Funcs...),
		Parent: append([]int32(nil), m.Parent...),
		Self:   append([]float64(nil), m.Self...),
	}
	c.build()
	return c
}

// Scale returns a copy in which function i does factor times the self work.
// Other functions keep their absolute weight, so i's share grows by slightly
// less than factor, as in a real regression: the other functions' time is
// unchanged and the total grows.
func (m *Model) Scale(i int, factor float64) *Model {
	c := m.Clone()
	c.Self[i] *= factor
	c.build()
	return c
}

// Rename gives function i a new name (to plant a recognizable hot spot).
func (m *Model) Rename(i int, name, file string) {
	m.Funcs[i].Name = name
	m.Funcs[i].File = file
}

// Sample draws a window of n samples: counts[i] samples whose leaf is
// function i. jitter > 0 multiplies each function's weight by a log-normal
// factor with that standard deviation first (window-to-window variation
// beyond sampling).
func (m *Model) Sample(rng *rand.Rand, n int, jitter float64) []int64 {
	cdf := m.cdf
	if jitter > 0 {
		cdf = make([]float64, len(m.Self))
		var s float64
		for i, w := range m.Self {
			s += w * math.Exp(jitter*rng.NormFloat64()-jitter*jitter/2)
			cdf[i] = s
		}
		for i := range cdf {
			cdf[i] /= s
		}
	}
	counts := make([]int64, len(m.Self))
	for range n {
		u := rng.Float64()
		i := sort.SearchFloat64s(cdf, u)
		if i >= len(counts) {
			i = len(counts) - 1
		}
		for m.Self[i] == 0 && i+1 < len(counts) { // zero-width bucket: u hit its edge
			i++
		}
		counts[i]++
	}
	return counts
}

// Profile returns the pprof CPU profile of one window, as Go's runtime/pprof
// writes it: sample types samples/count and cpu/nanoseconds, 100 Hz.
func (m *Model) Profile(counts []int64, start time.Time, dur time.Duration) *profile.Profile {
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        Period,
		TimeNanos:     start.UnixNano(),
		DurationNanos: int64(dur),
	}
	fns := make([]*profile.Function, len(m.Funcs))
	locs := make([]*profile.Location, len(m.Funcs))
	need := make([]bool, len(m.Funcs))
	for i, c := range counts {
		if c > 0 {
			for _, f := range m.paths[i] {
				need[f] = true
			}
		}
	}
	for i, f := range m.Funcs {
		if !need[i] {
			continue
		}
		fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Name, SystemName: f.Name, Filename: f.File, StartLine: f.Line}
		p.Function = append(p.Function, fn)
		fns[i] = fn
		loc := &profile.Location{ID: uint64(len(p.Location) + 1), Address: 0x400000 + uint64(i)*64, Line: []profile.Line{{Function: fn, Line: f.Line + 3}}}
		p.Location = append(p.Location, loc)
		locs[i] = loc
	}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		path := m.paths[i]
		ls := make([]*profile.Location, len(path))
		for k, f := range path {
			ls[k] = locs[f]
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: ls, Value: []int64{c, c * Period}})
	}
	return p
}

// Windows says which window profiles WriteWindows draws and writes.
type Windows struct {
	N       int           // how many windows
	Samples int           // samples a window
	Jitter  float64       // window-to-window variation, as in Sample
	Start   time.Time     // the first window's start; each follows the last
	Length  time.Duration // each window's length (10 s when zero)
	// Name is window i's file name ("w%02d.pb.gz" when nil).
	Name func(i int) string
}

// WriteWindows draws w.N windows, as Sample and Profile do, and writes each
// as a gzipped pprof file in dir, which it creates if need be: the input of
// `profdiff snapshot` and `profdiff compare DIR DIR`. It returns the files'
// paths in window order.
func (m *Model) WriteWindows(rng *rand.Rand, dir string, w Windows) ([]string, error) {
	if w.Length == 0 {
		w.Length = 10 * time.Second
	}
	if w.Name == nil {
		w.Name = func(i int) string { return fmt.Sprintf("w%02d.pb.gz", i) }
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := make([]string, w.N)
	for i := range w.N {
		p := m.Profile(m.Sample(rng, w.Samples, w.Jitter), w.Start.Add(time.Duration(i)*w.Length), w.Length)
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			return nil, err
		}
		files[i] = filepath.Join(dir, w.Name(i))
		if err := os.WriteFile(files[i], buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Window returns what reduce.AddProfile would make of Profile(counts,
// ...), computed directly (and much faster), with the series' function table
// being the model's (function i is index i).
func (m *Model) Window(counts []int64, start time.Time, dur time.Duration) baseline.Window {
	w := baseline.Window{Start: start, End: start.Add(dur), Period: Period}
	cum := make([]int64, len(m.Funcs))
	for i, c := range counts {
		if c == 0 {
			continue
		}
		w.Self = append(w.Self, baseline.Value{F: int32(i), V: c * Period})
		w.Samples += c
		for _, f := range m.paths[i] {
			cum[f] += c
		}
	}
	for i, c := range cum {
		if c > 0 {
			w.Cum = append(w.Cum, baseline.Value{F: int32(i), V: c * Period})
		}
	}
	w.Total = w.Samples * Period
	return w
}

// Series returns a CPU series of service with the given windows of
// samplesPerWindow samples each, built directly (see Window).
func (m *Model) Series(rng *rand.Rand, service string, windows, samplesPerWindow int, jitter float64) *baseline.Series {
	cpu, _ := profiletype.Parse("cpu")
	se := baseline.NewSeries(service, cpu[0])
	se.Period = Period
	se.Functions = make([]baseline.Function, len(m.Funcs))
	for i, f := range m.Funcs {
		se.Functions[i] = baseline.Function{Name: reduce.NormalizeFunctionName(f.Name), File: f.File, Line: f.Line}
		if se.Functions[i].Name != f.Name {
			se.Functions[i].RawName = f.Name
		}
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stacks := make([]int64, len(m.Funcs))
	for k := range windows {
		counts := m.Sample(rng, samplesPerWindow, jitter)
		se.Windows = append(se.Windows, m.Window(counts, start.Add(time.Duration(k)*10*time.Second), 10*time.Second))
		for i, c := range counts {
			stacks[i] += c
		}
	}
	for i, c := range stacks {
		if c == 0 {
			continue
		}
		path := m.paths[i]
		root := make([]int32, len(path))
		for k, f := range path {
			root[len(path)-1-k] = f
		}
		se.Stacks = append(se.Stacks, baseline.Stack{Frames: root, Value: c * Period})
	}
	return se
}

// namer makes plausible, unique Go function names: a few dozen well-known
// standard-library and runtime functions first, then methods of made-up
// types in a bank service's packages.
type namer struct {
	rng  *rand.Rand
	i    int
	seen map[string]bool
}

func newNamer(rng *rand.Rand) *namer { return &namer{rng: rng, seen: map[string]bool{}} }

var wellKnown = []string{
	"runtime.main", "main.main", "net/http.(*conn).serve", "net/http.serverHandler.ServeHTTP",
	"net/http.HandlerFunc.ServeHTTP", "net/http.(*ServeMux).ServeHTTP", "runtime.mallocgc",
	"runtime.memmove", "runtime.mapaccess2_faststr", "runtime.mapassign_faststr", "runtime.gcBgMarkWorker",
	"runtime.scanobject", "runtime.findObject", "runtime.futex", "runtime.usleep", "syscall.Syscall6",
	"internal/poll.(*FD).Read", "internal/poll.(*FD).Write", "bufio.(*Writer).Flush",
	"encoding/json.Marshal", "encoding/json.(*encodeState).reflectValue", "encoding/json.(*decodeState).object",
	"encoding/json.(*decodeState).literalStore", "encoding/json.Unmarshal", "reflect.Value.Field",
	"strconv.AppendFloat", "strings.(*Builder).WriteString", "fmt.Sprintf", "fmt.(*pp).doPrintf",
	"regexp.Compile", "regexp.(*Regexp).doExecute", "regexp/syntax.Parse", "sync.(*Mutex).Lock",
	"sync.(*Mutex).lockSlow", "sync.(*RWMutex).RLock", "text/template.(*state).walk",
	"text/template.(*state).evalField", "math/big.nat.mul", "sort.Slice", "time.Now",
	"crypto/sha256.block", "compress/gzip.(*Writer).Write", "github.com/prometheus/client_golang/prometheus.(*histogram).Observe",
	"github.com/grafana/pyroscope-go.(*Session).uploadData", "main.main.func1", "net/http.(*Transport).roundTrip",
}

var (
	pkgs = []string{"api", "gateway", "orders", "payments", "fraud", "accounts", "loans", "notify", "ledger",
		"store", "cache", "auth", "rules", "risk", "schedule", "render", "codec", "metrics", "queue", "audit"}
	types = []string{"Engine", "Handler", "Service", "Store", "Cache", "Scorer", "Matcher", "Batch", "Client",
		"Router", "Encoder", "Decoder", "Pool", "Ledger", "Planner", "Renderer", "Queue", "Validator", "Limiter", "Index"}
	verbs = []string{"Process", "Handle", "Match", "Score", "Load", "Save", "Encode", "Decode", "Render", "Compute",
		"Validate", "Lookup", "Update", "Apply", "Flush", "Schedule", "Check", "Build", "Parse", "Merge"}
	nouns = []string{"", "Rules", "Orders", "Batch", "Balance", "Payment", "Quote", "Template", "Account", "Entry",
		"Schedule", "Request", "Response", "Token", "Window", "Stats", "Limits", "Items", "Events", "Keys"}
)

func (g *namer) next() Func {
	for {
		var name, file string
		if g.i < len(wellKnown) {
			name = wellKnown[g.i]
			file = "/usr/local/go/src/" + pkgPath(name) + "/x.go"
		} else {
			pkg := pkgs[g.rng.IntN(len(pkgs))]
			typ := types[g.rng.IntN(len(types))]
			fn := verbs[g.rng.IntN(len(verbs))] + nouns[g.rng.IntN(len(nouns))]
			path := "github.com/profdiff/bank/internal/" + pkg
			switch g.rng.IntN(6) {
			case 0:
				name = fmt.Sprintf("%s.%s", path, fn)
			case 1:
				name = fmt.Sprintf("%s.(*%s).%s.func%d", path, typ, fn, 1+g.rng.IntN(3))
			case 2:
				name = fmt.Sprintf("%s.%s.%s", path, typ, fn)
			default:
				name = fmt.Sprintf("%s.(*%s).%s", path, typ, fn)
			}
			if g.seen[name] || g.seen[reduce.NormalizeFunctionName(name)] {
				// Large models run out of combinations: number them.
				name = fmt.Sprintf("%s.(*%s%d).%s", path, typ, g.i, fn)
			}
			file = "/src/bank/internal/" + pkg + "/" + lower(typ) + ".go"
		}
		g.i++
		norm := reduce.NormalizeFunctionName(name)
		if g.seen[name] || g.seen[norm] {
			continue
		}
		g.seen[name], g.seen[norm] = true, true
		return Func{Name: name, File: file, Line: int64(10 + g.rng.IntN(400))}
	}
}

func pkgPath(name string) string {
	// "encoding/json.(*decodeState).object" → "encoding/json"
	slash := 0
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			slash = i
			break
		}
	}
	for i := slash; i < len(name); i++ {
		if name[i] == '.' {
			return name[:i]
		}
	}
	return name
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// AddFunc returns a copy with a new function called by parent, doing
// selfShare of the model's current total self work (so its share afterwards
// is selfShare/(1+selfShare)): a new hot path.
func (m *Model) AddFunc(parent int, f Func, selfShare float64) (*Model, int) {
	c := m.Clone()
	var s float64
	for _, w := range c.Self {
		s += w
	}
	c.Funcs = append(c.Funcs, f)
	c.Parent = append(c.Parent, int32(parent))
	c.Self = append(c.Self, selfShare*s)
	c.build()
	return c, len(c.Funcs) - 1
}
