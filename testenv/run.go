package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/pyroscope"
	"github.com/profdiff/profdiff/pkg/rules"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
)

// LoadOptions size a load run.
type LoadOptions struct {
	// Rate is the total request rate per second over all services
	// (default DefaultRate). It is fixed (open loop), so both sides of a
	// comparison see the same load.
	Rate float64
	// Duration of the measured part of the run (default DefaultDuration).
	Duration time.Duration
	// Warmup is load driven before measuring starts, so caches, pools and
	// the first partial upload are not measured (default one upload interval).
	Warmup time.Duration
	// Concurrency bounds requests in flight (default: loadgen's).
	Concurrency int
	// Seed makes the request mix reproducible (default 1).
	Seed uint64
	// Arrivals spaces the requests (default loadgen.ArrivalsPoisson, which
	// keeps the CPU profiles from aliasing with the kernel tick).
	Arrivals loadgen.Arrivals
}

// Defaults of a load run, sized for a 2-core machine running all seven
// services: see docs/verdict-quality.md for how they were chosen.
const (
	DefaultRate     = 500
	DefaultDuration = 60 * time.Second
	// DefaultMinSamples is the fewest sampling events a series may have to
	// be gated by the harness. At 100 Hz a service that gets a few percent
	// of a core yields a few hundred CPU samples a minute: enough to see
	// +50% in a 10% hot spot, which is what the harness promises; each
	// report states the smallest change it could have detected.
	DefaultMinSamples = 300
)

// WithDefaults returns the load options with every default filled in as a
// stack whose windows are upload long fills them (Options.UploadInterval):
// the load every run of these options drives.
func (o LoadOptions) WithDefaults(upload time.Duration) LoadOptions {
	o.setDefaults(upload)
	return o
}

func (o *LoadOptions) setDefaults(upload time.Duration) {
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Warmup == 0 {
		o.Warmup = upload
	}
}

// DriveLoad runs the load generator against every running service for the
// options' warm-up plus duration.
func (s *Stack) DriveLoad(ctx context.Context, o LoadOptions) (*loadgen.Result, error) {
	o.setDefaults(s.opts.UploadInterval)
	return loadgen.Run(ctx, loadgen.Config{
		Targets:          s.ServiceURLs(),
		Rate:             o.Rate,
		Concurrency:      o.Concurrency,
		Duration:         o.Warmup + o.Duration,
		Seed:             o.Seed,
		Arrivals:         o.Arrivals,
		Progress:         s.progress,
		ProgressInterval: 10 * time.Second,
	})
}

// Measurement is one load run and the profiles collected over it.
type Measurement struct {
	Load *loadgen.Result
	// Rate is the request rate the load asked for.
	Rate        float64
	From, Until time.Time
	Collected   *pyroscope.Result
}

// Snapshot is the collected snapshot.
func (m *Measurement) Snapshot() *baseline.Snapshot { return m.Collected.Snapshot }

