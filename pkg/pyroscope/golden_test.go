package pyroscope

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"
	typesv1 "github.com/grafana/pyroscope/api/gen/proto/go/types/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// samplesDir holds what a real Grafana Pyroscope v2.2.1 answered, copied
// from shared/pyroscope-samples. Tests here check that the client decodes
// exactly those bytes.
const samplesDir = "testdata/real-pyroscope-v2.2.1"

func sampleFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleStatus reads the HTTP status from a sample's .headers.txt.
func sampleStatus(t testing.TB, name string) (int, string) {
	b := sampleFile(t, name+".headers.txt")
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Scan()
	f := strings.Fields(sc.Text())
	status, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("%s: bad status line %q", name, sc.Text())
	}
	ctype := ""
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok && strings.EqualFold(k, "Content-Type") {
			ctype = v
		}
	}
	return status, ctype
}

// goldenSamplesProfile derives the process_cpu:samples:count profile from
// the real CPU sample (values divided by the SDK's 10 ms period), since the
// samples hold only the CPU one; the shape is otherwise the real one.
func goldenSamplesProfile(t testing.TB) *profilev1.Profile {
	p := &profilev1.Profile{}
	if err := protojson.Unmarshal(sampleFile(t, "connectjson-SelectMergeProfile-cpu.json"), p); err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Sample {
		s.Value[0] /= 1e7
	}
	p.StringTable = append(p.StringTable, "samples", "count")
	n := int64(len(p.StringTable))
	p.SampleType[0].Type, p.SampleType[0].Unit = n-2, n-1
	return p
}

// rawGolden serves the sample files byte for byte, with their status and
// Content-Type, as a real Pyroscope answers Connect-JSON requests.
func rawGolden(t testing.TB, routes map[string]string) *httptest.Server {
	t.Helper()
	samplesJSON, err := protojson.Marshal(goldenSamplesProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			http.Error(w, "want application/json, got "+ct, http.StatusUnsupportedMediaType)
			return
		}
		method := strings.TrimPrefix(r.URL.Path, "/querier.v1.QuerierService/")
		if method == "SelectMergeProfile" && strings.Contains(string(body), samplesID) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(samplesJSON)
			return
		}
		name, ok := routes[method]
		if !ok {
			http.Error(w, `{"code":"unimplemented"}`, http.StatusNotFound)
			return
		}
		status, ctype := sampleStatus(t, name)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(sampleFile(t, name))
	}))
	t.Cleanup(srv.Close)
	return srv
}

var goldenRoutes = map[string]string{
	"ProfileTypes":       "connectjson-ProfileTypes.json",
	"LabelValues":        "connectjson-LabelValues-service_name.json",
	"SelectMergeProfile": "connectjson-SelectMergeProfile-cpu.json",
}

// goldenQuerier answers with the sample files decoded (strictly: an
// unknown field fails the test) into the generated messages, through the
// real generated handler, which then speaks whichever codec the client uses.
type goldenQuerier struct {
	querierv1connect.UnimplementedQuerierServiceHandler
	t testing.TB
}

func decodeSample[M proto.Message](t testing.TB, name string, m M) M {
	if err := protojson.Unmarshal(sampleFile(t, name), m); err != nil {
		t.Fatalf("%s does not decode into %T: %v", name, m, err)
	}
	return m
}

func (g goldenQuerier) ProfileTypes(context.Context, *connect.Request[querierv1.ProfileTypesRequest]) (*connect.Response[querierv1.ProfileTypesResponse], error) {
	return connect.NewResponse(decodeSample(g.t, goldenRoutes["ProfileTypes"], &querierv1.ProfileTypesResponse{})), nil
}

func (g goldenQuerier) LabelValues(context.Context, *connect.Request[typesv1.LabelValuesRequest]) (*connect.Response[typesv1.LabelValuesResponse], error) {
	return connect.NewResponse(decodeSample(g.t, goldenRoutes["LabelValues"], &typesv1.LabelValuesResponse{})), nil
}

