package pyroscope

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"
	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/profdiff/profdiff/internal/pproftest"
	"github.com/profdiff/profdiff/pkg/profstore"
)

// viaWire is the conversion fromProto replaces, and the reference it must
// agree with: the message encoded and parsed again by google/pprof.
func viaWire(msg *profilev1.Profile) (*profile.Profile, error) {
	b, err := msg.MarshalVT()
	if err != nil {
		return nil, err
	}
	return profile.ParseData(b)
}

// fromPprof turns a google/pprof profile into the API's message, as a
// server would send it.
func fromPprof(t testing.TB, p *profile.Profile) *profilev1.Profile {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteUncompressed(&b); err != nil {
		t.Fatal(err)
	}
	msg := &profilev1.Profile{}
	if err := msg.UnmarshalVT(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return msg
}

// checkAgrees fails unless fromProto and viaWire both refuse msg or both
// return the same profile. The comparison is reflect.DeepEqual on the whole
// model, unexported fields included (ParseData clears its own), so that a
// field left out, a nil that should be empty or a pointer to the wrong
// function shows.
func checkAgrees(t testing.TB, msg *profilev1.Profile) (ok bool) {
	t.Helper()
	want, werr := viaWire(msg)
	got, gerr := fromProto(msg)
	switch {
	case werr != nil && gerr != nil:
		return false
	case werr != nil:
		t.Fatalf("ParseData refuses the message (%v), the direct conversion does not:\n%v", werr, got)
	case gerr != nil:
		t.Fatalf("the direct conversion refuses the message (%v), ParseData does not:\n%v", gerr, want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the direct conversion differs from ParseData.\ndirect:\n%v\nParseData:\n%v\ndirect %#v\nParseData %#v", got, want, got, want)
	}
	return true
}

func goldenCPU(t testing.TB) *profilev1.Profile {
	return decodeSample(t, goldenRoutes["SelectMergeProfile"], &profilev1.Profile{})
}

// richProfile uses every field the conversion carries: labels of each kind
// (units padded), a kernel mapping, a location without a mapping and one
// whose mapping does not exist, inlined lines, a location without lines,
// a sample without locations, IDs beyond the tables' length, comments,
// drop/keep frames, a default sample type, and doc_link and a line's
// column, which the message type does not declare.
func richProfile() *profilev1.Profile {
	strs := []string{"", "cpu", "nanoseconds", "samples", "count", "main", "main.go", "/bin/app", "abc123",
		"[kernel.kallsyms]_stext", "span", "x", "bytes", "size", "KB", "runtime.*", "keep.*", "a comment", "https://doc.example/"}
	s := func(v string) int64 {
		for i, x := range strs {
			if x == v {
				return int64(i)
			}
		}
		panic(v)
	}
	msg := &profilev1.Profile{
		SampleType: []*profilev1.ValueType{{Type: s("cpu"), Unit: s("nanoseconds")}, {Type: s("samples"), Unit: s("count")}},
		Mapping: []*profilev1.Mapping{
			{Id: 1, MemoryStart: 0x1000, MemoryLimit: 0x9000, FileOffset: 0x10, Filename: s("/bin/app"), BuildId: s("abc123"), HasFunctions: true, HasLineNumbers: true},
			{Id: 70, Filename: s("[kernel.kallsyms]_stext"), HasInlineFrames: true, HasFilenames: true},
		},
		Function: []*profilev1.Function{
			{Id: 1, Name: s("main"), SystemName: s("main"), Filename: s("main.go"), StartLine: 3},
			{Id: 900, Name: 0, SystemName: s("span"), Filename: s("main.go")},
		},
		Location: []*profilev1.Location{
			{Id: 1, MappingId: 1, Address: 0x1234, Line: []*profilev1.Line{{FunctionId: 900, Line: 7}, {FunctionId: 1, Line: 9}}},
			{Id: 2, MappingId: 70, Address: 0xffff, IsFolded: true},
			{Id: 5000, Line: []*profilev1.Line{{FunctionId: 1, Line: 12}}},
			{Id: 3, MappingId: 42, Line: []*profilev1.Line{{FunctionId: 1}}},
		},
		Sample: []*profilev1.Sample{
			{LocationId: []uint64{1, 2, 5000}, Value: []int64{10, 1}, Label: []*profilev1.Label{
				{Key: s("span"), Str: s("x")},
				{Key: s("bytes"), Num: 512},
				{Key: s("size"), Num: 3, NumUnit: s("KB")},
				{Key: s("size"), Num: 4},
				{Key: s("bytes"), Num: 8, NumUnit: s("bytes")},
				{Key: s("span"), Str: s("main"), NumUnit: 999}, // a string label's unit is not looked up
				{Key: s("x")}, // neither value nor unit: dropped
			}},
			{Value: []int64{0, 0}},
			{LocationId: []uint64{3, 3}, Value: []int64{-5, 2}, Label: []*profilev1.Label{{Key: s("size"), NumUnit: s("KB")}}},
		},
		StringTable:       strs,
		DropFrames:        s("runtime.*"),
		KeepFrames:        s("keep.*"),
		TimeNanos:         1795710517843000000,
		DurationNanos:     10e9,
		PeriodType:        &profilev1.ValueType{Type: s("cpu"), Unit: s("nanoseconds")},
		Period:            1e7,
		Comment:           []int64{s("a comment"), 0},
		DefaultSampleType: s("samples"),
	}
	msg.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 15, protowire.VarintType), uint64(s("https://doc.example/"))))
	ln := msg.Location[0].Line[1]
	ln.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 17))
	return msg
}