// Measure drives load, waits for the profiles of the measured part to
// arrive, and collects them. The measured range is the load run without its
// warm-up, cut to whole upload windows.
func (s *Stack) Measure(ctx context.Context, o LoadOptions, types []profiletype.ID) (*Measurement, error) {
	o.setDefaults(s.opts.UploadInterval)
	start := time.Now()
	res, err := s.DriveLoad(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	end := start.Add(res.Elapsed)
	w := s.opts.UploadInterval
	from := alignUp(start.Add(o.Warmup), w)
	until := alignDown(end, w)
	if !until.After(from) {
		return nil, fmt.Errorf("load run of %s is too short for one %s window after a %s warm-up", res.Elapsed.Round(time.Second), w, o.Warmup)
	}
	fmt.Fprintf(s.progress, "load: %d requests, %.0f/s, %d errors; collecting %s .. %s (%d windows of %s)\n",
		res.Requests, res.Achieved, res.Errors, from.Format(time.TimeOnly), until.Format(time.TimeOnly), int(until.Sub(from)/w), w)
	col, err := s.Snapshot(ctx, from, until, types)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	col.Snapshot.Meta.Labels[gate.LoadRateLabel] = fmt.Sprint(o.Rate)
	for _, m := range col.Missing {
		fmt.Fprintf(s.progress, "no data: %s %s (%s)\n", m.Service, profiletype.MustAlias(m.ProfileType), m.Reason)
	}
	return &Measurement{Load: res, Rate: o.Rate, From: from, Until: until, Collected: col}, nil
}

// Gate measures the stack and compares the result with the baseline in
// baselineDir, returning the comparison. The caller turns its verdict into
// an exit status with Result.Verdict.ExitCode.
func (s *Stack) Gate(ctx context.Context, baselineDir string, o LoadOptions, gopts gate.Options) (*diff.Result, *Measurement, error) {
	base, err := baseline.Load(baselineDir)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Measure(ctx, o, seriesTypes(base))
	if err != nil {
		return nil, nil, err
	}
	r, err := judge(base, m.Snapshot(), []*Measurement{m}, s.downServices(ctx), gopts)
	if err != nil {
		return nil, nil, err
	}
	return r, m, nil
}

// judge gates the current snapshot against the baseline (pkg/gate, with
// each run's load, so a load that fell short or failed makes the verdict
// inconclusive) and makes the verdict inconclusive when services were down
// after a run: such runs measure the failure, not the build.
func judge(base, cur *baseline.Snapshot, ms []*Measurement, down []string, gopts gate.Options) (*diff.Result, error) {
	for _, m := range ms {
		gopts.Loads = append(gopts.Loads, m.gateLoad())
	}
	r, err := gate.Compare(base, onlyBaselineSeries(cur, base), gopts)
	if err != nil {
		return nil, err
	}
	if len(down) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("services not answering /health after the run: %s; the run does not measure the build, so the verdict is inconclusive", strings.Join(down, ", ")))
		r.Verdict = diff.Inconclusive
	}
	return r, nil
}

// Judge gates a kept current snapshot against the baseline as Stack.Gate
// and GateRuns do, without the checks that need the live runs (their load,
// the services' health): a calibration judges its kept runs again with it
// under other rules.
func Judge(base, cur *baseline.Snapshot, gopts gate.Options) (*diff.Result, error) {
	return judge(base, cur, nil, nil, gopts)
}

// gateLoad describes the measurement's load run for the gate.
func (m *Measurement) gateLoad() gate.Load {
	if m.Load == nil {
		return gate.Load{}
	}
	l := gate.Load{Rate: m.Rate, Achieved: m.Load.Achieved, Requests: m.Load.Requests, Errors: m.Load.Errors, ErrorsByService: map[string]int{}}
	for _, e := range m.Load.Endpoints {
		l.ErrorsByService[e.Service] += e.Errors
	}
	return l
}

