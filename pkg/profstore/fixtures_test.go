package profstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// Synthetic uploads shaped like pyroscope-go v1.5.0's: the same sample and
// period types as the Go runtime writes, the same query parameters and the
// same sample_type_config parts (see shared/pyroscope-samples/upload).

type uploadKind string

const (
	kindCPU       uploadKind = "cpu"
	kindHeap      uploadKind = "heap"
	kindMutex     uploadKind = "mutex"
	kindBlock     uploadKind = "block"
	kindGoroutine uploadKind = "goroutine"
)

var allKinds = []uploadKind{kindCPU, kindHeap, kindMutex, kindBlock, kindGoroutine}

// allTypeIDs are the eleven profile type IDs real Pyroscope lists after a
// pyroscope-go app with all ten profile types uploads (CPU has two).
var allTypeIDs = []string{
	"block:contentions:count:contentions:count",
	"block:delay:nanoseconds:contentions:count",
	"goroutine:goroutine:count:goroutine:count",
	"memory:alloc_objects:count:space:bytes",
	"memory:alloc_space:bytes:space:bytes",
	"memory:inuse_objects:count:space:bytes",
	"memory:inuse_space:bytes:space:bytes",
	"mutex:contentions:count:contentions:count",
	"mutex:delay:nanoseconds:contentions:count",
	"process_cpu:cpu:nanoseconds:cpu:nanoseconds",
	"process_cpu:samples:count:cpu:nanoseconds",
}

const (
	cpuType   = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
	allocType = "memory:alloc_space:bytes:space:bytes"
	mutexType = "mutex:delay:nanoseconds:contentions:count"
)

type kindSpec struct {
	types      [][2]string
	period     [2]string
	periodVal  int64
	sampleRate string
	units      string
	agg        string
	config     string
	scope      string
}

var kindSpecs = map[uploadKind]kindSpec{
	kindCPU: {
		types: [][2]string{{"samples", "count"}, {"cpu", "nanoseconds"}}, period: [2]string{"cpu", "nanoseconds"},
		periodVal: 10_000_000, sampleRate: "100", units: "samples", agg: "sum", scope: "go",
	},
	kindHeap: {
		types:  [][2]string{{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}},
		period: [2]string{"space", "bytes"}, periodVal: 524288, sampleRate: "100", scope: "godeltaprof",
		config: `{"alloc_objects":{"units":"objects"},"alloc_space":{"units":"bytes"},"inuse_objects":{"units":"objects","aggregation":"average"},"inuse_space":{"units":"bytes","aggregation":"average"}}`,
	},
	kindMutex: {
		types: [][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}, period: [2]string{"contentions", "count"},
		periodVal: 1, sampleRate: "0", scope: "godeltaprof",
		config: `{"contentions":{"units":"lock_samples","display-name":"mutex_count"},"delay":{"units":"lock_nanoseconds","display-name":"mutex_duration"}}`,
	},
	kindBlock: {
		types: [][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}, period: [2]string{"contentions", "count"},
		periodVal: 1, sampleRate: "0", scope: "godeltaprof",
		config: `{"contentions":{"units":"lock_samples","display-name":"block_count"},"delay":{"units":"lock_nanoseconds","display-name":"block_duration"}}`,
	},
	kindGoroutine: {
		types: [][2]string{{"goroutine", "count"}}, period: [2]string{"goroutine", "count"},
		periodVal: 1, sampleRate: "0", units: "goroutines", agg: "average", scope: "go",
		config: `{"goroutine":{"units":"goroutines","aggregation":"average","display-name":"goroutine"}}`,
	},
}

// stacks used by every fixture, leaf first; values scale per sample type.
var fixtureStacks = [][]string{
	{"main.burnCPU", "main.main.func1", "runtime.goexit"},
	{"main.burnCPU", "main.work", "main.main.func1", "runtime.goexit"},
	{"runtime.mallocgc", "main.allocate", "main.main.func1", "runtime.goexit"},
	{"sync.(*Mutex).Lock", "main.contend", "main.main.func1", "runtime.goexit"},
	{"runtime.gcBgMarkWorker", "runtime.goexit"},
}