// embeddedServerProfiles pushes profiles to the embedded server and returns
// what its SelectMergeProfile answers, for each profile type pushed.
func embeddedServerProfiles(t *testing.T) []*profilev1.Profile {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := profstore.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	at := time.Now().Add(-time.Minute).Truncate(10 * time.Second)
	alloc := pproftest.Lookup(t, "allocs")
	alloc.TimeNanos, alloc.DurationNanos = at.UnixNano(), 10e9
	cpu := benchProfile(300, 400)
	cpu.TimeNanos = at.UnixNano()
	req := &pushv1.PushRequest{}
	for _, p := range []struct {
		name string
		p    *profile.Profile
	}{{"memory", alloc}, {"process_cpu", cpu}} {
		var b bytes.Buffer
		if err := p.p.Write(&b); err != nil {
			t.Fatal(err)
		}
		req.Series = append(req.Series, &pushv1.RawProfileSeries{
			Labels:  []*typesv1.LabelPair{{Name: "__name__", Value: p.name}, {Name: "service_name", Value: "svc"}},
			Samples: []*pushv1.RawSample{{RawProfile: b.Bytes()}},
		})
	}
	if _, err := pushv1connect.NewPusherServiceClient(http.DefaultClient, srv.URL()).Push(ctx, connect.NewRequest(req)); err != nil {
		t.Fatal(err)
	}
	q := querierv1connect.NewQuerierServiceClient(http.DefaultClient, srv.URL())
	var out []*profilev1.Profile
	for _, typeID := range []string{"memory:alloc_space:bytes:space:bytes", "memory:alloc_objects:count:space:bytes", cpuID} {
		resp, err := q.SelectMergeProfile(ctx, connect.NewRequest(&querierv1.SelectMergeProfileRequest{
			ProfileTypeID: typeID, LabelSelector: `{service_name="svc"}`,
			Start: at.Add(-time.Second).UnixMilli(), End: at.Add(20 * time.Second).UnixMilli(),
		}))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Msg.Sample) == 0 {
			t.Fatalf("%s: the embedded server answered no samples", typeID)
		}
		out = append(out, resp.Msg)
	}
	return out
}