// measureRuns starts a fresh stack runs times, measures each once (the
// profile types in types; nil for all) and merges the runs into one
// snapshot whose windows are numbered by run. down lists the services that
// did not answer /health after their run.
func measureRuns(ctx context.Context, opts Options, load LoadOptions, types []profiletype.ID, runs int, what string) (merged *baseline.Snapshot, ms []*Measurement, down []string, err error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	var snaps []*baseline.Snapshot
	for i := range runs {
		if runs > 1 {
			fmt.Fprintf(progress, "%s run %d of %d\n", what, i+1, runs)
		}
		s, err := Start(ctx, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		m, err := s.Measure(ctx, load, types)
		if err == nil {
			down = append(down, s.downServices(ctx)...)
		}
		cerr := s.Close()
		if err != nil {
			return nil, nil, nil, err
		}
		if cerr != nil {
			return nil, nil, nil, cerr
		}
		snaps = append(snaps, m.Snapshot())
		ms = append(ms, m)
	}
	merged, err = baseline.MergeRuns(snaps...)
	if err != nil {
		return nil, nil, nil, err
	}
	return merged, ms, down, nil
}

// GateRuns measures the build over runs independent runs, each on a stack
// started afresh as a baseline's runs are, merges them (baseline.MergeRuns)
// and compares the merged snapshot with the baseline in baselineDir.
//
// Why more than one: a function's value in a process's profile moves from
// one start to the next by more than its windows show (about ±19% for the
// fraud service's rule matching in its CPU profile on the 2-core machine of
// docs/verdict-quality.md), and one run carries that move in full whatever
// its length. The mean of J runs carries a J-th of its variance. runs < 2
// is one run, as Stack.Gate.
func GateRuns(ctx context.Context, opts Options, baselineDir string, o LoadOptions, gopts gate.Options, runs int) (*diff.Result, error) {
	res, _, _, err := GateRunsMeasured(ctx, opts, baselineDir, o, gopts, runs)
	return res, err
}

// GateRunsMeasured is GateRuns, also returning the current side it judged
// (the runs merged) and the runs' measurements: what a calibration keeps
// for Judge to judge again, and counts the load by.
func GateRunsMeasured(ctx context.Context, so Options, dir string, load LoadOptions, gopts gate.Options, runs int) (*diff.Result, *baseline.Snapshot, []*Measurement, error) {
	if runs > 1 {
		base, err := baseline.Load(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		cur, ms, down, err := measureRuns(ctx, so, load, seriesTypes(base), runs, "gate")
		if err != nil {
			return nil, nil, nil, err
		}
		res, err := judge(base, cur, ms, down, gopts)
		return res, cur, ms, err
	}
	s, err := Start(ctx, so)
	if err != nil {
		return nil, nil, nil, err
	}
	defer s.Close()
	res, m, err := s.Gate(ctx, dir, load, gopts)
	if err != nil {
		return nil, nil, nil, err
	}
	return res, m.Snapshot(), []*Measurement{m}, nil
}

// downServices lists the stack's services that do not answer /health.
func (s *Stack) downServices(ctx context.Context) []string {
	hc := &http.Client{Timeout: 3 * time.Second}
	var down []string
	for _, name := range s.opts.Services {
		url := s.impl.allServiceURLs()[name]
		if url == "" || getOK(ctx, hc, url+"/health") != nil {
			down = append(down, name)
		}
	}
	return down
}

// MaxLoadErrorRate is the share of failed requests above which a load run
// does not measure the build (gate.MaxLoadErrorRate).
const MaxLoadErrorRate = gate.MaxLoadErrorRate

// seriesTypes lists the profile types a baseline holds, so the current side
// collects the same ones.
func seriesTypes(snap *baseline.Snapshot) []profiletype.ID {
	var out []profiletype.ID
	seen := map[string]bool{}
	for _, se := range snap.Series {
		if seen[se.ProfileType] {
			continue
		}
		seen[se.ProfileType] = true
		if id, err := profiletype.ParseID(se.ProfileType); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// GateOptions are the gate the harness judges with: the one gate
// (pkg/gate) and its defaults, with the bank stack's own rules
// (HarnessRules) on top. Values are compared as rates per second, as the
// gate does for two sides measured under the same fixed load: the harness's
// load is open loop at one rate, and it labels its snapshots with it.
func GateOptions() gate.Options {
	o, err := GateOptionsWithRules("", "")
	if err != nil {
		panic("testenv: HarnessRules: " + err.Error()) // generated from bank.Hotspots: caught by the tests
	}
	return o
}

// GateOptionsWithRules are GateOptions with the rules file rulesYAML (named
// name in errors) in place of HarnessRules; "" means HarnessRules. It is how
// a calibration tries other rules on the same runs.
func GateOptionsWithRules(rulesYAML, name string) (gate.Options, error) {
	if rulesYAML == "" {
		rulesYAML, name = HarnessRules, "harness rules"
	}
	var o gate.Options
	o.Params.MinSamples = DefaultMinSamples
	r, err := rules.Parse([]byte(rulesYAML), name)
	if err != nil {
		return o, err
	}
	o.Rules = r
	return o, nil
}

// HarnessDiffOptions are the comparison options gopts amount to for two
// sides measured under the harness's fixed load (gate.DiffOptions of two
// snapshots labelled with DefaultRate), which are the sides every gate of
// the harness compares: what a calibration records and analyses its runs
// with.
func HarnessDiffOptions(gopts gate.Options) (diff.Options, error) {
	fixed := &baseline.Snapshot{Meta: baseline.Meta{Labels: map[string]string{gate.LoadRateLabel: fmt.Sprint(DefaultRate)}}}
	return gate.DiffOptions(fixed, fixed, gopts)
}

// onlyBaselineSeries keeps the current series the baseline has. The harness
// collects every service's types and the baseline left out, on purpose,
// those too thin to judge (see Prune); comparing them would only repeat that
// they are not gated.
func onlyBaselineSeries(cur, base *baseline.Snapshot) *baseline.Snapshot {
	out := &baseline.Snapshot{Meta: cur.Meta}
	for _, se := range cur.Series {
		if base.Lookup(se.Service, se.ProfileType) != nil {
			out.Put(se)
		}
	}
	return out
}

// HarnessRules is the rules file (pkg/rules format) the harness gates with,
// over the gate's defaults (gate.DefaultRules), when the user gives none.
// It holds what is particular to the bank stack: the lock and block series
// of services that hold no lock on purpose are not gated. Their lock
// profiles are net/http's and the runtime's own locks at one or two
// contentions a second, which double or halve from one run of the same
// build to the next (measured here), so no honest threshold gates them;
// the services with a lock hot spot (bank.Hotspots) are gated on theirs.
var HarnessRules = harnessRules()

func harnessRules() string {
	lock := map[string]bool{}
	for _, h := range bank.Hotspots {
		if strings.HasPrefix(h.Profile, "mutex") || strings.HasPrefix(h.Profile, "block") {
			lock[h.Service] = true
		}
	}
	var b strings.Builder
	b.WriteString("version: 1\nignore:\n")
	for _, si := range bank.Services {
		svc := si.Name
		if lock[svc] {
			continue
		}
		fmt.Fprintf(&b, "  - service: %s\n    type: [lock, block]\n    reason: no lock hot spot; its few incidental contentions vary too much between runs to gate\n", svc)
	}
	return b.String()
}

// DefaultGateRuns is how many fresh stacks the harness measures a build
// over against a baseline (bankstack gate, calibrate), each for the load's
// Duration: one, for a minute. Two stacks of 30 s each (bankstack gate
// --runs 2 --duration 30s) see as many samples and carry half a process
// start's drift, which helped CPU, but allocation profiles need the longer
// run: a fresh process's first allocation window reads low, one window in
// five of a 30 s run against one in eleven, and the allocation hot spot at
// +50% was named in 6 of 10 two-run trials against 10 of 10 one-run trials
// (docs/verdict-quality.md). Two runs of 60 s stated lower minimum
// detectable effects for every hot spot, at twice the load.
const DefaultGateRuns = 1

// DefaultBaselineRuns is how many independent runs a harness baseline is
// recorded over (see baseline.MergeRuns); the comparison widens each
// function's uncertainty by how much it moves between them. Two runs show
// that movement but estimate it with one degree of freedom: a lucky pair
// hides a function that wanders (a lock caller moved -18%, +27%, -4%, -4%
// over four runs here) and an unlucky one blinds the gate (a CPU hot spot's
// stated MDE was 82% after one). Four were not enough either: a fraud
// baseline's four processes spread ±13.5% where the runs after them spread
// ±7%, and against it the CPU hot spot at +50% was named in 0 of 10 runs
// (stated MDE 108%); the same runs against eight (those four and four
// more) named it in 9 of 10 (MDE 61%), with no A/A run failing
// (docs/verdict-quality.md). A baseline is recorded once and gates every
// build after it, so its four extra minutes are paid once.
const DefaultBaselineRuns = 8

// RecordBaseline starts a fresh stack runs times, measures each once, and
// merges the runs into one baseline, leaving out the series too thin to
// gate (see Prune; the reasons are returned).
func RecordBaseline(ctx context.Context, opts Options, load LoadOptions, runs int) (*baseline.Snapshot, []string, error) {
	if runs < 1 {
		runs = DefaultBaselineRuns
	}
	merged, _, _, err := measureRuns(ctx, opts, load, nil, runs, "baseline")
	if err != nil {
		return nil, nil, err
	}
	merged.Meta.Labels["baseline_runs"] = fmt.Sprint(runs)
	return gate.Prune(merged, GateOptions())
}

// runsIn counts the independent runs a snapshot's windows come from.
func runsIn(snap *baseline.Snapshot) int { return gate.Runs(snap) }
