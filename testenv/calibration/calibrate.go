// Package calibration measures the quality of the bank-stack harness's
// verdicts on the real stack: how often a run of the same build against the
// baseline (A/A) is called a regression, and how often an injected
// regression is found and named. It is what docs/verdict-quality.md is made
// from.
//
// One baseline is recorded (pruned as `bankstack baseline` prunes it); then
// every run starts a fresh stack, drives the same fixed load, and gates it
// against that baseline with the harness's gate. A/A runs inject nothing; A/B runs
// inject every chosen hot spot at once with the same factor. The hot spots
// live in different services, so an A/B run yields one trial per hot spot,
// and the series of the services nothing was injected into are A/A trials
// too ("bystanders"; they share the machine with the injected services, so
// they are a slightly harder A/A test than a pure A/A run).
//
// Runs are interleaved (A/A, then one run per magnitude, repeated) so a run
// stopped by MaxTime leaves every condition about equally sampled, and slow
// drift of the machine spreads over all of them.
//
// Calibration sits on the harness's public API (package testenv): the
// stacks, their load and gate, duets. `bankstack calibrate` runs it;
// `--from-json` reprints a calibration's tables and `--replay` judges its
// kept runs again.
package calibration

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
	"github.com/profdiff/profdiff/testenv"
)

// Options configure Calibrate.
type Options struct {
	// AA is the number of A/A runs (same build as the baseline).
	AA int
	// Runs is the number of runs per magnitude.
	Runs int
	// Magnitudes are the injection factors, e.g. 1.5 for +50% work.
	Magnitudes []float64
	// MagnitudeRuns, when set, gives the number of runs per magnitude
	// (same length as Magnitudes; 0 means Runs).
	MagnitudeRuns []int
	// Hotspots are injection names from bank.Hotspots, each in a different
	// service (default DefaultHotspots).
	Hotspots []string
	// Stack is the template of every run's stack; its Inject is set per run.
	Stack testenv.Options
	// Load is every run's load, the baseline's included.
	Load testenv.LoadOptions
	// MaxTime bounds the whole calibration; no run is started that would
	// not finish within it (estimated from the slowest run so far), and one
	// still running when it expires is abandoned. 0 means no bound.
	MaxTime time.Duration
	// Progress receives one line per run; nil discards.
	Progress io.Writer
	// StackProgress receives the stacks' own progress lines; nil discards.
	StackProgress io.Writer
	// BaselineRuns is how many runs the baseline is recorded over (default
	// 1; the harness's own default, and bankstack calibrate's, is
	// testenv.DefaultBaselineRuns; with more than one run the comparison
	// widens its uncertainty by the variation between them).
	BaselineRuns int
	// BaselineDir is where the baseline is written (default a temporary
	// directory, removed at the end).
	BaselineDir string
	// Rules is the rules file (YAML text) the runs are gated with; ""
	// means testenv.HarnessRules, the harness's own.
	Rules string
	// Baseline, when set, is an existing baseline directory every run is
	// gated against; nothing is recorded (BaselineRuns and BaselineDir are
	// not used). The short verdict-quality test shares the end-to-end
	// tests' baseline this way.
	Baseline string
	// KeepDir, when set, keeps what every run measured: the baseline in
	// KeepDir/baseline and each run's current snapshot in KeepDir/run-NNN
	// (about 0.4 MB a run). Replay then re-gates the kept runs with other
	// comparison options in seconds, without starting a stack: the
	// statistics can be tuned offline against real runs.
	KeepDir string
	// GateRuns is how many fresh stacks each A/A or A/B trial is measured
	// over, merged into one current side as GateRuns does (default 1;
	// bankstack calibrate's is testenv.DefaultGateRuns, the shipped gate's).
	GateRuns int
	// GateDuration is the measured load of each of a trial's runs
	// (default Load.Duration, which the baseline's runs get); in a duet
	// calibration, each block's (default testenv.DefaultDuetBlock).
	GateDuration time.Duration
	// DuetPairs, when above 0, makes every trial a duet (testenv.Duet) of
	// that many pairs instead of a run gated against a stored baseline:
	// nothing is recorded first, and each trial measures its own base beside
	// its candidate. Both sides run the one build; an A/B trial injects into the
	// candidate only. This is how the duet gate's false alarms and
	// detection are measured on the same footing as the stored baseline's.
	DuetPairs int
	// DuetMode is the duets' mode (default testenv.DefaultDuetMode).
	DuetMode testenv.DuetMode

	duetBinary string // the build every duet runs on both sides
}

// DefaultHotspots are a CPU, an allocation and a lock hot spot,
// each in its own service.
var DefaultHotspots = []string{"fraud.rules", "notification.template", "order.batch"}

// Result is the outcome of Calibrate; its JSON form is what
// `bankstack calibrate --json` writes.
type Result struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Stopped says why the calibration ended before running every planned
	// run ("" when it completed).
	Stopped string `json:"stopped,omitempty"`
	Setup   Setup  `json:"setup"`
	// Baseline describes the baseline every run was gated against.
	Baseline Baseline `json:"baseline"`
	Runs     []*Run   `json:"runs"`
	Summary  *Summary `json:"summary"`
}