// benchProfile is shaped like a busy Go service's CPU profile: nfuncs
// functions, one location each plus a second, inlined, line on every
// fifth, and nstacks distinct stacks of depth 8-32.
func benchProfile(nfuncs, nstacks int) *profile.Profile {
	rng := rand.New(rand.NewPCG(1, 2))
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1e9,
		Mapping: []*profile.Mapping{{ID: 1, File: "/bin/svc", BuildID: "b1d", HasFunctions: true}},
	}
	for i := range nfuncs {
		name := fmt.Sprintf("github.com/profdiff/profdiff/services/bank.fn%04d", i)
		p.Function = append(p.Function, &profile.Function{ID: uint64(i + 1), Name: name, SystemName: name, Filename: "svc.go", StartLine: int64(i)})
	}
	for i, f := range p.Function {
		l := &profile.Location{ID: uint64(i + 1), Mapping: p.Mapping[0], Line: []profile.Line{{Function: f, Line: int64(i + 3)}}}
		if i%5 == 0 {
			l.Line = append([]profile.Line{{Function: p.Function[rng.IntN(nfuncs)], Line: 1}}, l.Line...)
		}
		p.Location = append(p.Location, l)
	}
	for range nstacks {
		s := &profile.Sample{Value: []int64{int64(1+rng.IntN(50)) * 1e7}}
		for range 8 + rng.IntN(25) {
			s.Location = append(s.Location, p.Location[rng.IntN(len(p.Location))])
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

// TestFromProtoAgreesWithParseData: on real responses and on profiles
// using every field, the direct conversion gives exactly what encoding and
// parsing again gave.
func TestFromProtoAgreesWithParseData(t *testing.T) {
	tests := []struct {
		name string
		msg  func(t *testing.T) []*profilev1.Profile
	}{
		{"real Pyroscope v2.2.1 CPU", func(t *testing.T) []*profilev1.Profile { return []*profilev1.Profile{goldenCPU(t)} }},
		{"real Pyroscope v2.2.1 CPU sample counts", func(t *testing.T) []*profilev1.Profile {
			return []*profilev1.Profile{goldenSamplesProfile(t)}
		}},
		{"every field", func(*testing.T) []*profilev1.Profile { return []*profilev1.Profile{richProfile()} }},
		{"runtime profiles", func(t *testing.T) []*profilev1.Profile {
			var out []*profilev1.Profile
			for _, name := range []string{"allocs", "heap", "goroutine", "mutex", "block", "threadcreate"} {
				out = append(out, fromPprof(t, pproftest.Lookup(t, name)))
			}
			return out
		}},
		{"embedded server", embeddedServerProfiles},
		{"synthetic merged profile", func(t *testing.T) []*profilev1.Profile {
			return []*profilev1.Profile{fromPprof(t, benchProfile(3000, 5000))}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, msg := range tt.msg(t) {
				if !checkAgrees(t, msg) {
					t.Errorf("profile %d: both refuse it; want it accepted", i)
				}
			}
		})
	}
}

// TestFromProtoRefuses: what ParseData refuses, the direct conversion
// refuses too, with an error that says what is wrong, and without
// panicking.
func TestFromProtoRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *profilev1.Profile)
		want   string
	}{
		{"empty string table", func(p *profilev1.Profile) { p.StringTable = nil }, "string table is empty"},
		{"string table without the empty string first", func(p *profilev1.Profile) { p.StringTable[0] = "x" }, "must start with an empty string"},
		{"function name out of range", func(p *profilev1.Profile) { p.Function[0].Name = 1000 }, "function name: string index 1000"},
		{"negative string index", func(p *profilev1.Profile) { p.SampleType[0].Unit = -1 }, "sample unit: string index -1"},
		{"mapping file out of range", func(p *profilev1.Profile) { p.Mapping[0].Filename = int64(len(p.StringTable)) }, "mapping file name: string index"},
		{"label key out of range", func(p *profilev1.Profile) { p.Sample[0].Label[0].Key = 1 << 40 }, "label key: string index"},
		{"label unit out of range", func(p *profilev1.Profile) { p.Sample[0].Label[2].NumUnit = 77 }, "label unit: string index 77"},
		{"comment out of range", func(p *profilev1.Profile) { p.Comment = append(p.Comment, 300) }, "comment: string index 300"},
		{"period type out of range", func(p *profilev1.Profile) { p.PeriodType.Type = 300 }, "period type: string index 300"},
		{"doc_link out of range", func(p *profilev1.Profile) {
			p.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 15, protowire.VarintType), 300))
		}, "doc_link: string index 300"},
		{"sample refers to a missing location", func(p *profilev1.Profile) { p.Sample[0].LocationId[1] = 4 }, "sample 0: location 4 does not exist"},
		{"sample refers to location 0", func(p *profilev1.Profile) { p.Sample[2].LocationId[0] = 0 }, "sample 2: location 0 does not exist"},
		{"line refers to a missing function", func(p *profilev1.Profile) { p.Location[0].Line[0].FunctionId = 2 }, "location 1, line 0: function 2 does not exist"},
		{"line without a function", func(p *profilev1.Profile) { p.Location[3].Line[0].FunctionId = 0 }, "location 3, line 0: function 0 does not exist"},
		{"duplicate location IDs", func(p *profilev1.Profile) { p.Location[3].Id = 5000 }, "two locations have ID 5000"},
		{"duplicate function IDs", func(p *profilev1.Profile) { p.Function[1].Id = 1 }, "two functions have ID 1"},
		{"duplicate mapping IDs", func(p *profilev1.Profile) { p.Mapping[1].Id = 1 }, "two mappings have ID 1"},
		{"location ID 0", func(p *profilev1.Profile) { p.Location[1].Id = 0 }, "a location has ID 0"},
		{"function ID 0", func(p *profilev1.Profile) { p.Function[0].Id = 0 }, "a function has ID 0"},
		{"mapping ID 0", func(p *profilev1.Profile) { p.Mapping[0].Id = 0 }, "a mapping has ID 0"},
		{"too few values", func(p *profilev1.Profile) { p.Sample[1].Value = p.Sample[1].Value[:1] }, "sample 1 has 1 values for 2 sample types"},
		{"too many values", func(p *profilev1.Profile) { p.Sample[0].Value = append(p.Sample[0].Value, 3) }, "sample 0 has 3 values for 2 sample types"},
		{"samples without sample types", func(p *profilev1.Profile) { p.SampleType = nil }, "has samples but no sample types"},
		{"nil sample", func(p *profilev1.Profile) { p.Sample = append(p.Sample, nil) }, "sample 3 has 0 values"},
		{"nil function", func(p *profilev1.Profile) { p.Function = append(p.Function, nil) }, "a function has ID 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := richProfile()
			tt.change(msg)
			if checkAgrees(t, msg) {
				t.Fatal("both accept the message; want it refused")
			}
			_, err := fromProto(msg)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want it to say %q", err, tt.want)
			}
			if _, err := toPprof(msg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("toPprof: err = %v; want it to say %q", err, tt.want)
			}
		})
	}
}

