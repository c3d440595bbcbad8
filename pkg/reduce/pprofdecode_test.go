package reduce

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// decodeProfiles are profiles of every shape the fast decoder must read as
// google/pprof does: CPU with inlined frames and a location without lines,
// a heap profile of four sample types with labels, a mutex profile, and
// non-dense IDs.
func decodeProfiles() map[string]*profile.Profile {
	fn := func(id uint64, name string) *profile.Function {
		return &profile.Function{ID: id, Name: name, SystemName: name, Filename: "/src/" + name + ".go", StartLine: int64(id) * 10}
	}
	cpu := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        1e7,
		TimeNanos:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		DurationNanos: 10e9,
		Function:      []*profile.Function{fn(1, "main.main"), fn(2, "main.work"), fn(3, "main.inlined"), fn(4, "main.work.func1"), fn(5, "pkg.Map[go.shape.int]")},
		Mapping:       []*profile.Mapping{{ID: 1, File: "/bin/app", BuildID: "abc"}},
	}
	cpu.Location = []*profile.Location{
		{ID: 1, Mapping: cpu.Mapping[0], Address: 0x1000, Line: []profile.Line{{Function: cpu.Function[0], Line: 12}}},
		{ID: 2, Mapping: cpu.Mapping[0], Address: 0x2000, Line: []profile.Line{{Function: cpu.Function[2], Line: 31}, {Function: cpu.Function[1], Line: 22}}},
		{ID: 3, Mapping: cpu.Mapping[0], Address: 0x3abc},
		{ID: 4, Line: []profile.Line{{Function: cpu.Function[3], Line: 41}}},
		{ID: 5, Line: []profile.Line{{Function: cpu.Function[4], Line: 51}}},
	}
	L := cpu.Location
	cpu.Sample = []*profile.Sample{
		{Location: []*profile.Location{L[1], L[0]}, Value: []int64{30, 3e8}},
		{Location: []*profile.Location{L[2], L[1], L[0]}, Value: []int64{5, 5e7}},
		{Location: []*profile.Location{L[3], L[1], L[0]}, Value: []int64{7, 7e7}, Label: map[string][]string{"span": {"x"}}},
		{Location: []*profile.Location{L[4], L[3], L[4], L[0]}, Value: []int64{2, 2e7}},
		{Location: []*profile.Location{L[1], L[0]}, Value: []int64{0, 0}},
		{Value: []int64{1, 1e7}},
	}
	heap := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}, {Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"}, Period: 524288,
		Function:          []*profile.Function{fn(100, "main.alloc"), fn(7, "main.main")},
		DefaultSampleType: "inuse_space",
		Comments:          []string{"a heap profile"},
	}
	heap.Location = []*profile.Location{{ID: 9, Line: []profile.Line{{Function: heap.Function[0], Line: 3}}}, {ID: 1000, Line: []profile.Line{{Function: heap.Function[1], Line: 4}}}}
	heap.Sample = []*profile.Sample{
		{Location: heap.Location, Value: []int64{64, 64 * 1024, 8, 8 * 1024}, NumLabel: map[string][]int64{"bytes": {1024}}, NumUnit: map[string][]string{"bytes": {"bytes"}}},
		{Location: heap.Location[1:], Value: []int64{1, 600000, 1, 600000}},
	}
	mutex := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "contentions", Unit: "count"}, {Type: "delay", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "contentions", Unit: "count"}, Period: 5,
		Function: []*profile.Function{fn(1, "sync.(*Mutex).Unlock"), fn(2, "main.locked")},
	}
	mutex.Location = []*profile.Location{{ID: 1, Line: []profile.Line{{Function: mutex.Function[0]}}}, {ID: 2, Line: []profile.Line{{Function: mutex.Function[1]}}}}
	mutex.Sample = []*profile.Sample{{Location: mutex.Location, Value: []int64{10, 5e6}}}
	return map[string]*profile.Profile{"cpu": cpu, "heap": heap, "mutex": mutex}
}