// Setup records what was measured and on what.
type Setup struct {
	AA            int       `json:"aa_runs_planned"`
	Runs          int       `json:"runs_per_magnitude_planned"`
	Magnitudes    []float64 `json:"magnitudes"`
	MagnitudeRuns []int     `json:"magnitude_runs_planned,omitempty"`
	Hotspots      []string  `json:"hotspots"`
	Backend       string    `json:"backend"`
	Rate          float64   `json:"load_rate"`
	Duration      string    `json:"load_duration"`
	Warmup        string    `json:"load_warmup"`
	// Arrivals is the load's arrival process (loadgen.Arrivals). Absent in
	// calibrations written before it was recorded, which all spaced their
	// requests evenly.
	Arrivals      string            `json:"load_arrivals,omitempty"`
	Window        string            `json:"window"`
	CPURate       int               `json:"cpu_rate_hz"`
	AllocRate     int               `json:"alloc_rate_bytes"`
	Params        diff.Params       `json:"diff_params"`
	Normalization map[string]string `json:"normalization"`
	// Rules is the harness's rules file the gate applied, if any.
	Rules        string `json:"rules,omitempty"`
	GoVersion    string `json:"go_version"`
	CPUs         int    `json:"cpus"`
	LoadAvgStart string `json:"loadavg_start,omitempty"`
	LoadAvgEnd   string `json:"loadavg_end,omitempty"`
	MaxTime      string `json:"max_time,omitempty"`
	// CurrentRuns is how many runs each gated current side was merged from
	// (Options.GateRuns, times Replay's currentRuns); 0 or 1: one run
	// each.
	CurrentRuns int `json:"current_runs,omitempty"`
	// GateDuration is the measured load of each current run when it
	// differs from the baseline's runs (Duration); "" when they are equal.
	// In a duet calibration it is each block's measured load.
	GateDuration string `json:"gate_duration,omitempty"`
	// DuetPairs and DuetMode describe a duet calibration (every trial a
	// duet of that many pairs, no stored baseline); 0 and "" otherwise.
	DuetPairs int    `json:"duet_pairs,omitempty"`
	DuetMode  string `json:"duet_mode,omitempty"`
	// MergedTrials, when above 1, says each trial of a replayed duet
	// calibration was merged from that many kept trials (Replay's
	// currentRuns), so DuetPairs counts their pairs together.
	MergedTrials int `json:"merged_trials,omitempty"`
	// StoredBaselineTrials, when above 0, says the runs were a duet
	// calibration's candidates re-gated against a stored baseline made of
	// the base sides of its first that many A/A trials (ReplayStored).
	StoredBaselineTrials int `json:"stored_baseline_trials,omitempty"`
}

// Baseline describes the calibration's baseline.
type Baseline struct {
	// Runs is how many runs the baseline was recorded over.
	Runs    int      `json:"runs,omitempty"`
	Series  int      `json:"series"`
	Dropped []string `json:"not_gated,omitempty"`
	Seconds float64  `json:"seconds"`
	// Requests and Errors were recorded by the first version (one
	// baseline run measured directly); 0 since.
	Requests int `json:"requests,omitempty"`
	Errors   int `json:"errors,omitempty"`
	// Budget is every gated series of the baseline: its windows and
	// sampling events (0 when the profile does not say, as allocation and
	// lock profiles do not). Dropped says why the others are not gated.
	Budget []SeriesBudget `json:"budget,omitempty"`
}

// SeriesBudget is the sample budget of one series of one run.
type SeriesBudget struct {
	Service string `json:"service"`
	Profile string `json:"profile_type"`
	Windows int    `json:"windows"`
	Samples int64  `json:"samples"`
	Gated   bool   `json:"gated"`
}

// Run is one gated run.
type Run struct {
	Index     int       `json:"index"`
	Kind      string    `json:"kind"` // "aa" or "ab"
	Magnitude float64   `json:"magnitude,omitempty"`
	Inject    string    `json:"inject,omitempty"`
	Started   time.Time `json:"started"`
	// Seconds is the whole run: stack start, load, collection, comparison
	// and stop.
	Seconds  float64 `json:"seconds"`
	LoadAvg  string  `json:"loadavg,omitempty"` // /proc/loadavg at the run's start
	Requests int     `json:"requests"`
	Achieved float64 `json:"achieved_rate"`
	Errors   int     `json:"errors"`
	Verdict  string  `json:"verdict"`
	// Err is why the run produced no verdict; such a run counts nowhere.
	Err    string          `json:"error,omitempty"`
	Series []*Series       `json:"series,omitempty"`
	Trials []*HotspotTrial `json:"trials,omitempty"`
	// Snapshot is the run's current snapshot under the calibration's
	// KeepDir, when it was kept (see Replay).
	Snapshot string `json:"snapshot,omitempty"`
	// BaseSnapshot is a duet trial's base side under KeepDir, when kept:
	// the reference that trial's Snapshot is judged against.
	BaseSnapshot string `json:"base_snapshot,omitempty"`
}

// The roles of a series in a run.
const (
	// RoleAA: nothing was injected into the series' service.
	RoleAA = "aa"
	// RoleTarget: the series is of an injected hot spot's service and
	// profile group (e.g. alloc_space or alloc_objects of the
	// notification service for notification.template).
	RoleTarget = "target"
	// RoleSide: another profile group of an injected service, e.g. the
	// fraud service's allocations when its rule matching does more work.
	RoleSide = "side"
)

// The classes of a regression finding.
const (
	// ClassHotspot: the injected hot spot's own function.
	ClassHotspot = "hotspot"
	// ClassRelated: in an injected service, a caller or callee of the hot
	// spot in the run's call stacks, or one of its knock-on functions
	// (bank.Hotspot.KnockOn: the GC for an allocating hot spot, the other
	// holders of its lock): the injected work shows there too.
	ClassRelated = "related"
	// ClassWrong: anything else — a false alarm.
	ClassWrong = "wrong"
)

