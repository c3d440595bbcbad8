package calibration

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/testenv"
	"github.com/profdiff/profdiff/testenv/internal/synth"
)

// TestReplay re-gates kept runs without a stack: a 4-run baseline, an A/A run
// and a run whose hot spot does twice the work, written as Calibrate's
// KeepDir writes them (synthetic CPU series of the fraud service). The
// synthetic model keeps each window's sample count, so a hot spot's rate
// rises less than its work (+37% at 1.5x, which a 4-run baseline under the
// harness's CPU drift floor does not resolve); twice the work is found
// plainly.
func TestReplay(t *testing.T) {
	m, twice := synth.FraudModel(1, 1), synth.FraudModel(1, 2)
	rng := rand.New(rand.NewPCG(7, 1))
	series := func(model *gen.Model) *baseline.Snapshot { return synth.Runs(model, rng, 1, 12, 3000, 0.02)[0] }
	// A baseline of four runs, as the tests' shared one.
	base, err := baseline.MergeRuns(synth.Runs(m, rng, 4, 12, 3000, 0.02)...)
	if err != nil {
		t.Fatal(err)
	}
	keep := t.TempDir()
	for name, s := range map[string]*baseline.Snapshot{
		"baseline": base, "run-001": series(m), "run-002": series(twice),
		"run-005": series(m), "run-006": series(twice), "run-007": series(m),
	} {
		if err := baseline.Write(filepath.Join(keep, name), s); err != nil {
			t.Fatal(err)
		}
	}
	orig := &Result{
		Setup: Setup{Hotspots: []string{"fraud.rules"}, Magnitudes: []float64{2}, Duration: "1m0s"},
		Runs: []*Run{
			{Index: 1, Kind: "aa", Snapshot: "run-001"},
			{Index: 2, Kind: "ab", Magnitude: 2, Snapshot: "run-002"},
			{Index: 3, Kind: "aa", Err: "a failed run has nothing to replay"},
			{Index: 4, Kind: "aa"}, // not kept
		},
	}
	c, err := Replay(orig, keep, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 2 {
		t.Fatalf("%d runs replayed, want the 2 kept ones", len(c.Runs))
	}
	if s := c.Summary; s.AARuns != 1 || s.AARunsFalseAlarm != 0 {
		t.Errorf("A/A: %d runs, %d with a false alarm; want 1, 0", s.AARuns, s.AARunsFalseAlarm)
	}
	ab := c.Runs[1]
	if ab.Verdict != "regression" || len(ab.Trials) != 1 || !ab.Trials[0].Detected {
		t.Errorf("+100%% run: verdict %s, trials %+v; want the hot spot detected", ab.Verdict, ab.Trials)
	}
	if c.Setup.Rules != testenv.HarnessRules {
		t.Errorf("replayed setup names rules %q, want the harness rules it applied", c.Setup.Rules)
	}
	if c.Baseline.Runs != 4 || c.Baseline.Series != 1 {
		t.Errorf("replayed baseline: %d runs, %d series; want the kept baseline's 4 and 1", c.Baseline.Runs, c.Baseline.Series)
	}

	// Other rules on the same runs: a threshold above the injected +100%
	// misses the hot spot, and the setup records the rules applied.
	const strict = "version: 1\ndefaults:\n  threshold: 300%\n"
	cs, err := Replay(orig, keep, strict, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ab := cs.Runs[1]; ab.Trials[0].Detected || cs.Setup.Rules != strict {
		t.Errorf("replay with a 300%% threshold: trials %+v, rules %q; want the hot spot missed and those rules recorded", ab.Trials, cs.Setup.Rules)
	}
	if _, err := Replay(orig, keep, "defaults:\n  normalization: odds\n", 1); err == nil || !strings.Contains(err.Error(), "odds") {
		t.Errorf("bad rules: error %v, want one naming the bad value", err)
	}

	// Two runs a side: runs of one condition are merged in order, and a
	// group left short (run 7) is dropped.
	paired := &Result{Setup: orig.Setup, Runs: []*Run{
		{Index: 1, Kind: "aa", Snapshot: "run-001", Requests: 10},
		{Index: 2, Kind: "ab", Magnitude: 2, Snapshot: "run-002"},
		{Index: 5, Kind: "aa", Snapshot: "run-005", Requests: 20},
		{Index: 6, Kind: "ab", Magnitude: 2, Snapshot: "run-006"},
		{Index: 7, Kind: "aa", Snapshot: "run-007"},
	}}
	c2, err := Replay(paired, keep, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Runs) != 2 || c2.Setup.CurrentRuns != 2 {
		t.Fatalf("paired replay: %d runs, current runs %d; want 2 merged runs of 2", len(c2.Runs), c2.Setup.CurrentRuns)
	}
	var table strings.Builder
	c2.WriteTable(&table)
	if want := "Current side: 2 run(s) of 1m0s merged per gated run"; !strings.Contains(table.String(), want) {
		t.Errorf("paired replay's table does not say %q:\n%s", want, table.String())
	}
	aa := c2.Runs[0]
	if aa.Index != 1 || aa.Requests != 30 || len(aa.Series) == 0 || aa.Series[0].Windows != 24 {
		t.Errorf("merged A/A run: index %d, requests %d, series %+v; want run 1 with both runs' 30 requests and 24 windows", aa.Index, aa.Requests, aa.Series)
	}
	if ab := c2.Runs[1]; ab.Kind != "ab" || !ab.Trials[0].Detected {
		t.Errorf("merged +100%% runs: kind %s, trials %+v; want the hot spot detected", ab.Kind, ab.Trials)
	}

	// A calibration whose trials were each measured over two runs
	// (GateRuns) still says so replayed one kept trial at a time, and
	// multiplies when its trials are merged again.
	live := *paired
	live.Setup.CurrentRuns = 2
	for _, tt := range []struct{ merge, want int }{{1, 2}, {2, 4}} {
		c, err := Replay(&live, keep, "", tt.merge)
		if err != nil {
			t.Fatal(err)
		}
		if c.Setup.CurrentRuns != tt.want {
			t.Errorf("replay of 2-run trials, %d merged: current runs %d, want %d", tt.merge, c.Setup.CurrentRuns, tt.want)
		}
	}

	// A kept run whose snapshot is gone is an error naming the run.
	orig.Runs[0].Snapshot = "run-404"
	if _, err := Replay(orig, keep, "", 1); err == nil || !strings.Contains(err.Error(), "run 1") {
		t.Errorf("missing snapshot: error %v, want one naming run 1", err)
	}
	if _, err := Replay(orig, t.TempDir(), "", 1); err == nil || !strings.Contains(err.Error(), "baseline") {
		t.Errorf("no kept baseline: error %v, want one naming the baseline", err)
	}
}

// TestReplayDuet re-judges a duet calibration's kept trials, each against
// its own kept base: the same synthetic fraud CPU series on both sides
// passes, twice the hot spot's work on the candidate is found, and two
// trials merged are judged as one duet of twice the pairs.
func TestReplayDuet(t *testing.T) {
	m := synth.FraudModel(3, 1)
	rng := rand.New(rand.NewPCG(11, 2))
	side := func(model *gen.Model) *baseline.Snapshot { return duetSide(t, rng, model) }
	keep := t.TempDir()
	for name, s := range map[string]*baseline.Snapshot{
		"run-001": side(m), "run-001-base": side(m),
		"run-002": side(synth.FraudModel(3, 2)), "run-002-base": side(m),
	} {
		if err := baseline.Write(filepath.Join(keep, name), s); err != nil {
			t.Fatal(err)
		}
	}
	orig := &Result{
		Setup: Setup{Hotspots: []string{"fraud.rules"}, Magnitudes: []float64{2}, Duration: "30s", DuetPairs: 4, DuetMode: "simultaneous"},
		Runs: []*Run{
			{Index: 1, Kind: "aa", Snapshot: "run-001", BaseSnapshot: "run-001-base"},
			{Index: 2, Kind: "ab", Magnitude: 2, Snapshot: "run-002", BaseSnapshot: "run-002-base"},
			{Index: 3, Kind: "aa", Snapshot: "run-001"}, // no base kept: an error, not a silent stored-baseline gate
		},
	}
	if _, err := Replay(orig, keep, "", 1); err == nil || !strings.Contains(err.Error(), "run 3") {
		t.Errorf("duet trial without its base: error %v, want one naming run 3", err)
	}
	orig.Runs = orig.Runs[:2]
	c, err := Replay(orig, keep, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Summary; s.AARuns != 1 || s.AARunsFalseAlarm != 0 {
		t.Errorf("duet A/A: %d runs, %d with a false alarm; want 1, 0", s.AARuns, s.AARunsFalseAlarm)
	}
	if ab := c.Runs[1]; ab.Verdict != "regression" || len(ab.Trials) != 1 || !ab.Trials[0].Detected || ab.BaseSnapshot != "run-002-base" {
		t.Errorf("duet +100%%: verdict %s, trials %+v, base %q; want the hot spot detected against run-002-base", ab.Verdict, ab.Trials, ab.BaseSnapshot)
	}
	var table strings.Builder
	c.WriteTable(&table)
	if want := "Duet: every trial measured its own base beside its candidate"; !strings.Contains(table.String(), want) {
		t.Errorf("duet replay's table does not say %q:\n%s", want, table.String())
	}

	// Two trials merged, bases and candidates pair for pair: one duet of
	// eight pairs, still paired, that passes the A/A, finds twice the work
	// and states a smaller MDE than either of its four-pair trials.
	for name, s := range map[string]*baseline.Snapshot{
		"run-003": side(m), "run-003-base": side(m),
		"run-004": side(synth.FraudModel(3, 2)), "run-004-base": side(m),
	} {
		if err := baseline.Write(filepath.Join(keep, name), s); err != nil {
			t.Fatal(err)
		}
	}
	four := &Result{Setup: orig.Setup, Runs: append(orig.Runs,
		&Run{Index: 3, Kind: "aa", Snapshot: "run-003", BaseSnapshot: "run-003-base"},
		&Run{Index: 4, Kind: "ab", Magnitude: 2, Snapshot: "run-004", BaseSnapshot: "run-004-base"})}
	c1, err := Replay(four, keep, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Replay(four, keep, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Runs) != 2 || c2.Setup.DuetPairs != 8 || c2.Setup.MergedTrials != 2 {
		t.Fatalf("merged duet replay: %d trials, %d pairs, %d merged; want 2 trials of 8 pairs, 2 merged", len(c2.Runs), c2.Setup.DuetPairs, c2.Setup.MergedTrials)
	}
	g := []*Run{four.Runs[0], four.Runs[2]}
	mb, err := loadMerged(keep, g, func(r *Run) string { return r.BaseSnapshot })
	if err != nil {
		t.Fatal(err)
	}
	mc, err := loadMerged(keep, g, func(r *Run) string { return r.Snapshot })
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Paired(mb, mc) {
		t.Error("merged base and candidate do not pair run for run")
	}
	if s := c2.Summary; s.AARuns != 1 || s.AARunsFalseAlarm != 0 {
		t.Errorf("merged duet A/A: %d trials, %d with a false alarm; want 1, 0", s.AARuns, s.AARunsFalseAlarm)
	}
	if ab := c2.Runs[1]; ab.Verdict != "regression" || !ab.Trials[0].Detected || ab.Series[0].Windows != 48 {
		t.Errorf("merged duet +100%%: verdict %s, trials %+v, %d windows; want the hot spot detected over 48 windows", ab.Verdict, ab.Trials, ab.Series[0].Windows)
	}
	for i, r := range c2.Runs {
		merged, single := r.Series[0].MinDetectable, max(c1.Runs[2*i].Series[0].MinDetectable, c1.Runs[2*i+1].Series[0].MinDetectable)
		if !(merged < single) {
			t.Errorf("merged trial %d states an MDE of %.3f, want less than its four-pair trials' %.3f", r.Index, merged, single)
		}
	}
	table.Reset()
	c2.WriteTable(&table)
	if want := "Merged: each trial here is 2 kept trials of 4 pairs judged as one duet"; !strings.Contains(table.String(), want) {
		t.Errorf("merged duet replay's table does not say %q:\n%s", want, table.String())
	}
	bad := &Result{Setup: orig.Setup, Runs: []*Run{four.Runs[0], {Index: 3, Kind: "aa", Snapshot: "run-003"}}}
	if _, err := Replay(bad, keep, "", 2); err == nil || !strings.Contains(err.Error(), "run 3") {
		t.Errorf("merging a duet trial kept without its base: error %v, want one naming run 3", err)
	}
}

// TestReplayStored re-gates a duet calibration's later candidates against
// a stored baseline made of its first A/A trials' bases: the same
// candidates the duet judged, judged as the stored gate would. The trials
// that recorded the baseline are left out, twice the hot spot's work is
// found, an unchanged build passes, and what cannot be done is refused
// with an error naming why.
func TestReplayStored(t *testing.T) {
	m, twice := synth.FraudModel(3, 1), synth.FraudModel(3, 2)
	rng := rand.New(rand.NewPCG(13, 3))
	side := func(model *gen.Model) *baseline.Snapshot { return duetSide(t, rng, model) }
	keep := t.TempDir()
	for name, s := range map[string]*baseline.Snapshot{
		"run-001": side(m), "run-001-base": side(m),
		"run-002": side(twice), "run-002-base": side(m),
		"run-003": side(m), "run-003-base": side(m),
		"run-004": side(twice), "run-004-base": side(m),
	} {
		if err := baseline.Write(filepath.Join(keep, name), s); err != nil {
			t.Fatal(err)
		}
	}
	orig := &Result{
		Setup: Setup{Hotspots: []string{"fraud.rules"}, Magnitudes: []float64{2}, Duration: "30s", DuetPairs: 4, DuetMode: "simultaneous"},
		Runs: []*Run{
			{Index: 1, Kind: "aa", Snapshot: "run-001", BaseSnapshot: "run-001-base", Seconds: 150},
			{Index: 2, Kind: "ab", Magnitude: 2, Snapshot: "run-002", BaseSnapshot: "run-002-base"},
			{Index: 3, Kind: "aa", Snapshot: "run-003", BaseSnapshot: "run-003-base"},
			{Index: 4, Kind: "ab", Magnitude: 2, Snapshot: "run-004", BaseSnapshot: "run-004-base"},
		},
	}
	c, err := ReplayStored(orig, keep, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs) != 3 || c.Runs[0].Index != 2 {
		t.Fatalf("%d runs replayed from run %d, want runs 2–4 (run 1 recorded the baseline)", len(c.Runs), c.Runs[0].Index)
	}
	for _, r := range c.Runs {
		if r.BaseSnapshot != "" {
			t.Errorf("run %d judged against its own base %q, want the stored baseline", r.Index, r.BaseSnapshot)
		}
	}
	if s := c.Summary; s.AARuns != 1 || s.AARunsFalseAlarm != 0 {
		t.Errorf("A/A against the stored baseline: %d runs, %d with a false alarm; want 1, 0", s.AARuns, s.AARunsFalseAlarm)
	}
	for _, ab := range []*Run{c.Runs[0], c.Runs[2]} {
		if ab.Verdict != "regression" || len(ab.Trials) != 1 || !ab.Trials[0].Detected {
			t.Errorf("+100%% run %d: verdict %s, trials %+v; want the hot spot detected", ab.Index, ab.Verdict, ab.Trials)
		}
	}
	if su := c.Setup; su.DuetPairs != 0 || su.StoredBaselineTrials != 1 || su.CurrentRuns != 4 || c.Baseline.Runs != 4 || c.Baseline.Seconds != 150 {
		t.Errorf("setup: duet pairs %d, stored trials %d, current runs %d, baseline %d runs over %g s; want 0, 1, 4, 4, 150",
			su.DuetPairs, su.StoredBaselineTrials, su.CurrentRuns, c.Baseline.Runs, c.Baseline.Seconds)
	}
	var table strings.Builder
	c.WriteTable(&table)
	if want := "Stored baseline: the base sides of a duet calibration's first 1 A/A trials, merged (4 runs of 30s)"; !strings.Contains(table.String(), want) {
		t.Errorf("stored replay's table does not say %q:\n%s", want, table.String())
	}

	for _, tt := range []struct {
		name   string
		orig   *Result
		trials int
		want   string
	}{
		{"more trials than kept", orig, 3, "want 3"},
		{"no trials", orig, 0, "at least 1"},
		{"not a duet", &Result{Setup: Setup{Hotspots: []string{"fraud.rules"}}, Runs: orig.Runs}, 1, "duet"},
		{"base gone", &Result{Setup: orig.Setup, Runs: []*Run{{Index: 7, Kind: "aa", Snapshot: "run-001", BaseSnapshot: "run-404"}}}, 1, "run 7"},
	} {
		if _, err := ReplayStored(tt.orig, keep, "", tt.trials); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// duetSide is one side of a synthetic 4-pair duet of the fraud service's
// CPU: four runs of six windows, labelled as pairing with the other side.
func duetSide(t *testing.T, rng *rand.Rand, model *gen.Model) *baseline.Snapshot {
	t.Helper()
	merged, err := baseline.MergeRuns(synth.Runs(model, rng, 4, 6, 3000, 0.02)...)
	if err != nil {
		t.Fatal(err)
	}
	merged.Meta.Labels = map[string]string{diff.PairingLabel: "runs"}
	return merged
}