// TestDecodeRawMatchesPprof: for each profile, the window and the series
// the fast decoder builds equal what google/pprof's parser and AddProfile
// build, for every profile type the profile holds.
func TestDecodeRawMatchesPprof(t *testing.T) {
	types := map[string][]string{"cpu": {"cpu"}, "heap": {"alloc_space", "alloc_objects", "inuse_space", "inuse_objects"}, "mutex": {"mutex_delay", "mutex_count"}}
	for name, p := range decodeProfiles() {
		for _, compressed := range []bool{false, true} {
			var buf bytes.Buffer
			write := p.WriteUncompressed
			if compressed {
				write = p.Write
			}
			if err := write(&buf); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			if compressed {
				data = gunzipBytes(t, data)
			}
			fast, err := decodeRaw(data)
			if err != nil {
				t.Fatalf("%s: decodeRaw: %v", name, err)
			}
			slow, err := profile.ParseData(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, alias := range types[name] {
				id := mustType(t, alias)
				a, b := baseline.NewSeries("s", id), baseline.NewSeries("s", id)
				errA := addRaw(a, fast, WindowOptions{}, nil, nil)
				errB := AddProfile(b, slow, WindowOptions{})
				if (errA == nil) != (errB == nil) {
					t.Fatalf("%s %s: fast %v, pprof %v", name, alias, errA, errB)
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s %s: the fast decoder's series differs:\nfast %+v\npprof %+v", name, alias, a, b)
				}
			}
		}
	}
}

// TestDecodeRawRefuses: what google/pprof refuses, the fast decoder does
// not accept either (it hands it over, and pprof's error stands).
func TestDecodeRawRefuses(t *testing.T) {
	base := decodeProfiles()["cpu"]
	tests := []struct {
		name   string
		break_ func(p *profile.Profile)
	}{
		{"function ID 0", func(p *profile.Profile) { p.Function[1].ID = 0 }},
		{"duplicate function IDs", func(p *profile.Profile) { p.Function[1].ID = 1 }},
		{"location ID 0", func(p *profile.Profile) { p.Location[2].ID = 0 }},
		{"duplicate location IDs", func(p *profile.Profile) { p.Location[2].ID = 1 }},
		{"duplicate mapping IDs", func(p *profile.Profile) {
			p.Mapping = append(p.Mapping, &profile.Mapping{ID: 1, File: "/lib"})
		}},
		{"too few values", func(p *profile.Profile) { p.Sample[0].Value = p.Sample[0].Value[:1] }},
		{"too many values", func(p *profile.Profile) { p.Sample[0].Value = append(p.Sample[0].Value, 3) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base.Copy()
			tt.break_(p)
			var buf bytes.Buffer
			if err := p.WriteUncompressed(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := profile.ParseData(buf.Bytes()); err == nil {
				t.Skip("google/pprof accepts it too")
			}
			if _, err := decodeRaw(buf.Bytes()); err == nil {
				t.Error("decodeRaw accepted what google/pprof refuses")
			}
		})
	}
	for name, data := range map[string][]byte{
		"empty":           {},
		"legacy text":     []byte("--- contention:\ncycles/second=1000\n"),
		"no string table": {0x60, 0x01},             // period: 1
		"truncated":       {0x12, 0x05, 0x0a, 0x01}, // a sample claiming 5 bytes
		"bad string index": func() []byte {
			var b bytes.Buffer
			p := base.Copy()
			p.WriteUncompressed(&b)
			// sample_type {type: 99, unit: 99}
			return append(b.Bytes(), 0x0a, 0x04, 0x08, 0x63, 0x10, 0x63)
		}(),
	} {
		if _, err := decodeRaw(data); err == nil {
			t.Errorf("%s: decodeRaw accepted it", name)
		}
	}
}

// FuzzDecodeRawAgreesWithPprof: whenever the fast decoder accepts an
// input, google/pprof accepts it too, and the two build the same series.
func FuzzDecodeRawAgreesWithPprof(f *testing.F) {
	for _, p := range decodeProfiles() {
		var buf bytes.Buffer
		p.WriteUncompressed(&buf)
		f.Add(buf.Bytes())
	}
	f.Add([]byte{})
	cpu := mustTypeF(f, "cpu")
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, err := decodeRaw(data)
		if err != nil {
			return
		}
		slow, err := profile.ParseData(data)
		if err != nil {
			t.Fatalf("decodeRaw accepted what google/pprof refuses: %v", err)
		}
		a, b := baseline.NewSeries("s", cpu), baseline.NewSeries("s", cpu)
		errA, errB := addRaw(a, fast, WindowOptions{}, nil, nil), AddProfile(b, slow, WindowOptions{})
		if (errA == nil) != (errB == nil) || (errA == nil && !reflect.DeepEqual(a, b)) {
			t.Fatalf("fast %v / pprof %v:\nfast %+v\npprof %+v", errA, errB, a, b)
		}
	})
}

// BenchmarkDecodeRaw compares the fast decoder with google/pprof's parser
// plus the flattening AddProfile does, on one window of a 20,000-function
// profile.
func BenchmarkDecodeRaw(b *testing.B) {
	data := bigProfile(b)
	b.Run("decodeRaw", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodeRaw(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pprof.ParseData", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			p, err := profile.ParseData(data)
			if err != nil {
				b.Fatal(err)
			}
			toRaw(p)
		}
	})
}

// bigProfile is an uncompressed CPU profile of 20,000 functions, one
// stack each, 10 frames deep, with random counts.
func bigProfile(tb testing.TB) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1e7,
	}
	const n = 20000
	for i := range n {
		f := &profile.Function{ID: uint64(i + 1), Name: "pkg/path.Func" + string(rune('A'+i%26)) + strconv.Itoa(i), Filename: "/src/pkg/file.go"}
		p.Function = append(p.Function, f)
		p.Location = append(p.Location, &profile.Location{ID: uint64(i + 1), Address: uint64(i) * 16, Line: []profile.Line{{Function: f, Line: int64(i)}}})
	}
	for i := range n {
		stack := []*profile.Location{p.Location[i]}
		for j := i; j > 0 && len(stack) < 10; j /= 2 {
			stack = append(stack, p.Location[j/2])
		}
		c := int64(1 + rng.IntN(20))
		p.Sample = append(p.Sample, &profile.Sample{Location: stack, Value: []int64{c, c * 1e7}})
	}
	var buf bytes.Buffer
	if err := p.WriteUncompressed(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gunzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustType(t *testing.T, alias string) profiletype.ID {
	t.Helper()
	ids, err := profiletype.Parse(alias)
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func mustTypeF(f *testing.F, alias string) profiletype.ID {
	ids, err := profiletype.Parse(alias)
	if err != nil {
		f.Fatal(err)
	}
	return ids[0]
}
