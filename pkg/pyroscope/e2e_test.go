package pyroscope_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/pyroscope-go"

	"github.com/profdiff/profdiff/internal/workload"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/profstore"
	pc "github.com/profdiff/profdiff/pkg/pyroscope"
)

// TestEndToEndSDK: the real pyroscope-go SDK pushes to the embedded server
// (with basic auth and a tenant required), WaitForRange waits until the
// last window is queryable, and Collect returns series with the busy
// function in them and the true CPU period.
func TestEndToEndSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real SDK for about 5 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := profstore.Run(ctx,
		profstore.WithBasicAuth("profdiff", "e2e-secret"), profstore.WithRequireTenant(),
		profstore.WithQueryDelay(500*time.Millisecond), // like the real server's ingestion delay
	)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	const app = "pyroscope-e2e-app"
	prev := runtime.SetMutexProfileFraction(5)
	defer runtime.SetMutexProfileFraction(prev)
	start := time.Now().Truncate(time.Second)
	prof, err := pyroscope.Start(pyroscope.Config{
		ApplicationName:   app,
		ServerAddress:     srv.URL(),
		BasicAuthUser:     "profdiff",
		BasicAuthPassword: "e2e-secret",
		TenantID:          "team-e2e",
		UploadRate:        time.Second,
		Tags:              map[string]string{"env": "e2e", "version": "v2"},
		ProfileTypes: []pyroscope.ProfileType{pyroscope.ProfileCPU, pyroscope.ProfileAllocObjects,
			pyroscope.ProfileAllocSpace, pyroscope.ProfileMutexCount, pyroscope.ProfileMutexDuration},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); workload.Spin(stop) }()
	go func() { defer wg.Done(); workload.Contend(stop, 3, 100*time.Microsecond, 128<<10) }()
	defer func() {
		close(stop)
		wg.Wait()
		prof.Stop()
	}()

	c, err := pc.New(srv.URL(), pc.WithBasicAuth("profdiff", "e2e-secret"), pc.WithTenant("team-e2e"))
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := profiletype.Parse("cpu")
	if err := c.WaitForData(ctx, []string{app}, cpu, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	q := pc.Query{
		From: start, Until: start.Add(4 * time.Second), Window: 2 * time.Second,
		Types:    profiletype.Default(),
		Selector: pc.MustParseSelector(`{version="v2"}`),
	}
	if err := c.WaitForRange(ctx, q, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := c.Collect(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Snapshot.Validate(); err != nil {
		t.Fatal(err)
	}
	se := res.Snapshot.Lookup(app, cpu[0].String())
	if se == nil {
		t.Fatalf("no CPU series; missing %v", res.Missing)
	}
	found := false
	for i, f := range se.Functions {
		if strings.HasSuffix(f.Name, "/internal/workload.Spin") {
			found = true
			var self int64
			for _, w := range se.Windows {
				self += w.Self.Get(int32(i))
			}
			if self == 0 {
				t.Errorf("%s has no self time", f.Name)
			}
		}
	}
	if !found {
		t.Errorf("workload.Spin not in the CPU series (%d functions)", len(se.Functions))
	}
	for _, w := range se.Windows {
		if w.Period != 1e7 {
			t.Errorf("window %s: period %d, want 1e7 (100 Hz)", w.Start, w.Period)
		}
	}
	if len(se.Windows) < 1 || len(se.Windows) > 2 {
		t.Errorf("%d CPU windows, want 1 or 2", len(se.Windows))
	}
	for _, alias := range []string{"alloc_space", "mutex_delay"} {
		id, _ := profiletype.Parse(alias)
		if res.Snapshot.Lookup(app, id[0].String()) == nil {
			t.Errorf("no %s series; missing %v", alias, res.Missing)
		}
	}
	t.Logf("collected %d series; missing %v", len(res.Snapshot.Series), res.Missing)
}