// Series is one series of one run.
type Series struct {
	Service string `json:"service"`
	Alias   string `json:"profile_type"`
	Role    string `json:"role"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	Windows int    `json:"windows"`
	// Samples is the current run's sampling events; SamplesPerWindow is
	// Samples over Windows.
	Samples          int64   `json:"samples"`
	SamplesPerWindow float64 `json:"samples_per_window"`
	Tested           int     `json:"tested"`
	// PUp counts the tested functions (self and cumulative) whose one-sided
	// p-value for an increase is below alpha before any correction or
	// threshold: on an A/A run about alpha·Tested are expected if the
	// per-window test is calibrated; many more mean the windows of one run
	// vary less than runs do.
	PUp           int       `json:"p_up_below_alpha"`
	MinDetectable float64   `json:"min_detectable_change,omitempty"`
	Regressions   []Finding `json:"regressions,omitempty"`
	// Improvements lists the functions the gate reported as improved; on
	// an A/A run every one is false.
	Improvements []Finding `json:"improvements,omitempty"`
	// Credible lists every increase the gate finds credible (q <= alpha,
	// present in the baseline, not ignored by a rule) whatever its size,
	// and every new hot path: the findings that would be regressions at
	// any threshold up to their change. They let one calibration say what
	// every threshold would have done (Summary.Sweep). A regression
	// also needs its function at the floor in the current run; this list
	// does not check that, so it can only overstate false alarms.
	Credible []Finding `json:"credible_increases,omitempty"`
}

// Finding is one regression finding.
type Finding struct {
	Function    string  `json:"function"`
	Measure     string  `json:"measure"`
	Change      float64 `json:"change"`
	Q           float64 `json:"q"`
	ExplainedBy string  `json:"explained_by,omitempty"`
	Class       string  `json:"class"`
}

// HotspotTrial is one injected hot spot in one A/B run.
type HotspotTrial struct {
	Inject     string  `json:"inject"`
	Service    string  `json:"service"`
	Function   string  `json:"function"`
	Profile    string  `json:"profile"`               // the hot spot's profile type
	AltProfile string  `json:"alt_profile,omitempty"` // the other type of its group
	Factor     float64 `json:"factor"`
	// Detected: a regression finding (self or cumulative) of the hot spot's
	// function in its profile type; DetectedAlt: the same in the group's
	// other type.
	Detected    bool `json:"detected"`
	DetectedAlt bool `json:"detected_alt"`
	// Change is the measured change of the function in its profile type
	// (cumulative when it is tested cumulatively, else self), whether or
	// not it was detected; NaN when it was not tested (below the floor or
	// the series was inconclusive). ChangeAlt likewise for the other type.
	Change    Float `json:"change"`
	ChangeAlt Float `json:"change_alt"`
	// MinDetectable is the smallest change of the function the run says it
	// could have detected (same measure as Change); SeriesMinDetectable is
	// the series' stated one (its hottest function's).
	MinDetectable       Float `json:"min_detectable_change"`
	SeriesMinDetectable Float `json:"series_min_detectable_change"`
	// Share is the function's current mean value (share, or rate for lock
	// profiles) in its profile type, and BaselineValue the baseline's.
	Current       Float `json:"current"`
	BaselineValue Float `json:"baseline"`
	// Wrong lists regressions of other functions in the target series that
	// are not callers or callees of the hot spot; Related those that are.
	Wrong   []string `json:"wrong,omitempty"`
	Related []string `json:"related,omitempty"`
	Verdict string   `json:"series_verdict"`
	// Normalization of the hot spot's series: "share" or "rate" (per
	// second), the unit of Current and BaselineValue.
	Normalization string `json:"normalization,omitempty"`
}

// Calibrate runs the calibration. It returns what it measured also when it
// stops early (MaxTime, ctx cancelled), with Stopped saying why; the error is
// for a calibration that could not start (bad options, no baseline).
func Calibrate(ctx context.Context, o Options) (*Result, error) {
	if len(o.Hotspots) == 0 {
		o.Hotspots = DefaultHotspots
	}
	var hots []bank.Hotspot
	seenSvc := map[string]string{}
	for _, name := range o.Hotspots {
		h, ok := bank.HotspotByInject(name)
		if !ok {
			return nil, fmt.Errorf("unknown hot spot %q (known: %s)", name, strings.Join(bank.InjectNames(), ", "))
		}
		if prev, dup := seenSvc[h.Service]; dup {
			return nil, fmt.Errorf("hot spots %s and %s are both in %s; one run can judge only one per service", prev, name, h.Service)
		}
		seenSvc[h.Service] = name
		hots = append(hots, h)
	}
	for _, m := range o.Magnitudes {
		if !(m > 0) || m > bank.MaxInjectFactor || m == 1 {
			return nil, fmt.Errorf("magnitude %v: want a factor other than 1 in (0, %d]", m, bank.MaxInjectFactor)
		}
	}
	if o.AA < 0 || o.Runs < 0 {
		return nil, fmt.Errorf("negative run count")
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	if o.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(o.MaxTime))
		defer cancel()
	}
	gopts, dopts, rulesText, err := gateOptions(o.Rules)
	if err != nil {
		return nil, err
	}
	st := o.Stack
	st.Inject = ""
	st.Progress = o.StackProgress
	if o.DuetPairs > 0 && st.AllocRate == 0 {
		st.AllocRate = testenv.DefaultDuetAllocRate // as testenv.Duet would choose
	}
	probe, err := st.WithDefaults()
	if err != nil {
		return nil, err
	}
	load := o.Load.WithDefaults(probe.UploadInterval)
	gateLoad := load
	if o.GateDuration > 0 {
		gateLoad.Duration = o.GateDuration
	}
	trialRuns := max(1, o.GateRuns)
	if o.DuetPairs > 0 {
		if probe.Backend != testenv.Local {
			return nil, fmt.Errorf("a duet calibration runs on the local backend only (asked: %s)", probe.Backend)
		}
		if trialRuns > 1 {
			return nil, errors.New("a duet calibration measures each trial in its pairs of blocks; leave the gate runs at 1")
		}
		if o.GateDuration == 0 {
			gateLoad.Duration = testenv.DefaultDuetBlock
		}
		if o.DuetMode == "" {
			o.DuetMode = testenv.DefaultDuetMode
		}
		switch o.DuetMode {
		case testenv.DuetInterleaved, testenv.DuetSimultaneous, testenv.DuetReuse:
		default:
			return nil, fmt.Errorf("duet mode %q: want %s, %s or %s", o.DuetMode, testenv.DuetInterleaved, testenv.DuetSimultaneous, testenv.DuetReuse)
		}
	}
	c := &Result{Started: start}
	c.Setup = Setup{
		AA: o.AA, Runs: o.Runs, Magnitudes: o.Magnitudes, MagnitudeRuns: o.MagnitudeRuns, Hotspots: o.Hotspots,
		Backend: string(probe.Backend), Rate: load.Rate, Duration: load.Duration.String(), Warmup: load.Warmup.String(),
		Arrivals: string(cmp.Or(load.Arrivals, loadgen.ArrivalsPoisson)),
		Window:   probe.UploadInterval.String(), CPURate: probe.CPURate, AllocRate: probe.AllocRate,
		Params: dopts.Params.Merge(diff.DefaultParams()), Normalization: map[string]string{},
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), LoadAvgStart: loadAvg(),
	}
	if o.MaxTime > 0 {
		c.Setup.MaxTime = o.MaxTime.String()
	}
	if trialRuns > 1 {
		c.Setup.CurrentRuns = trialRuns
	}
	if gateLoad.Duration != load.Duration || o.DuetPairs > 0 {
		c.Setup.GateDuration = gateLoad.Duration.String()
	}
	if o.DuetPairs > 0 {
		c.Setup.DuetPairs, c.Setup.DuetMode = o.DuetPairs, string(o.DuetMode)
	}
	c.Setup.Rules = rulesText
	for id, n := range dopts.TypeNormalization {
		c.Setup.Normalization[id] = string(n)
	}
	finish := func() *Result {
		c.Finished = time.Now()
		c.Setup.LoadAvgEnd = loadAvg()
		c.Summary = c.Summarize()
		return c
	}

	tmp, err := os.MkdirTemp("", "calibrate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Every run must run the same build, also when the source tree changes
	// while the calibration runs: the services are built once and every
	// run's stack runs that binary.
	t0 := time.Now()
	var bin string
	if probe.Backend == testenv.Local && os.Getenv(testenv.BankBinaryEnv) == "" && st.WorkDir == "" {
		fmt.Fprintf(progress, "calibrate: building the services (services/cmd/bank) once for every run\n")
		if bin, err = testenv.BuildServices(ctx, "", filepath.Join(tmp, "bin")); err != nil {
			return nil, err
		}
	}
	runOpts := func(inject string) testenv.Options {
		so := st
		so.Inject = inject
		so.BankBinary = cmp.Or(so.BankBinary, bin)
		return so
	}

	// A duet calibration records no baseline: each trial brings its own.
	if o.DuetPairs > 0 {
		if bin == "" {
			bin = os.Getenv(testenv.BankBinaryEnv)
		}
		if bin == "" {
			return nil, errors.New("a duet calibration needs the services built once (leave the stack's work directory empty)")
		}
		o.duetBinary = bin
		return c.runPlan(ctx, o, hots, "", gateLoad, 1, gopts, dopts, runOpts, progress, start, finish)
	}
	// The baseline.
	if o.Baseline != "" {
		return c.runPlan(ctx, o, hots, o.Baseline, gateLoad, trialRuns, gopts, dopts, runOpts, progress, start, finish)
	}
	dir := o.BaselineDir
	if dir == "" {
		dir = filepath.Join(tmp, "baseline")
	}
	baselineRuns := o.BaselineRuns
	if baselineRuns < 1 {
		baselineRuns = 1
	}
	fmt.Fprintf(progress, "calibrate: baseline of %d run(s) (load %.0f/s for %s, %s windows) ...\n", baselineRuns, load.Rate, load.Duration, probe.UploadInterval)
	// The baseline is recorded as the harness records one (RecordBaseline:
	// runs merged, pruned, lock series only where a lock hot spot is).
	kept, dropped, err := testenv.RecordBaseline(ctx, runOpts(""), load, baselineRuns)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if len(kept.Series) == 0 {
		return nil, errors.New("baseline: no series has enough data to gate")
	}
	if err := baseline.Write(dir, kept); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	c.describeBaseline(kept, dropped, time.Since(t0).Seconds())
	fmt.Fprintf(progress, "calibrate: baseline: %d series gated, %d not (%.0fs)\n", len(kept.Series), len(dropped), c.Baseline.Seconds)
	for _, d := range dropped {
		fmt.Fprintf(progress, "calibrate:   not gated: %s\n", d)
	}

	return c.runPlan(ctx, o, hots, dir, gateLoad, trialRuns, gopts, dopts, runOpts, progress, start, finish)
}

// runPlan runs the calibration's A/A and A/B runs against the baseline in
// dir, interleaved, each measured over trialRuns fresh stacks with load.
func (c *Result) runPlan(ctx context.Context, o Options, hots []bank.Hotspot, dir string, load testenv.LoadOptions,
	trialRuns int, gopts gate.Options, dopts diff.Options, runOpts func(inject string) testenv.Options, progress io.Writer, start time.Time,
	finish func() *Result) (*Result, error) {
	if dir != "" {
		snap, err := baseline.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		if c.Baseline.Series == 0 {
			c.describeBaseline(snap, nil, 0)
			fmt.Fprintf(progress, "calibrate: gating against the baseline in %s (%d series)\n", dir, c.Baseline.Series)
		}
		if o.KeepDir != "" {
			if err := baseline.Write(filepath.Join(o.KeepDir, "baseline"), snap); err != nil {
				return nil, fmt.Errorf("--keep: %w", err)
			}
		}
	} else {
		fmt.Fprintf(progress, "calibrate: every trial a duet of %d %s pairs of %s blocks, base and candidate the same build\n", o.DuetPairs, o.DuetMode, load.Duration)
	}
	// The runs, interleaved: the k-th of a condition's n runs is placed at
	// (k+½)/n of the way, so every prefix of the plan — what a calibration
	// stopped by MaxTime ran — samples every condition in proportion.
	type planned struct {
		kind string
		mag  float64
		key  float64
		cond int
	}
	var plan []planned
	for k := 0; k < o.AA; k++ {
		plan = append(plan, planned{kind: "aa", key: (float64(k) + 0.5) / float64(o.AA)})
	}
	for i, m := range o.Magnitudes {
		n := o.Runs
		if i < len(o.MagnitudeRuns) && o.MagnitudeRuns[i] > 0 {
			n = o.MagnitudeRuns[i]
		}
		for k := 0; k < n; k++ {
			plan = append(plan, planned{kind: "ab", mag: m, key: (float64(k) + 0.5) / float64(n), cond: i + 1})
		}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		if plan[i].key != plan[j].key {
			return plan[i].key < plan[j].key
		}
		return plan[i].cond < plan[j].cond
	})
	// Until a run has been timed, the baseline's runs stand in (the same
	// stack, and load no shorter than a trial's runs), one for each of a
	// trial's runs; the whole baseline's time would stop a calibration
	// with an 8-run baseline 8 minutes early.
	slowest := c.Baseline.Seconds / float64(max(1, c.Baseline.Runs)) * float64(trialRuns)
	failures := 0
	for i, p := range plan {
		if err := ctx.Err(); err != nil {
			c.Stopped = fmt.Sprintf("stopped after %d of %d runs: %v", len(c.Runs), len(plan), err)
			break
		}
		if o.MaxTime > 0 && time.Since(start)+time.Duration(slowest*1.1*float64(time.Second)) > o.MaxTime {
			c.Stopped = fmt.Sprintf("stopped after %d of %d runs: the next run (~%.0fs) would not end within --max-time %s", len(c.Runs), len(plan), slowest, o.MaxTime)
			break
		}
		r := &Run{Index: i + 1, Kind: p.kind, Magnitude: p.mag, Started: time.Now(), LoadAvg: loadAvg()}
		if p.kind == "ab" {
			spec := make([]string, len(hots))
			for k, h := range hots {
				spec[k] = h.Inject + "=" + strconv.FormatFloat(p.mag, 'g', -1, 64)
			}
			r.Inject = strings.Join(spec, ",")
		}
		var res *diff.Result
		var base, cur *baseline.Snapshot
		var ms []*testenv.Measurement
		var err error
		if dir != "" {
			res, cur, ms, err = testenv.GateRunsMeasured(ctx, runOpts(r.Inject), dir, load, gopts, trialRuns)
		} else {
			res, base, cur, ms, err = duetTrial(ctx, o, load, gopts, r.Inject)
		}
		if err == nil && o.KeepDir != "" {
			r.Snapshot = fmt.Sprintf("run-%03d", i+1)
			werr := baseline.Write(filepath.Join(o.KeepDir, r.Snapshot), cur)
			if werr == nil && base != nil {
				r.BaseSnapshot = r.Snapshot + "-base"
				werr = baseline.Write(filepath.Join(o.KeepDir, r.BaseSnapshot), base)
			}
			if werr != nil {
				fmt.Fprintf(progress, "calibrate: run %d: keeping its snapshots: %v\n", i+1, werr)
				r.Snapshot, r.BaseSnapshot = "", ""
			}
		}
		r.Seconds = time.Since(r.Started).Seconds()
		if err != nil {
			if ctx.Err() != nil {
				c.Stopped = fmt.Sprintf("stopped after %d of %d runs: run %d abandoned: %v", len(c.Runs), len(plan), i+1, ctx.Err())
				break
			}
			r.Err = err.Error()
			failures++
			c.Runs = append(c.Runs, r)
			fmt.Fprintf(progress, "calibrate: run %d/%d %s: error after %.0fs: %v\n", i+1, len(plan), r.label(), r.Seconds, err)
			if failures >= 3 {
				c.Stopped = fmt.Sprintf("stopped after %d of %d runs: %d runs failed", len(c.Runs), len(plan), failures)
				break
			}
			continue
		}
		slowest = math.Max(slowest, r.Seconds)
		for _, m := range ms {
			r.Requests += m.Load.Requests
			r.Errors += m.Load.Errors
			r.Achieved += m.Load.Achieved / float64(len(ms))
		}
		r.Verdict = string(res.Verdict)
		r.analyze(res, hots, p.mag)
		c.Runs = append(c.Runs, r)
		if r.LoadFailed() {
			fmt.Fprintf(progress, "calibrate: run %d/%d %s: the load failed (%d of %d requests) after %.0fs; counted as a failed run\n", i+1, len(plan), r.label(), r.Errors, r.Requests, r.Seconds)
			failures++
			if failures >= 3 {
				c.Stopped = fmt.Sprintf("stopped after %d of %d runs: %d runs failed", len(c.Runs), len(plan), failures)
				break
			}
			continue
		}
		fmt.Fprintf(progress, "calibrate: run %d/%d %s: %s (%.0fs, load %s)\n", i+1, len(plan), r.label(), r.progressLine(), r.Seconds, r.LoadAvg)
	}
	return finish(), nil
}

// duetTrial measures one trial of a duet calibration: a duet of the
// calibration's one build with itself, inject applied to the candidate.
// The blocks' measurements come back for the load accounting.
func duetTrial(ctx context.Context, o Options, load testenv.LoadOptions, gopts gate.Options, inject string) (*diff.Result, *baseline.Snapshot, *baseline.Snapshot, []*testenv.Measurement, error) {
	st := o.Stack
	st.Inject, st.WorkDir, st.Progress = "", "", nil
	d, err := testenv.Duet(ctx, testenv.DuetOptions{
		BaseBinary: o.duetBinary, CandidateBinary: o.duetBinary, Inject: inject,
		Pairs: o.DuetPairs, Mode: o.DuetMode, Load: load, Stack: st, Gate: &gopts, Progress: o.StackProgress,
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ms := make([]*testenv.Measurement, 0, len(d.Blocks))
	for _, b := range d.Blocks {
		if b.Measurement != nil {
			ms = append(ms, b.Measurement)
		}
	}
	return d.Result, d.Base, d.Current, ms, nil
}

// Replay re-gates the runs of a calibration kept with KeepDir (its JSON
// and the snapshots under keepDir) with the harness's gate under the rules
// file rulesYAML ("" for testenv.HarnessRules), and returns the calibration
// as that gate would have judged it: same runs, same measurements, new verdicts.
// Runs without a kept snapshot, without a verdict or whose load failed
// (Run.LoadFailed, from the recorded request counts) are left out; the
// checks that need the live stack (services down) are not repeated.
//
// With currentRuns above 1, consecutive kept runs of the same kind and
// magnitude are merged, currentRuns at a time, into one current side
// (baseline.MergeRuns), as a gate that measures the build over that many
// runs would see them (bankstack gate --runs); a group left short at the
// end is dropped. Each merged group is one run of the replayed calibration.
// In a duet calibration the group's bases are merged as its candidates
// are, pair for pair: currentRuns trials of P pairs judged as one duet of
// currentRuns·P pairs, which tells what more pairs would measure without
// running them (their pairs started minutes apart, which a duet's pairing
// cancels as it cancels the minutes between its own pairs).
func Replay(orig *Result, keepDir, rulesYAML string, currentRuns int) (*Result, error) {
	duet := orig.Setup.DuetPairs > 0
	var base *baseline.Snapshot
	if !duet {
		var err error
		if base, err = baseline.Load(filepath.Join(keepDir, "baseline")); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	return replay(orig, keepDir, rulesYAML, currentRuns, base)
}

// ReplayStored re-gates a duet calibration's kept trials as the
// stored-baseline gate would have judged them, so both gates are measured
// on the same candidate runs. The base sides of the calibration's first
// baseTrials A/A trials, merged (baseline.MergeRuns), are the stored
// baseline: recorded on the same machine, under the same load, at the
// calibration's start, and so as old at each later trial as the time since
// then. Every later trial's candidate (its P blocks, P runs merged) is gated
// against that baseline with the stored gate's checks (testenv.Judge)
// instead of against the base measured beside it. The trials that made the
// baseline are left out: their candidates were measured beside it.
func ReplayStored(orig *Result, keepDir, rulesYAML string, baseTrials int) (*Result, error) {
	if orig.Setup.DuetPairs == 0 {
		return nil, errors.New("replay: a stored baseline from the trials' own bases needs a duet calibration (--duet-pairs); this one has a stored baseline already")
	}
	if baseTrials < 1 {
		return nil, fmt.Errorf("replay: %d A/A trials for the stored baseline: want at least 1", baseTrials)
	}
	var bases []*baseline.Snapshot
	var seconds float64
	later := *orig
	later.Runs = nil
	for _, o := range orig.Runs {
		if len(bases) < baseTrials && o.Kind == "aa" && !o.failed() && o.BaseSnapshot != "" {
			b, err := baseline.Load(filepath.Join(keepDir, o.BaseSnapshot))
			if err != nil {
				return nil, fmt.Errorf("replay: run %d's base: %w", o.Index, err)
			}
			bases = append(bases, b)
			seconds += o.Seconds
			continue
		}
		if len(bases) < baseTrials {
			continue // measured while the baseline was still being recorded
		}
		r := *o
		r.BaseSnapshot = ""
		later.Runs = append(later.Runs, &r)
	}
	if len(bases) < baseTrials {
		return nil, fmt.Errorf("replay: %d A/A trials with a kept base, want %d for the stored baseline", len(bases), baseTrials)
	}
	base, err := baseline.MergeRuns(bases...)
	if err != nil {
		return nil, fmt.Errorf("replay: stored baseline: %w", err)
	}
	// A stored baseline does not pair with the runs gated against it.
	labels := maps.Clone(base.Meta.Labels)
	delete(labels, diff.PairingLabel)
	base.Meta.Labels = labels
	pairs := later.Setup.DuetPairs
	later.Setup.StoredBaselineTrials = baseTrials
	later.Setup.DuetPairs, later.Setup.DuetMode = 0, ""
	later.Setup.CurrentRuns = max(1, later.Setup.CurrentRuns) * pairs
	c, err := replay(&later, keepDir, rulesYAML, 1, base)
	if err != nil {
		return nil, err
	}
	c.Baseline.Seconds = seconds
	return c, nil
}

// replay re-gates orig's kept runs: each against its own kept base when it
// has one (a duet trial), otherwise against base.
func replay(orig *Result, keepDir, rulesYAML string, currentRuns int, base *baseline.Snapshot) (*Result, error) {
	gopts, dopts, rulesText, err := gateOptions(rulesYAML)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	duet := orig.Setup.DuetPairs > 0
	var hots []bank.Hotspot
	for _, name := range orig.Setup.Hotspots {
		h, ok := bank.HotspotByInject(name)
		if !ok {
			return nil, fmt.Errorf("replay: unknown hot spot %q", name)
		}
		hots = append(hots, h)
	}
	currentRuns = max(1, currentRuns)
	c := &Result{Started: orig.Started, Finished: orig.Finished, Stopped: orig.Stopped, Setup: orig.Setup}
	// The kept baseline is described as it is: a replay may be given
	// another one (more runs) than the calibration recorded.
	if !duet {
		c.describeBaseline(base, orig.Baseline.Dropped, orig.Baseline.Seconds)
	}
	c.Setup.Params = dopts.Params.Merge(diff.DefaultParams())
	c.Setup.Rules = rulesText
	c.Setup.Normalization = map[string]string{"*": string(dopts.Normalization)}
	for id, n := range dopts.TypeNormalization {
		c.Setup.Normalization[id] = string(n)
	}
	c.Setup.CurrentRuns = max(1, orig.Setup.CurrentRuns) * currentRuns
	if duet {
		// The trials' candidates are duet sides of DuetPairs runs each:
		// merged, they are a duet of more pairs, said as such.
		c.Setup.DuetPairs = orig.Setup.DuetPairs * currentRuns
		c.Setup.CurrentRuns = orig.Setup.CurrentRuns
		c.Setup.MergedTrials = currentRuns
	}
	// Group the kept runs by condition, in order, currentRuns at a time.
	type condition struct {
		kind string
		mag  float64
	}
	pending := map[condition][]*Run{}
	var groups [][]*Run
	for _, o := range orig.Runs {
		if o.failed() || o.Snapshot == "" {
			continue
		}
		k := condition{o.Kind, o.Magnitude}
		pending[k] = append(pending[k], o)
		if len(pending[k]) == currentRuns {
			groups = append(groups, pending[k])
			delete(pending, k)
		}
	}
	for _, g := range groups {
		cur, err := loadMerged(keepDir, g, func(r *Run) string { return r.Snapshot })
		if err != nil {
			return nil, err
		}
		var res *diff.Result
		if g[0].BaseSnapshot != "" {
			// A duet trial against its own base (or merged trials against
			// their merged bases); the blocks' load was judged live (a
			// failed one is not replayed).
			var b *baseline.Snapshot
			if b, err = loadMerged(keepDir, g, func(r *Run) string { return r.BaseSnapshot }); err != nil {
				return nil, err
			}
			res, err = testenv.JudgeDuet(b, cur, gopts)
		} else if base == nil {
			err = errors.New("kept without its duet base")
		} else {
			res, err = testenv.Judge(base, cur, gopts)
		}
		if err != nil {
			return nil, fmt.Errorf("replay: run %d: %w", g[0].Index, err)
		}
		o := g[0]
		r := &Run{Index: o.Index, Kind: o.Kind, Magnitude: o.Magnitude, Inject: o.Inject, Started: o.Started,
			LoadAvg: o.LoadAvg, Snapshot: o.Snapshot, BaseSnapshot: o.BaseSnapshot, Verdict: string(res.Verdict)}
		for _, x := range g {
			r.Seconds += x.Seconds
			r.Requests += x.Requests
			r.Errors += x.Errors
			r.Achieved += x.Achieved / float64(len(g))
		}
		r.analyzeWith(res, hots, o.Magnitude, dopts)
		c.Runs = append(c.Runs, r)
	}
	if len(c.Runs) == 0 {
		return nil, fmt.Errorf("replay: no run of the calibration has a kept snapshot under %s (or fewer than %d of any condition)", keepDir, currentRuns)
	}
	c.Summary = c.Summarize()
	return c, nil
}

// loadMerged loads the snapshot that name picks of each kept run of g and
// merges them in order (baseline.MergeRuns), so a group's candidates, and
// in a duet its bases, line up run for run.
func loadMerged(keepDir string, g []*Run, name func(*Run) string) (*baseline.Snapshot, error) {
	var snaps []*baseline.Snapshot
	for _, o := range g {
		if name(o) == "" {
			return nil, fmt.Errorf("replay: run %d: kept without its duet base", o.Index)
		}
		s, err := baseline.Load(filepath.Join(keepDir, name(o)))
		if err != nil {
			return nil, fmt.Errorf("replay: run %d: %w", o.Index, err)
		}
		snaps = append(snaps, s)
	}
	if len(snaps) == 1 {
		return snaps[0], nil
	}
	s, err := baseline.MergeRuns(snaps...)
	if err != nil {
		return nil, fmt.Errorf("replay: runs from %d: %w", g[0].Index, err)
	}
	return s, nil
}

// describeBaseline records the baseline's series and sample budget.
func (c *Result) describeBaseline(kept *baseline.Snapshot, dropped []string, seconds float64) {
	c.Baseline = Baseline{Runs: gate.Runs(kept), Series: len(kept.Series), Dropped: dropped, Seconds: seconds}
	for _, se := range kept.Series {
		b := SeriesBudget{Service: se.Service, Profile: profiletype.MustAlias(se.ProfileType), Windows: len(se.Windows), Gated: true}
		for _, w := range se.Windows {
			b.Samples += w.Samples
		}
		c.Baseline.Budget = append(c.Baseline.Budget, b)
	}
}

// GateOptions are GateOptions with every tested function listed,
// so the hot spot's change and stated minimum detectable effect are known
// also when it is not reported. Listing changes no verdict.
func GateOptions() gate.Options {
	o, _, _, err := gateOptions("")
	if err != nil {
		panic("calibration: HarnessRules: " + err.Error())
	}
	return o
}

// gateOptions are GateOptions with the rules file rulesYAML
// ("" for testenv.HarnessRules), the comparison options they amount to for two
// sides measured under the harness's fixed load (what a calibration records
// and analyses with), and the rules text they apply.
func gateOptions(rulesYAML string) (gate.Options, diff.Options, string, error) {
	o, err := testenv.GateOptionsWithRules(rulesYAML, "calibration rules")
	if err != nil {
		return o, diff.Options{}, "", err
	}
	o.TopUnchanged = math.MaxInt32
	dopts, err := testenv.HarnessDiffOptions(o)
	if err != nil {
		return o, dopts, "", err
	}
	return o, dopts, cmp.Or(rulesYAML, testenv.HarnessRules), nil
}

// loadAvg returns the first three fields of /proc/loadavg, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// LoadFailed reports whether the run's load failed (more than
// testenv.MaxLoadErrorRate of its requests): the gate then calls the run
// inconclusive, its profiles describe the failure rather than the build, and
// a calibration counts it as a failed run, not as a trial. (One A/A run of a
// calibration here lost 13% of its requests, and its allocation profiles
// then "regressed" in three series.)
func (r *Run) LoadFailed() bool {
	load := loadgen.Result{Requests: r.Requests, Errors: r.Errors}
	return load.ErrorRate() > testenv.MaxLoadErrorRate // the rule the gate applies live (gate.Load.Problem)
}

// failed reports whether the run counts as failed: no verdict, or a failed
// load.
func (r *Run) failed() bool { return r.Err != "" || r.LoadFailed() }

func (r *Run) label() string {
	if r.Kind == "aa" {
		return "A/A"
	}
	return fmt.Sprintf("x%g", r.Magnitude)
}

func (r *Run) progressLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s", r.Verdict)
	var fa []string
	for _, s := range r.Series {
		if s.Role != RoleAA {
			continue
		}
		for _, f := range s.Regressions {
			fa = append(fa, fmt.Sprintf("%s/%s %s %+.0f%%", short(s.Service), s.Alias, shortFunc(f.Function), 100*f.Change))
		}
	}
	for _, t := range r.Trials {
		mark := "missed"
		switch {
		case t.Factor == 1 && (t.Detected || t.DetectedAlt):
			mark = "falsely regressed" // an A/A run: nothing was injected
		case t.Factor == 1:
			mark = "unchanged"
		case t.Detected:
			mark = "found"
		case t.DetectedAlt:
			mark = "found in " + t.AltProfile
		}
		fmt.Fprintf(&b, "; %s %s (%+.0f%%, mde %.0f%%)", t.Inject, mark, 100*t.Change, 100*t.MinDetectable)
		if len(t.Wrong) > 0 {
			fmt.Fprintf(&b, " +%d wrong", len(t.Wrong))
		}
	}
	if len(fa) > 0 {
		fmt.Fprintf(&b, "; false alarms: %s", strings.Join(fa, ", "))
	} else {
		b.WriteString("; no false alarm")
	}
	return b.String()
}

func short(service string) string {
	return strings.TrimSuffix(strings.TrimPrefix(service, "bank-"), "-service")
}

func shortFunc(fn string) string {
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// typeOf is the profile type an alias names; false for a group name
// ("alloc") or what profiletype cannot parse.
func typeOf(alias string) (profiletype.ID, bool) {
	ids, err := profiletype.Parse(alias)
	if err != nil || len(ids) != 1 {
		return profiletype.ID{}, false
	}
	return ids[0], true
}

// companion returns the other profile type of a type's group, the one
// counting the same sampling events in the other unit
// (profiletype.ID.Companion: alloc_objects for alloc_space, mutex_count
// for mutex_delay), or "".
func companion(alias string) string {
	id, ok := typeOf(alias)
	if !ok {
		return ""
	}
	c, ok := id.Companion()
	if !ok {
		return ""
	}
	return c.Alias()
}

// group names a profile type's group, its profiletype.Kind: cpu, alloc,
// lock, block, ...; a type profiletype does not know is a group of its own.
func group(alias string) string {
	id, ok := typeOf(alias)
	if !ok || id.Kind() == profiletype.KindOther {
		return alias
	}
	return string(id.Kind())
}

// analyze fills in the run's series and hot spot trials from its result.
func (r *Run) analyze(res *diff.Result, hots []bank.Hotspot, factor float64) {
	_, dopts, _, err := gateOptions("")
	if err != nil {
		panic("calibration: HarnessRules: " + err.Error())
	}
	r.analyzeWith(res, hots, factor, dopts)
}

// analyzeWith is analyze for a result compared with dopts.
func (r *Run) analyzeWith(res *diff.Result, hots []bank.Hotspot, factor float64, dopts diff.Options) {
	alpha := dopts.Params.Merge(diff.DefaultParams()).Alpha
	injected := map[string]bank.Hotspot{}
	if r.Kind == "ab" {
		for _, h := range hots {
			injected[h.Service] = h
		}
	}
	for _, sr := range res.Series {
		cs := &Series{Service: sr.Service, Alias: sr.Alias, Verdict: string(sr.Verdict), Reason: sr.Reason,
			Windows: sr.CurrentWindows, Samples: sr.CurrentSamples, Tested: sr.Tested, MinDetectable: sr.MinDetectable}
		if cs.Windows > 0 {
			cs.SamplesPerWindow = float64(cs.Samples) / float64(cs.Windows)
		}
		h, inj := injected[sr.Service]
		var related map[string]bool
		switch {
		case !inj:
			cs.Role = RoleAA
		case group(sr.Alias) == group(h.Profile):
			cs.Role = RoleTarget
		default:
			cs.Role = RoleSide
		}
		if inj {
			related = relatives(h.Function, sr.Base, sr.Cur)
		}
		for _, f := range sr.Findings {
			if f.Kind == diff.KindImprovement {
				cs.Improvements = append(cs.Improvements, Finding{Function: f.Function, Measure: string(f.Measure), Change: f.Change, Q: f.Q, Class: ClassWrong})
			}
			if f.Change > 0 && f.P < alpha {
				cs.PUp++
			}
			failing := f.Kind == diff.KindRegression || f.Kind == diff.KindNewHotPath
			credible := failing || f.Change > 0 && !math.IsInf(f.Change, 0) && f.Q <= alpha && f.Kind != diff.KindIgnored
			if credible && !failing && dopts.Policy != nil {
				if _, ignored := dopts.Policy.Ignore(sr.Service, sr.ProfileType, f.Function); ignored {
					credible = false
				}
			}
			if !credible {
				continue
			}
			cf := Finding{Function: f.Function, Measure: string(f.Measure), Change: f.Change, Q: f.Q, ExplainedBy: f.ExplainedBy, Class: ClassWrong}
			if math.IsInf(cf.Change, 0) {
				cf.Change = math.MaxFloat64 // JSON has no infinity; a new hot path
			}
			if inj {
				switch {
				case f.Function == h.Function:
					cf.Class = ClassHotspot
				case related[f.Function] || f.ExplainedBy == h.Function || h.KnockOnOf(f.Function):
					cf.Class = ClassRelated
				}
			}
			cs.Credible = append(cs.Credible, cf)
			if failing {
				cs.Regressions = append(cs.Regressions, cf)
			}
		}
		r.Series = append(r.Series, cs)
	}
	sort.Slice(r.Series, func(i, j int) bool {
		a, b := r.Series[i], r.Series[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Alias < b.Alias
	})
	// A/A runs get hot spot trials too, with factor 1: how far the hot
	// spots' functions move when nothing was injected, and how often one
	// is called a regression anyway, is the null distribution the A/B
	// trials are read against.
	if r.Kind != "ab" {
		factor = 1
	}
	for _, h := range hots {
		t := &HotspotTrial{Inject: h.Inject, Service: h.Service, Function: h.Function, Profile: h.Profile,
			AltProfile: companion(h.Profile), Factor: factor, Change: nan, ChangeAlt: nan,
			MinDetectable: nan, SeriesMinDetectable: nan, Current: nan, BaselineValue: nan}
		for _, sr := range res.Series {
			if sr.Service != h.Service {
				continue
			}
			primary := sr.Alias == h.Profile
			alt := t.AltProfile != "" && sr.Alias == t.AltProfile
			if !primary && !alt {
				continue
			}
			f, found := hotspotFinding(sr, h.Function)
			detected := false
			for _, x := range sr.Findings {
				if x.Function == h.Function && x.Kind == diff.KindRegression {
					detected = true
				}
			}
			if primary {
				t.Detected = detected
				t.Verdict = string(sr.Verdict)
				t.Normalization = sr.Normalization
				t.SeriesMinDetectable = Float(nanIfZero(sr.MinDetectable))
				if found {
					t.Change, t.MinDetectable = Float(f.Change), Float(nanIfZero(f.MinDetectable))
					t.Current, t.BaselineValue = Float(f.Current), Float(f.Baseline)
				}
				for _, cs := range r.Series {
					if cs.Service != sr.Service || cs.Alias != sr.Alias {
						continue
					}
					for _, x := range cs.Regressions {
						switch x.Class {
						case ClassWrong:
							t.Wrong = append(t.Wrong, x.Function)
						case ClassRelated:
							t.Related = append(t.Related, x.Function)
						}
					}
				}
			} else {
				t.DetectedAlt = detected
				if found {
					t.ChangeAlt = Float(f.Change)
				}
			}
		}
		r.Trials = append(r.Trials, t)
	}
}

// hotspotFinding returns the finding of fn in a series: its cumulative one
// when it was tested cumulatively (the injected work runs in its callees
// too), else its self one.
func hotspotFinding(sr *diff.SeriesResult, fn string) (diff.Finding, bool) {
	var self, cum *diff.Finding
	for i := range sr.Findings {
		f := &sr.Findings[i]
		if f.Function != fn {
			continue
		}
		if f.Measure == diff.Cumulative {
			cum = f
		} else {
			self = f
		}
	}
	switch {
	case cum != nil:
		return *cum, true
	case self != nil:
		return *self, true
	}
	return diff.Finding{}, false
}

func nanIfZero(x float64) float64 {
	if x == 0 {
		return math.NaN()
	}
	return x
}

// relatives returns the functions that are callers or callees of fn in any
// stack of the given series.
func relatives(fn string, series ...*baseline.Series) map[string]bool {
	out := map[string]bool{}
	for _, se := range series {
		if se == nil {
			continue
		}
		idx := int32(-1)
		for i, f := range se.Functions {
			if f.Name == fn {
				idx = int32(i)
				break
			}
		}
		if idx < 0 {
			continue
		}
		for _, st := range se.Stacks {
			at := -1
			for i, f := range st.Frames {
				if f == idx {
					at = i
					break
				}
			}
			if at < 0 {
				continue
			}
			for i, f := range st.Frames {
				if i != at && int(f) < len(se.Functions) {
					out[se.Functions[f].Name] = true
				}
			}
		}
	}
	return out
}