// TestToPprofEmpty: a response without data is nil, as before; names are
// filled in for frames without one.
func TestToPprofEmpty(t *testing.T) {
	zero := richProfile()
	for _, s := range zero.Sample {
		clear(s.Value)
	}
	for name, msg := range map[string]*profilev1.Profile{
		"nil":        nil,
		"no samples": {StringTable: []string{""}},
		"all zero":   zero,
	} {
		if p, err := toPprof(msg); p != nil || err != nil {
			t.Errorf("%s: toPprof = %v, %v; want nil, nil", name, p, err)
		}
	}
	p, err := toPprof(richProfile())
	if err != nil {
		t.Fatal(err)
	}
	if p.Function[1].Name != "span" {
		t.Errorf("unnamed function is called %q; want its system name", p.Function[1].Name)
	}
}

// discardUnknown drops the fields the message type does not declare. The
// direct conversion reads doc_link and a line's column from them, as pprof
// does, but does not check the rest the way pprof's decoder does (groups,
// other wire types); Pyroscope encodes its answers from the same message
// type, so it sends none of those.
func discardUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := range v.List().Len() {
				discardUnknown(v.List().Get(i).Message())
			}
		default:
			discardUnknown(v.Message())
		}
		return true
	})
}

// FuzzToPprofAgreesWithParseData: for any message the fuzzer's bytes
// decode to, the direct conversion and ParseData of the message's encoding
// (the conversion it replaces) both refuse it or agree exactly. The
// message's encoding rather than the fuzz bytes: bytes that repeat a
// singular field or a message field decode to one message that encodes
// differently, and ParseData reads those repeats its own way.
func FuzzToPprofAgreesWithParseData(f *testing.F) {
	for _, msg := range []*profilev1.Profile{goldenCPU(f), richProfile(), fromPprof(f, benchProfile(20, 10))} {
		b, err := msg.MarshalVT()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg := &profilev1.Profile{}
		if err := msg.UnmarshalVT(b); err != nil {
			return
		}
		fromProto(msg) // must not panic, whatever the unknown fields hold
		toPprof(msg)
		discardUnknown(msg.ProtoReflect())
		checkAgrees(t, msg)
	})
}

// BenchmarkToPprof converts a merged CPU profile of 3000 functions and
// locations and 5000 stacks, as one window of a busy service: "direct" is
// toPprof, "wire" the encoding and parsing again it replaced.
func BenchmarkToPprof(b *testing.B) {
	msg := fromPprof(b, benchProfile(3000, 5000))
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := toPprof(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := viaWire(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