// buildProfile makes a gzipped pprof of the kind; value multiplies all
// sample values so tests can tell uploads apart.
func buildProfile(kind uploadKind, at time.Time, value int64) []byte {
	spec := kindSpecs[kind]
	p := &profile.Profile{
		PeriodType:    &profile.ValueType{Type: spec.period[0], Unit: spec.period[1]},
		Period:        spec.periodVal,
		TimeNanos:     at.UnixNano(),
		DurationNanos: int64(10 * time.Second),
	}
	for _, st := range spec.types {
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: st[0], Unit: st[1]})
	}
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x800000, File: "/app/bin", BuildID: "abc123", HasFunctions: true}
	p.Mapping = []*profile.Mapping{m}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for si, stack := range fixtureStacks {
		var sl []*profile.Location
		for _, name := range stack {
			f := funcs[name]
			if f == nil {
				f = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name, Filename: "/src/main.go", StartLine: 10}
				funcs[name] = f
				p.Function = append(p.Function, f)
			}
			l := locs[name]
			if l == nil {
				l = &profile.Location{ID: uint64(len(locs) + 1), Mapping: m, Address: 0x401000 + uint64(len(locs))*16, Line: []profile.Line{{Function: f, Line: 20}}}
				locs[name] = l
				p.Location = append(p.Location, l)
			}
			sl = append(sl, l)
		}
		vals := make([]int64, len(spec.types))
		for i := range vals {
			vals[i] = value * int64(len(fixtureStacks)-si) * int64(i+1)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: sl, Value: vals})
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// appName builds pyroscope-go's name parameter: app{tags,...} with the
// session ID and the SDK's dotted labels.
func appName(app string, tags map[string]string, kind uploadKind) string {
	parts := []string{"__session_id__=77e425ea48b3919f"}
	for k, v := range tags {
		parts = append(parts, k+"="+v)
	}
	scope := kindSpecs[kind].scope
	parts = append(parts, "otel.scope.name=com.grafana.pyroscope/"+scope, "process.runtime.name=go")
	return app + "{" + strings.Join(parts, ",") + "}"
}

// ingestRequest builds the request pyroscope-go sends for one upload.
func ingestRequest(t testing.TB, base, app string, tags map[string]string, kind uploadKind, from, until time.Time, body []byte) *http.Request {
	t.Helper()
	spec := kindSpecs[kind]
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("profile", "profile.pprof")
	_, _ = fw.Write(body)
	if spec.config != "" {
		fw, _ = mw.CreateFormFile("sample_type_config", "sample_type_config.json")
		_, _ = fw.Write([]byte(spec.config))
	}
	_ = mw.Close()
	q := url.Values{}
	q.Set("name", appName(app, tags, kind))
	q.Set("from", strconv.FormatInt(from.UnixNano(), 10))
	q.Set("until", strconv.FormatInt(until.UnixNano(), 10))
	q.Set("spyName", "gospy")
	q.Set("sampleRate", spec.sampleRate)
	q.Set("units", spec.units)
	q.Set("aggregationType", spec.agg)
	req, err := http.NewRequest(http.MethodPost, base+"/ingest?"+q.Encode(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// uploadAll sends one upload of every kind for app at time at.
func uploadAll(t testing.TB, base, app string, tags map[string]string, at time.Time, value int64) {
	t.Helper()
	for _, k := range allKinds {
		req := ingestRequest(t, base, app, tags, k, at.Add(-10*time.Second), at, buildProfile(k, at, value))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("ingest %s: %d %s", k, resp.StatusCode, b)
		}
	}
}

// startTest starts a server on loopback for one test.
func startTest(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	s, err := Run(context.Background(), WithOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// postJSON calls a Connect method with the JSON codec, as curl or Grafana
// would, returning status and body.
func postJSON(t testing.TB, base, method string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/querier.v1.QuerierService/"+method, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func ms(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
