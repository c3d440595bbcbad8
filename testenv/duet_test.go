package testenv

import (
	"bytes"
	"context"
	"github.com/profdiff/profdiff/pkg/gate"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/strict"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/pyroscope"
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
	"github.com/profdiff/profdiff/testenv/internal/synth"
)

func TestDuetOrderAlternates(t *testing.T) {
	var seq []string
	for k := range 4 {
		for _, side := range duetOrder(k) {
			seq = append(seq, side[:1])
		}
	}
	if got, want := strings.Join(seq, ""), "bccbbccb"; got != want {
		t.Fatalf("block order %s, want %s (B C C B B C C B)", got, want)
	}
}

func TestDuetOptionsErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    DuetOptions
		want string
	}{
		{"no base", DuetOptions{}, "exactly one of the base ref"},
		{"two bases", DuetOptions{BaseRef: "HEAD", BaseBinary: "/bin/true"}, "exactly one of the base ref"},
		{"inject on both", DuetOptions{BaseRef: "HEAD", Stack: Options{Inject: "fraud.rules=1.5"}}, "candidate only"},
		{"bad inject", DuetOptions{BaseRef: "HEAD", Inject: "fraud.nope=2"}, "inject"},
		{"negative pairs", DuetOptions{BaseRef: "HEAD", Pairs: -1}, "-1 pairs"},
		{"bad mode", DuetOptions{BaseRef: "HEAD", Mode: "sideways"}, `mode "sideways"`},
		{"work dir", DuetOptions{BaseRef: "HEAD", Stack: Options{WorkDir: "/tmp/x"}}, "work directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Duet(context.Background(), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// duetSide is a synthetic side of a duet: one single-run snapshot per pair,
// the fraud service's CPU with its rule matching scaled by factor.
func duetSide(t *testing.T, seed uint64, pairs int, factor float64) []*baseline.Snapshot {
	t.Helper()
	out := synth.Runs(synth.FraudModel(1, factor), rand.New(rand.NewPCG(seed, 2)), pairs, 6, 3000, 0.02)
	for _, s := range out {
		s.Meta.Labels = map[string]string{"env": "test"}
	}
	return out
}

func blocksOf(side string, snaps []*baseline.Snapshot, load func(k int) *loadgen.Result) []DuetBlock {
	var out []DuetBlock
	for k, s := range snaps {
		out = append(out, DuetBlock{Pair: k, Side: side, Measurement: &Measurement{Load: load(k), Collected: collected(s)}})
	}
	return out
}

func TestMergeDuetSideNumbersRunsByPair(t *testing.T) {
	snaps := duetSide(t, 1, 4, 1)
	// Pair 2's block collected nothing (every service silent): MergeRuns
	// alone would number pair 3's windows 2.
	snaps[2] = &baseline.Snapshot{Meta: snaps[2].Meta}
	merged, err := mergeDuetSide(blocksOf(SideBase, snaps, okLoad), SideBase, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := merged.Meta.Labels["pairing"]; got != "runs" {
		t.Errorf(`label pairing = %q, want "runs"`, got)
	}
	if got := merged.Meta.Labels["duet"]; got != SideBase {
		t.Errorf("label duet = %q, want %q", got, SideBase)
	}
	runs := map[int32]int{}
	for _, se := range merged.Series {
		for _, w := range se.Windows {
			runs[w.Run]++
		}
	}
	want := map[int32]int{0: 6, 1: 6, 3: 6}
	if len(runs) != len(want) || runs[0] != 6 || runs[1] != 6 || runs[3] != 6 {
		t.Fatalf("windows per run %v, want %v (run = pair index, the empty pair 2 absent)", runs, want)
	}
	if snaps[0].Meta.Labels["pairing"] != "" {
		t.Errorf("merging changed a block's own labels")
	}
}

func TestMergeDuetSideMissingBlock(t *testing.T) {
	blocks := blocksOf(SideCandidate, duetSide(t, 1, 2, 1), okLoad)
	if _, err := mergeDuetSide(blocks, SideCandidate, 3); err == nil || !strings.Contains(err.Error(), "pair 3 has no candidate block") {
		t.Fatalf("error %v, want one naming the missing pair", err)
	}
}

func okLoad(int) *loadgen.Result {
	return &loadgen.Result{Rate: 500, Achieved: 499, Requests: 15000}
}

// TestJudgeDuet judges synthetic duets: the same model on both sides
// passes, the hot spot at twice the work is a regression naming it, and a
// block whose load fell short or failed, or after which a service was
// down, makes it inconclusive.
func TestJudgeDuet(t *testing.T) {
	fraud, _ := bank.HotspotByInject("fraud.rules")
	const pairs = 4
	short := func(k int) *loadgen.Result {
		r := okLoad(k)
		if k == 1 {
			r.Achieved = 300
		}
		return r
	}
	apart := func(k int) *loadgen.Result {
		r := okLoad(k)
		if k == 2 {
			r.Achieved = 460 // 499 on the other side: 7.8% apart
		}
		return r
	}
	bothShort := func(k int) *loadgen.Result { // 88% on both sides of every pair
		r := okLoad(k)
		r.Achieved = 440
		return r
	}
	failing := func(k int) *loadgen.Result {
		r := okLoad(k)
		if k == 2 {
			r.Errors = 900
			r.Endpoints = []loadgen.EndpointStats{{Service: bank.ServiceLoan, Errors: 900}}
		}
		return r
	}
	for _, c := range []struct {
		name              string
		factor            float64
		baseLoad, curLoad func(int) *loadgen.Result
		down              []string
		want              diff.Verdict
		warning           string
	}{
		{"a/a", 1, okLoad, okLoad, nil, diff.Pass, ""},
		{"twice the work", 2, okLoad, okLoad, nil, diff.Regression, ""},
		{"base short", 1, short, short, nil, diff.Inconclusive, "pair 2: the base's load reached 300 of 500 req/s (60.0%, below 80%)"},
		{"candidate behind, pass", 1, okLoad, apart, nil, diff.Inconclusive, "(pair 3: 460 against the base's 499 req/s): a build that cannot keep up is not a pass"},
		{"candidate behind, regression", 2, okLoad, apart, nil, diff.Regression, "its regressions, measured as rates, are understated"},
		{"base behind", 1, apart, okLoad, nil, diff.Inconclusive, "pair 3: the base's load reached 460 req/s, the candidate's 499, 7.8% more"},
		{"both short alike", 1, bothShort, bothShort, nil, diff.Pass, ""},
		{"failed load", 1, okLoad, failing, nil, diff.Inconclusive, bank.ServiceLoan},
		{"service down", 1, okLoad, okLoad, []string{bank.ServiceFraud}, diff.Inconclusive, "not answering /health"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bb := blocksOf(SideBase, duetSide(t, 11, pairs, 1), c.baseLoad)
			cb := blocksOf(SideCandidate, duetSide(t, 12, pairs, c.factor), c.curLoad)
			cb[pairs-1].Down = c.down
			blocks := append(bb, cb...)
			base, err := mergeDuetSide(blocks, SideBase, pairs)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := mergeDuetSide(blocks, SideCandidate, pairs)
			if err != nil {
				t.Fatal(err)
			}
			r, err := judgeDuet(base, cur, blocks, gate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != c.want {
				var b bytes.Buffer
				report.Text(&b, r)
				t.Fatalf("verdict %s, want %s\n%s", r.Verdict, c.want, b.String())
			}
			if c.want == diff.Regression {
				if !namesRegression(r, fraud.Service, fraud.Function) {
					t.Errorf("no regression names %s", fraud.Function)
				}
			}
			if c.warning != "" && !strings.Contains(strings.Join(r.Warnings, "\n"), c.warning) {
				t.Errorf("warnings %q do not say %q", r.Warnings, c.warning)
			}
		})
	}
}

func namesRegression(r *diff.Result, service, function string) bool {
	for _, sr := range r.Series {
		for _, f := range sr.Findings {
			if sr.Service == service && f.Kind == diff.KindRegression && f.Function == function {
				return true
			}
		}
	}
	return false
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{w: &b, prefix: "> "}
	for _, s := range []string{"one\ntw", "o\n", "\nthree"} {
		if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got, want := b.String(), "> one\n> two\n> \n> three"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// requireGit skips without git, or fails under PROFDIFF_STRICT=1.
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		strict.SkipOrFail(t, "git is not on PATH")
	}
}

// TestDuetBuildsBaseFromRef checks the base's checkout and build in a
// small repository of its own: the base is built from the commit the ref
// names, not from the working tree, the temporary worktree is removed
// afterwards, and a ref that is not there gets an error saying so.
func TestDuetBuildsBaseFromRef(t *testing.T) {
	requireGit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(msg string) {
		t.Helper()
		main := filepath.Join(repo, "services", "cmd", "bank", "main.go")
		os.MkdirAll(filepath.Dir(main), 0o755)
		src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Print(" + `"` + msg + `"` + ") }\n"
		if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module example.com/bank\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("base")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	first := git("rev-parse", "HEAD")
	write("candidate") // the working tree, uncommitted

	tmp := t.TempDir()
	o := DuetOptions{BaseRef: "HEAD", Repo: repo}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	bin, commit, err := o.baseBinary(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	if commit != first {
		t.Errorf("base commit %s, want %s", commit, first)
	}
	cand, err := o.candidateBinary(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	for bin, want := range map[string]string{bin: "base", cand: "candidate"} {
		out, err := exec.CommandContext(ctx, bin).Output()
		if err != nil || string(out) != want {
			t.Errorf("%s printed %q (%v), want %q", bin, out, err, want)
		}
	}
	if wt := git("worktree", "list", "--porcelain"); strings.Count(wt, "worktree ") != 1 {
		t.Errorf("the base worktree is still registered:\n%s", wt)
	}

	o.BaseRef = "no-such-branch"
	if _, _, err := o.baseBinary(ctx, tmp); err == nil || !strings.Contains(err.Error(), `"no-such-branch" is not a commit`) {
		t.Errorf("error %v, want one saying the ref is not a commit", err)
	}
}

func collected(s *baseline.Snapshot) *pyroscope.Result { return &pyroscope.Result{Snapshot: s} }

// TestDuetTimeBound: a duet that cannot finish within its time bound says
// so before it starts a stack.
func TestDuetTimeBound(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bank")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Duet(context.Background(), DuetOptions{BaseBinary: bin, CandidateBinary: bin, Pairs: 4, Timeout: 30 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "4 pairs of 30s blocks need about 3m0s") {
		t.Fatalf("error %v, want one saying how long the blocks need", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("refused after %s; it should refuse before starting a stack", el)
	}
}

// TestDuetGatedSeriesBar: a side of P runs is asked for the samples the
// gate asks of one run, half again, not P times that (both sides of a duet
// hold P runs). Each synthetic run holds 18,000 samples.
func TestDuetGatedSeriesBar(t *testing.T) {
	blocks := blocksOf(SideBase, duetSide(t, 1, 4, 1), okLoad)
	base, err := mergeDuetSide(blocks, SideBase, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		minSamples int64
		gated      bool
	}{
		{20000, true},  // 72,000 samples >= 1.5 x 20,000
		{60000, false}, // 72,000 < 1.5 x 60,000
	} {
		var o gate.Options
		o.Params.MinSamples = c.minSamples
		kept, dropped, err := duetGatedSeries(base, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(kept.Series) == 1; got != c.gated {
			t.Errorf("min samples %d: gated %v, want %v (dropped %q)", c.minSamples, got, c.gated, dropped)
		}
	}
}
