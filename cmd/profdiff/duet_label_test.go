package main

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/pyroscope-go"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/profstore"
	pc "github.com/profdiff/profdiff/pkg/pyroscope"
)

// labelFixture is an embedded Pyroscope holding one service's CPU profiles
// of three versions over the same six 10 s windows: base, aa (the same
// build, fresh samples) and pr (the fraud function 1.5x hotter).
func newLabelFixture(t *testing.T) *pyroFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := profstore.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	m := gen.NewModel(21, 120)
	hot := m.Closest(0.06)
	m.Rename(hot, fraudFn, "fraud.go")
	t0 := time.Now().Add(-10 * time.Minute).Truncate(10 * time.Second)
	rng := rand.New(rand.NewPCG(8, 9))
	for _, v := range []struct {
		version string
		model   *gen.Model
	}{{"base", m}, {"aa", m}, {"pr", m.Scale(hot, 1.5)}} {
		for i := range 6 {
			ingest(t, srv.URL(), "bank-fraud-service", map[string]string{"version": v.version, "env": "ci"}, v.model, rng, t0.Add(time.Duration(i)*10*time.Second), 10*time.Second, 3000)
		}
	}
	return &pyroFixture{url: srv.URL(), t0: t0}
}

// TestDuetByLabel: both sides collected from one Pyroscope over the same
// range, differing only by selector, and judged by the one gate: an A/A by
// label passes, a version with a hotter function fails naming it, and the
// report says how the sides were collected and which window was used.
func TestDuetByLabel(t *testing.T) {
	f := newLabelFixture(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
	}{
		{"A/A by label passes", []string{"--baseline-selector", `{version="base"}`, "--selector", `{version="aa"}`}, 0,
			[]string{"PASS", "note: duet by label: both sides collected over the same 6 windows, the baseline with {version=\"base\"}", "unpaired (the gate pairs runs", "note: window 10s, detected"}},
		{"a hotter function fails, named", []string{"--baseline-selector", `{version="base"}`, "--selector", `{version="pr"}`}, 1, []string{fraudShort, "REGRESSION"}},
		{"profilecli's names", []string{"--baseline-selector", `{version="base"}`, "--query", `{version="pr"}`}, 1, []string{fraudShort}},
		{"without braces", []string{"--baseline-selector", `version="base"`, "--selector", `version="aa"`}, 0, []string{"PASS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"compare", "--url", f.url, "--from", f.at(0), "--until", f.at(time.Minute), "--type", "cpu"}, tt.args...)
			code, stdout, stderr := cli(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, want := range tt.inStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
	// The JSON report carries the notes, and the sides are not labelled as
	// paired runs.
	out := filepath.Join(t.TempDir(), "r.json")
	if code, _, stderr := cli(t, "compare", "--pyroscope", f.url, "--from", f.at(0), "--until", f.at(time.Minute), "--type", "cpu",
		"--baseline-selector", `{version="base"}`, "--selector", `{version="pr"}`, "--format", "json="+out); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(out)
	var r struct {
		Notes  []string `json:"notes"`
		Paired bool     `json:"paired"`
	}
	if err := json.Unmarshal(data, &r); err != nil || len(r.Notes) != 2 || r.Paired {
		t.Errorf("notes %q, paired %v, %v", r.Notes, r.Paired, err)
	}
}

// The duet workers' functions: a base build spends its CPU in duetParse
// and duetScore; the candidate build also burns three times the work in
// duetInjected. Each is its own non-inlined function, so profiles name it.

//go:noinline
func duetSpin(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func duetParse() uint64 { return duetSpin(300_000) }

//go:noinline
func duetScore() uint64 { return duetSpin(200_000) }

//go:noinline
func duetInjected() uint64 { return duetSpin(300_000) }

// TestHelperDuetWorker is the child process of TestDuetByLabelSDK: the real
// pyroscope-go SDK pushing the CPU profile of a busy loop, one upload a
// second, labelled with PROFDIFF_DUET_VERSION, until the file
// PROFDIFF_DUET_STOP exists (or 90 s passed).
func TestHelperDuetWorker(t *testing.T) {
	addr := os.Getenv("PROFDIFF_DUET_SERVER")
	if addr == "" {
		t.Skip("only runs as a child of TestDuetByLabelSDK")
	}
	version := os.Getenv("PROFDIFF_DUET_VERSION")
	inject := os.Getenv("PROFDIFF_DUET_INJECT") != ""
	stop := os.Getenv("PROFDIFF_DUET_STOP")
	prof, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: "duet-app",
		ServerAddress:   addr,
		UploadRate:      time.Second,
		Tags:            map[string]string{"version": version, "env": "duet"},
		ProfileTypes:    []pyroscope.ProfileType{pyroscope.ProfileCPU},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sink uint64
	for end := time.Now().Add(90 * time.Second); time.Now().Before(end); {
		for range 20 {
			sink += duetParse() + duetScore()
			if inject {
				sink += duetInjected()
			}
		}
		if _, err := os.Stat(stop); err == nil {
			break
		}
	}
	prof.Stop()
	if sink == 42 {
		t.Log(sink)
	}
	os.Exit(0)
}

// TestDuetByLabelSDK: three processes of one service, each the real
// pyroscope-go SDK pushing to the embedded Pyroscope at the same time —
// versions base and aa (the same code) and pr (with an injected hot
// function) — are compared by label over the same range: the A/A passes,
// the injected function fails, named. The processes run until each
// version has enough samples, however busy the machine. It also measures
// what pairing the two sides' windows could gain: how the two versions'
// per-window values move together over the same wall-clock windows.
func TestDuetByLabelSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three SDK processes for 15 s or more")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := profstore.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	stopFile := filepath.Join(t.TempDir(), "stop")
	start := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(start))
	var wg sync.WaitGroup
	for _, v := range []struct {
		version string
		inject  bool
	}{{"base", false}, {"aa", false}, {"pr", true}} {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperDuetWorker$")
		cmd.Env = append(os.Environ(), "PROFDIFF_DUET_SERVER="+srv.URL(), "PROFDIFF_DUET_VERSION="+v.version, "PROFDIFF_DUET_STOP="+stopFile)
		if v.inject {
			cmd.Env = append(cmd.Env, "PROFDIFF_DUET_INJECT=1")
		}
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("worker %s: %v\n%s", v.version, err, out)
			}
		})
	}
	c, err := pc.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := profiletype.Parse("cpu")
	// Leave out the first two seconds (start-up); stop once every version
	// has 800 samples in whole seconds behind the last upload.
	from := start.Add(2 * time.Second)
	var until time.Time
	samples := func(sel string, until time.Time) int64 {
		res, err := c.Collect(ctx, pc.Query{From: from, Until: until, Window: until.Sub(from), Types: cpu, Selector: pc.MustParseSelector(sel)})
		if err != nil || len(res.Snapshot.Series) == 0 {
			return 0
		}
		return res.Snapshot.Series[0].Windows[0].Samples
	}
	for deadline := time.Now().Add(80 * time.Second); ; {
		time.Sleep(2 * time.Second)
		until = time.Now().Add(-3 * time.Second).Truncate(time.Second)
		n := min(samples(`{version="base"}`, until), samples(`{version="aa"}`, until), samples(`{version="pr"}`, until))
		if n >= 800 || time.Now().After(deadline) {
			t.Logf("%s of profiles, %d samples on the thinnest side", until.Sub(from), n)
			break
		}
	}
	os.WriteFile(stopFile, nil, 0o644)
	wg.Wait()
	at := func(ts time.Time) string { return ts.Format(time.RFC3339Nano) }
	for _, tt := range []struct {
		name, sel string
		code      int
		want      string
	}{
		{"A/A by label", `{version="aa"}`, 0, "PASS"},
		{"injected function", `{version="pr"}`, 1, "duetInjected"},
	} {
		code, stdout, stderr := cli(t, "compare", "--pyroscope", srv.URL(), "--from", at(from), "--until", at(until), "--type", "cpu",
			"--baseline-selector", `{version="base"}`, "--selector", tt.sel, "--full-names")
		t.Logf("%s: exit %d\n%s", tt.name, code, stdout)
		if code != tt.code || !strings.Contains(stdout, tt.want) || !strings.Contains(stdout, ", detected: the services' profiles arrive every") {
			t.Errorf("%s: exit %d, want %d and %q and a detected window\nstdout:\n%s\nstderr: %s", tt.name, code, tt.code, tt.want, stdout, stderr)
		}
	}

	// What pairing by window could gain: the correlation, over the same
	// windows, of the two versions' per-window totals (the CPU the machine
	// gave each) and of a function's per-window share (what the gate
	// compares).
	q := pc.Query{From: from, Until: until, Types: cpu, Selector: pc.MustParseSelector(`{version="base"}`)}
	w, _, err := c.UploadInterval(ctx, q)
	if err != nil || w == 0 {
		t.Fatalf("upload interval: %v, %v", w, err)
	}
	side := func(sel string) *baseline.Series {
		res, err := c.Collect(ctx, pc.Query{From: from, Until: until, Window: w, Types: cpu, Selector: pc.MustParseSelector(sel)})
		if err != nil || len(res.Snapshot.Series) != 1 {
			t.Fatalf("collect %s: %v", sel, err)
		}
		return res.Snapshot.Series[0]
	}
	b, a := side(`{version="base"}`), side(`{version="aa"}`)
	totals := func(se *baseline.Series) map[int64]float64 {
		out := map[int64]float64{}
		for _, w := range se.Windows {
			out[w.Start.Unix()] = float64(w.Total)
		}
		return out
	}
	shares := func(se *baseline.Series, fn string) map[int64]float64 {
		out := map[int64]float64{}
		for i, f := range se.Functions {
			if strings.HasSuffix(f.Name, fn) {
				for _, w := range se.Windows {
					out[w.Start.Unix()] = float64(w.Cum.Get(int32(i))) / float64(w.Total)
				}
			}
		}
		return out
	}
	rt, nt := correlation(totals(b), totals(a))
	rs, ns := correlation(shares(b, ".duetParse"), shares(a, ".duetParse"))
	t.Logf("same %s windows, base vs aa: per-window CPU totals r = %.2f (%d windows); per-window share of duetParse r = %.2f (%d windows)", w, rt, nt, rs, ns)
}

// correlation is Pearson's r over the keys both maps have, and how many.
func correlation(x, y map[int64]float64) (float64, int) {
	var xs, ys []float64
	for k, v := range x {
		if w, ok := y[k]; ok {
			xs, ys = append(xs, v), append(ys, w)
		}
	}
	n := float64(len(xs))
	if n < 3 {
		return math.NaN(), len(xs)
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i]/n, my+ys[i]/n
	}
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy), len(xs)
}