func (g goldenQuerier) SelectMergeProfile(_ context.Context, req *connect.Request[querierv1.SelectMergeProfileRequest]) (*connect.Response[profilev1.Profile], error) {
	if req.Msg.ProfileTypeID == samplesID {
		return connect.NewResponse(goldenSamplesProfile(g.t)), nil
	}
	return connect.NewResponse(decodeSample(g.t, goldenRoutes["SelectMergeProfile"], &profilev1.Profile{})), nil
}

// TestGoldenShapes runs the client against the real server's answers: the
// Connect-JSON bytes verbatim (JSON codec), and the same messages through
// the generated handler with either codec.
func TestGoldenShapes(t *testing.T) {
	handlerSrv := func(t *testing.T) string {
		mux := http.NewServeMux()
		mux.Handle(querierv1connect.NewQuerierServiceHandler(goldenQuerier{t: t}))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name string
		url  func(t *testing.T) string
		opts []Option
	}{
		{"raw Connect-JSON bytes", func(t *testing.T) string { return rawGolden(t, goldenRoutes).URL }, []Option{WithConnectJSON()}},
		{"handler, JSON codec", handlerSrv, []Option{WithConnectJSON()}},
		{"handler, protobuf codec", handlerSrv, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.url(t), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			from, until := time.Unix(1795709946, 0), time.Unix(1795709956, 0)

			types, err := c.ProfileTypes(ctx, from, until)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, id := range types {
				ids = append(ids, id.String())
			}
			if len(ids) != 11 || !slices.Contains(ids, cpuID) || !slices.Contains(ids, samplesID) || !slices.Contains(ids, "mutex:delay:nanoseconds:contentions:count") {
				t.Errorf("profile types = %v", ids)
			}

			svcs, err := c.Services(ctx, from, until, Selector{})
			if err != nil || len(svcs) != 1 || svcs[0] != "smoke-app" {
				t.Errorf("services = %v, %v", svcs, err)
			}

			p, err := c.MergedProfile(ctx, cpuID, `{service_name="smoke-app"}`, from, until)
			if err != nil {
				t.Fatal(err)
			}
			if p == nil || len(p.SampleType) != 1 || p.SampleType[0].Type != "cpu" || p.SampleType[0].Unit != "nanoseconds" || p.Period != 1e9 || len(p.Sample) != 50 {
				t.Fatalf("merged profile: %v", p)
			}

			res, err := c.Collect(ctx, Query{From: from, Until: until, Window: 10 * time.Second, Types: mustTypes(t, "cpu")})
			if err != nil {
				t.Fatal(err)
			}
			se := res.Snapshot.Lookup("smoke-app", cpuID)
			if se == nil || len(se.Windows) != 1 {
				t.Fatalf("series: %+v, missing %v", se, res.Missing)
			}
			w := se.Windows[0]
			burn := functionIndex(se, "main.smokeBurnCPU")
			if burn < 0 || w.Cum.Get(burn) == 0 {
				t.Errorf("main.smokeBurnCPU not in the series")
			}
			if w.Period != 1e7 || w.Samples != w.Total/1e7 {
				t.Errorf("period %d samples %d total %d; want the 100 Hz period recovered", w.Period, w.Samples, w.Total)
			}
		})
	}
}

// TestGoldenError: the real server's 400 for a label query without a time
// range decodes to a typed error with its code, status and message, and is
// not retried.
func TestGoldenError(t *testing.T) {
	srv := rawGolden(t, map[string]string{"LabelValues": "connectjson-LabelNames-notime.json"})
	c, _ := New(srv.URL, WithConnectJSON(), WithRetry(3, time.Millisecond))
	_, err := c.Services(context.Background(), time.Unix(1, 0), time.Unix(2, 0), Selector{})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if pe.Code != connect.CodeInvalidArgument || pe.Status != 400 || pe.Attempts != 1 ||
		!strings.HasSuffix(err.Error(), "LabelValues failed (invalid_argument, HTTP 400): missing time range in the query") {
		t.Errorf("err = %v (%+v)", err, pe)
	}
}
