package reduce

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

var timeZero = time.Unix(1_700_000_000, 0)

// cpuProfile builds a CPU profile whose samples are the given stacks (leaf
// first, as pprof stores them) with the given sample counts at 100 Hz.
func cpuProfile(start time.Time, stacks map[string]int64) *profile.Profile {
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        10_000_000,
		TimeNanos:     start.UnixNano(),
		DurationNanos: int64(10 * time.Second),
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for stack, n := range stacks {
		var sl []*profile.Location
		for _, name := range strings.Split(stack, ";") {
			loc, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, Filename: "/src/app/" + strings.SplitN(name, ".", 2)[0] + ".go", StartLine: 10}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
				loc = &profile.Location{ID: uint64(len(locs) + 1), Line: []profile.Line{{Function: fn, Line: 12}}}
				locs[name] = loc
				p.Location = append(p.Location, loc)
			}
			sl = append(sl, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: sl, Value: []int64{n, n * 10_000_000}})
	}
	return p
}

func cpuID(t testing.TB) profiletype.ID {
	ids, err := profiletype.Parse("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func TestAddProfileSelfAndCum(t *testing.T) {
	se := baseline.NewSeries("svc", cpuID(t))
	start := time.Unix(1_700_000_000, 0).UTC()
	// leaf first: rec is recursive and must count once in its cumulative.
	err := AddProfile(se, cpuProfile(start, map[string]int64{
		"main.work;main.rec;main.rec;main.main": 30,
		"main.other;main.main":                  10,
		"main.main.func2;main.main":             5,
		"pkg.Map[go.shape.int];main.main.func1": 5,
	}), WindowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := se.Windows[0]
	if w.Total != 50*10_000_000 {
		t.Errorf("total = %d", w.Total)
	}
	if w.Samples != 50 {
		t.Errorf("samples = %d, want 50", w.Samples)
	}
	if !w.Start.Equal(start) || w.Seconds() != 10 {
		t.Errorf("window = %v..%v", w.Start, w.End)
	}
	get := func(vs baseline.Values, name string) int64 {
		for i, f := range se.Functions {
			if f.Name == name {
				return vs.Get(int32(i)) / 10_000_000
			}
		}
		t.Fatalf("no function %q in %v", name, se.Functions)
		return 0
	}
	tests := []struct {
		name      string
		self, cum int64
	}{
		{"main.work", 30, 30},
		{"main.rec", 0, 30},
		{"main.main", 0, 45},
		{"main.main.func*", 5, 10}, // func1 and func2 share one identity
		{"pkg.Map[...]", 5, 5},
	}
	for _, tt := range tests {
		if got := get(w.Self, tt.name); got != tt.self {
			t.Errorf("self(%s) = %d, want %d", tt.name, got, tt.self)
		}
		if got := get(w.Cum, tt.name); got != tt.cum {
			t.Errorf("cum(%s) = %d, want %d", tt.name, got, tt.cum)
		}
	}
	if err := se.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAddProfileWrongSampleType(t *testing.T) {
	ids, _ := profiletype.Parse("alloc_space")
	se := baseline.NewSeries("svc", ids[0])
	err := AddProfile(se, cpuProfile(time.Now(), map[string]int64{"a": 1}), WindowOptions{})
	if err == nil || !strings.Contains(err.Error(), "no alloc_space/bytes samples") {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeFunctionName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"main.main", "main.main"},
		{"main.main.func1", "main.main.func*"},
		{"main.(*T).Run.func12.3", "main.(*T).Run.func*.*"},
		{"net/http.(*conn).serve.gowrap1", "net/http.(*conn).serve.gowrap*"},
		{"main.f.deferwrap2", "main.f.deferwrap*"},
		{"slices.Sort[go.shape.[]int,go.shape.int]", "slices.Sort[...]"},
		{"pkg.Map[pkg.Pair[int]].Get", "pkg.Map[...].Get"},
		{"github.com/x/func1pkg.Foo", "github.com/x/func1pkg.Foo"},
	}
	for _, tt := range tests {
		if got := NormalizeFunctionName(tt.in); got != tt.want {
			t.Errorf("NormalizeFunctionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNamelessFunction: pprof allows a function with an empty name; the
// series names its frame by the location's address instead, and validates.
func TestNamelessFunction(t *testing.T) {
	for _, c := range []struct {
		name string
		addr uint64
		want string
	}{
		{"", 0x4010, "0x4010"},
		{"", 0, "0x0"},
		{"main.f", 0x4010, "main.f"},
	} {
		fn := &profile.Function{ID: 1, Name: c.name}
		loc := &profile.Location{ID: 1, Address: c.addr, Line: []profile.Line{{Function: fn}}}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10_000_000,
			TimeNanos: timeZero.UnixNano(), DurationNanos: int64(time.Second),
			Sample:   []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{1, 10_000_000}}},
			Location: []*profile.Location{loc}, Function: []*profile.Function{fn},
		}
		se := baseline.NewSeries("s", cpuID(t))
		if err := AddProfile(se, p, WindowOptions{}); err != nil {
			t.Fatalf("%q: %v", c.name, err)
		}
		if err := se.Validate(); err != nil {
			t.Errorf("%q at %#x: invalid series: %v", c.name, c.addr, err)
		}
		if len(se.Functions) != 1 || se.Functions[0].Name != c.want {
			t.Errorf("%q at %#x: functions %+v, want one named %q", c.name, c.addr, se.Functions, c.want)
		}
	}
}

// FuzzAddProfile decodes arbitrary bytes as pprof and reduces them to a
// window: errors are fine, panics and invalid series are not.
func FuzzAddProfile(f *testing.F) {
	var buf bytes.Buffer
	cpuProfile(timeZero, map[string]int64{"a;b": 3, "c;b": 1}).Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.ParseData(data)
		if err != nil {
			return
		}
		se := baseline.NewSeries("svc", cpuID(t))
		if err := AddProfile(se, p, WindowOptions{}); err != nil {
			return
		}
		if err := se.Validate(); err != nil {
			t.Fatalf("AddProfile produced an invalid series: %v", err)
		}
	})
}
