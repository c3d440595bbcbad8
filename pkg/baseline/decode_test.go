package baseline

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// trickySeries has what the fast decoder must get exactly right: names with
// characters encoding/json escapes (HTML, quotes, control characters,
// invalid UTF-8, which the encoder turns into U+FFFD), non-ASCII and
// astral-plane names (surrogate pairs when escaped), raw names, zero and
// non-zero times, and stacks.
func trickySeries(t testing.TB) *Series {
	se := NewSeries("svc \"a\" <&>", cpuID(t))
	se.Period = 10_000_000
	se.Functions = []Function{
		{Name: "main.main", File: "/src/main.go", Line: 12},
		{Name: "pkg.(*T).<lambda>&\"q\"\\", RawName: "pkg.(*T).<lambda>&\"q\"\\.func1", File: "C:\\src\\x.go"},
		{Name: "ütf8.名前.😀\u2028\x01\t\n", Line: -1},
		{Name: "bad\xffutf8"},
		{Name: "x"},
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	se.Windows = []Window{
		{Start: t0, End: t0.Add(10 * time.Second), Total: 30, Samples: 3, Period: 10,
			Self: Values{{0, 10}, {3, 20}}, Cum: Values{{0, 30}, {1, 20}, {3, 20}}},
		{Total: 0, Self: Values{}, Cum: Values{}},
		{Start: t0.In(time.FixedZone("x", 3600)), Total: 9_000_000_000_000_000_000,
			Self: Values{{4, 9_000_000_000_000_000_000}}, Cum: Values{{4, 9_000_000_000_000_000_000}}},
	}
	se.Stacks = []Stack{{Frames: []int32{0, 3}, Value: 20}, {Frames: []int32{0}, Value: 10}, {Frames: []int32{1, 2, 4, 0}, Value: 0}}
	return se
}

// checkAgrees decodes data with the fast decoder and with encoding/json:
// when the fast decoder accepts it, encoding/json must accept it too and
// give the same series.
func checkAgrees(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	got, ok := fastDecodeSeries(data)
	var want Series
	err := json.Unmarshal(data, &want)
	if ok {
		if err != nil {
			t.Fatalf("fast decoder accepted what encoding/json refuses (%v):\n%q", err, data)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("fast decoder and encoding/json differ on\n%q\nfast: %#v\njson: %#v", data, *got, want)
		}
	}
	se, derr := decodeSeries(data)
	if (derr == nil) != (err == nil) {
		t.Fatalf("decodeSeries error %v, encoding/json error %v, on %q", derr, err, data)
	}
	if derr == nil && !reflect.DeepEqual(*se, want) {
		t.Fatalf("decodeSeries and encoding/json differ on %q", data)
	}
	return ok
}

func TestDecodeSeriesFastPathOnWrittenFiles(t *testing.T) {
	m := largeModelSeries(t)
	for name, se := range map[string]*Series{"tricky": trickySeries(t), "large": m} {
		data, err := json.Marshal(se)
		if err != nil {
			t.Fatal(err)
		}
		if !checkAgrees(t, data) {
			t.Errorf("%s: the fast decoder gave up on what encodeSeries writes", name)
		}
		got, _ := fastDecodeSeries(data)
		var want Series
		json.Unmarshal(data, &want)
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("%s: round trip differs", name)
		}
		// Indented JSON (a hand-edited file) takes the fast path too.
		var buf bytes.Buffer
		json.Indent(&buf, data, "", "\t")
		if !checkAgrees(t, buf.Bytes()) {
			t.Errorf("%s: the fast decoder gave up on indented JSON", name)
		}
	}
}

// largeModelSeries is a series of a few thousand random functions, windows
// and stacks, decoded fast and by encoding/json in the test above.
func largeModelSeries(t testing.TB) *Series {
	rng := rand.New(rand.NewPCG(1, 2))
	se := NewSeries("big", cpuID(t))
	const n = 3000
	for i := range n {
		se.Functions = append(se.Functions, Function{Name: "pkg.F" + string(rune('a'+i%26)) + time.Duration(i).String(), File: "/src/f.go", Line: int64(i)})
	}
	for w := range 4 {
		win := Window{Start: time.Unix(int64(w*10), 0).UTC(), End: time.Unix(int64(w*10+10), 0).UTC()}
		for i := range n {
			if rng.IntN(3) == 0 {
				v := rng.Int64N(1 << 40)
				win.Self = append(win.Self, Value{int32(i), v})
				win.Cum = append(win.Cum, Value{int32(i), v + rng.Int64N(1<<40)})
				win.Total += v
			}
		}
		se.Windows = append(se.Windows, win)
	}
	for range n {
		st := Stack{Value: rng.Int64N(1 << 50)}
		for range 1 + rng.IntN(30) {
			st.Frames = append(st.Frames, int32(rng.IntN(n)))
		}
		se.Stacks = append(se.Stacks, st)
	}
	return se
}

