package profstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/google/pprof/profile"

	querierv1 "github.com/grafana/pyroscope/api/gen/proto/go/querier/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/querier/v1/querierv1connect"

	"github.com/profdiff/profdiff/pkg/profstore"
)

// A test starts the server on a random loopback port, points an SDK (here:
// a raw pprof upload) at srv.URL(), and reads back with the real client.
func Example() {
	ctx := context.Background()
	srv, err := profstore.Run(ctx)
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// A one-sample Go-style CPU profile, uploaded as raw pprof.
	fn := &profile.Function{ID: 1, Name: "main.work"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10_000_000,
		Sample:   []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{3, 30_000_000}}},
		Location: []*profile.Location{loc}, Function: []*profile.Function{fn},
		TimeNanos: time.Now().UnixNano(),
	}
	var buf bytes.Buffer
	_ = p.Write(&buf)
	resp, err := http.Post(srv.URL()+"/ingest?format=pprof&spyName=gospy&name=demo{env=dev}", "application/octet-stream", &buf)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	c := querierv1connect.NewQuerierServiceClient(http.DefaultClient, srv.URL())
	types, err := c.ProfileTypes(ctx, connect.NewRequest(&querierv1.ProfileTypesRequest{}))
	if err != nil {
		panic(err)
	}
	for _, t := range types.Msg.ProfileTypes {
		fmt.Println(t.ID)
	}
	fmt.Println(srv.Stats().Services["demo"]["process_cpu:cpu:nanoseconds:cpu:nanoseconds"].Uploads)
	// Output:
	// process_cpu:cpu:nanoseconds:cpu:nanoseconds
	// process_cpu:samples:count:cpu:nanoseconds
	// 1
}