// decodeCases are inputs where the fast decoder must either agree with
// encoding/json or give up: unknown, case-variant and duplicate keys, null,
// numbers it does not take, escapes, bad UTF-8, bad structure.
var decodeCases = []string{
	`{}`,
	` { } `,
	`{"service":"s"}`,
	`{"service":"s","extra":{"a":[1,2.5e-3,true,false,null,"x\u00e9"],"b":{}},"more":[]}`,
	`{"Service":"s"}`,
	`{"SERVICE":"s"}`,
	`{"ſervice":"s"}`,
	`{"service":"a","service":"b"}`,
	`{"service":null}`,
	`null`,
	`{"period":1.0}`,
	`{"period":1e3}`,
	`{"period":-0}`,
	`{"period":9223372036854775807}`,
	`{"period":-9223372036854775808}`,
	`{"period":9223372036854775808}`,
	`{"period":01}`,
	`{"period":"1"}`,
	`{"sample_type":{"type":"t","unit":"u","Type":"x"}}`,
	`{"sample_type":{"type":"t","type":"u"}}`,
	`{"functions":[]}`,
	`{"functions":[{}]}`,
	`{"functions":[{"name":"a","raw":"b","file":"c","line":3},{"name":"d"}]}`,
	`{"functions":[{"name":"a\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00"}]}`,
	`{"functions":[{"name":"\ud83d"}]}`,
	`{"functions":[{"name":"\ud83dx"}]}`,
	`{"functions":[{"name":"\ude00\ud83d"}]}`,
	`{"functions":[{"name":"\u12"}]}`,
	`{"functions":[{"name":"\x"}]}`,
	"{\"functions\":[{\"name\":\"a\x01\"}]}",
	"{\"functions\":[{\"name\":\"a\xff\"}]}",
	"{\"functions\":[{\"name\":\"\xc3\xa9\"}]}",
	`{"functions":[{"name":"a","Name":"b"}]}`,
	`{"functions":[{"name":"a"},]}`,
	`{"functions":[{"name":"a"}`,
	`{"functions":{}}`,
	`{"windows":[]}`,
	`{"windows":[{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:10.5+02:00","total":1,"samples":2,"period":3,"self":[0,1],"cum":[0,1,2,3]}]}`,
	`{"windows":[{"start":"2026-01-01"}]}`,
	`{"windows":[{"start":"2026-01-01T00:00:00\u005a"}]}`,
	`{"windows":[{"start":null}]}`,
	`{"windows":[{"start":0}]}`,
	`{"windows":[{"self":[1]}]}`,
	`{"windows":[{"self":[-1,2]}]}`,
	`{"windows":[{"self":[2147483648,2]}]}`,
	`{"windows":[{"self":[2147483647,-2]}]}`,
	`{"windows":[{"self":[1,2,]}]}`,
	`{"windows":[{"self":[1,2.0]}]}`,
	`{"windows":[{"self":null}]}`,
	`{"windows":[{"self":[ 1 , 2 ]  ,"cum" : [ ] }]}`,
	`{"windows":[{"self":[1,2],"self":[3,4]}]}`,
	`{"stacks":[]}`,
	`{"stacks":[[5,0],[6,1,2,3]]}`,
	`{"stacks":[[5]]}`,
	`{"stacks":[[]]}`,
	`{"stacks":[[5,-1]]}`,
	`{"stacks":[[5,0,]]}`,
	`{"stacks":[[5,0]`,
	`{"stacks":[[5 , 0 ] , [ 1,2]]}`,
	`{"stacks":null}`,
	`{"service":"s"} x`,
	`{"service":"s"}{}`,
	`{"service":"s"` + "\n",
	`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":"\u00"}`,
	"{\"a\":1}\x00",
}

func TestDecodeSeriesAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range decodeCases {
		checkAgrees(t, []byte(in))
	}
	// Spot-check that the common, valid forms do take the fast path.
	for _, in := range []string{decodeCases[3], decodeCases[22], decodeCases[23], decodeCases[37], decodeCases[52]} {
		if _, ok := fastDecodeSeries([]byte(in)); !ok {
			t.Errorf("fast decoder gave up on %s", in)
		}
	}
}

// FuzzDecodeSeriesAgreesWithEncodingJSON is the differential test of the
// fast decoder: on any input it accepts, encoding/json must give the same
// series; whatever it refuses goes to encoding/json anyway.
func FuzzDecodeSeriesAgreesWithEncodingJSON(f *testing.F) {
	for _, in := range decodeCases {
		f.Add([]byte(in))
	}
	data, _ := json.Marshal(trickySeries(f))
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgrees(t, data)
	})
}

// TestFastDecoderAllocationIsBounded: the fast decoder sizes buffers from
// counts of brackets and commas; a hostile file made of them must not make
// it allocate far more than the file's size.
func TestFastDecoderAllocationIsBounded(t *testing.T) {
	const n = 1 << 20
	for name, data := range map[string][]byte{
		"braces in a name": append(append([]byte(`{"functions":[{"name":"`), bytes.Repeat([]byte{'{'}, n)...), `"}],"x":1}`...),
		"commas in values": append(append([]byte(`{"windows":[{"self":[`), bytes.Repeat([]byte{','}, n)...), `]}]}`...),
		"commas in stacks": append(append([]byte(`{"stacks":[[1`), bytes.Repeat([]byte{','}, n)...), `]]}`...),
		"brackets":         append([]byte(`{"stacks":[[1,2],`), bytes.Repeat([]byte{'['}, n)...),
		"many stacks":      append(append([]byte(`{"stacks":[`), bytes.Repeat([]byte(`[1,2],`), n/6)...), `[1,2]]}`...),
	} {
		alloc := func(f func()) uint64 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f()
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}
		got := alloc(func() { fastDecodeSeries(data) })
		json := alloc(func() { json.Unmarshal(data, new(Series)) })
		if got > max(8*uint64(len(data)), 2*json)+1<<20 {
			t.Errorf("%s: %d bytes of input made the fast decoder allocate %d bytes (encoding/json %d)", name, len(data), got, json)
		}
	}
}
