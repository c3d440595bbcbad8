package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/profdiff/profdiff/internal/childproc"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/gate"
	"github.com/profdiff/profdiff/services/bank"
	"github.com/profdiff/profdiff/services/loadgen"
)

// A duet measures two builds of the services — the base (B, e.g. a pull
// request's merge base) and the candidate (C, the working tree) — on the
// same machine under the same load, in P pairs of blocks, and compares
// them. A stored baseline is valid only on the machine and the hour it was
// recorded on (docs/duet.md): the machine's speed drifts by as much as the
// changes the gate should catch, and slowly, so two blocks measured next to
// each other see nearly the same machine. Pair k's two blocks get the same
// load (rate, and seed Seed+k) and their windows carry Run = k on both
// sides, so the gate can pair run k of the base with run k of the
// candidate and let the drift common to a pair cancel.

// DuetMode says how the two builds share the machine.
type DuetMode string

// The duet modes; docs/duet.md has the measurement that chose the default.
const (
	// DuetInterleaved runs one block at a time, each on a stack started
	// afresh, in the order B C C B B C C B …: the order within a pair
	// alternates, so a steady drift and anything that favours the first or
	// second block of a pair cancel over two pairs. Each block is a new
	// start of every process, so the duet averages over P process starts a
	// side instead of carrying one start's offset in full.
	DuetInterleaved DuetMode = "interleaved"
	// DuetSimultaneous starts both builds' stacks for each pair and loads
	// them at the same time, each at half the load's Rate, so the machine
	// carries the load of one stack: the pair sees exactly the same machine,
	// and the two stacks share its cores.
	DuetSimultaneous DuetMode = "simultaneous"
	// DuetReuse starts each build's stack once and alternates the load
	// between them (B C C B …) without restarting: it saves the start-ups
	// but carries one process start's offset a side, uncancelled.
	DuetReuse DuetMode = "reuse"
)

// Duet defaults, measured on the 2-core machine of docs/duet.md.
const (
	// DefaultDuetMode is simultaneous: on A/A duets there a simultaneous
	// pair took half the time of an interleaved one (one 37 s block
	// instead of two) with about the same error per pair, so in the same
	// time it measures twice the pairs: the change of the functions at 5%
	// or more of their profile was off by 12% (RMS) over six simultaneous
	// pairs against 15-17% over three interleaved ones.
	DefaultDuetMode = DuetSimultaneous
	// DefaultDuetPairs is the number of block pairs P: the duet gate was
	// calibrated at four simultaneous pairs of 30 s, which measure in about
	// 2.5 minutes (docs/duet.md, with the services' allocation windows
	// collected at their boundaries: +25% in the CPU, allocation and lock
	// hot spots named 10, 10 and 9 times in 10; no false regression or
	// improvement in 20 A/A trials). More pairs (--pairs) buy power with
	// time: eight, replayed from the same runs, stated MDEs of 23%, 12% and
	// 13% for the three hot spots against 33%, 12% and 22% at four.
	DefaultDuetPairs = 4
	// DefaultDuetBlock is the measured load of one block, after its warm-up.
	DefaultDuetBlock = 30 * time.Second
	// DefaultDuetTimeout bounds a whole duet: builds, every block, the
	// comparison.
	DefaultDuetTimeout = 12 * time.Minute
	// DefaultDuetAllocRate is a duet's allocation sampling rate in bytes
	// (Go's MemProfileRate), a quarter of a stack's DefaultAllocRate: four
	// times the sampled allocations. A stored baseline fixes its sampling
	// rate for as long as it is used; a duet measures both sides afresh and
	// can choose. On the bank stack the allocation hot spot's comparison
	// was limited by its sampling alone (about 100 sampled allocations a
	// window for the whole notification service at 64 KiB: ±6% on the hot
	// spot over four pairs, where +25% needs ±4%; docs/duet.md).
	DefaultDuetAllocRate = 16 << 10
	// MinDuetAchieved is the share of the target request rate a base block's
	// load must reach: below it the machine could not carry even the base,
	// and the profiles measure the overload more than the build.
	MinDuetAchieved = 0.80
	// MaxDuetLoadMismatch bounds how far the achieved rates of a pair's two
	// blocks may differ (relative to the higher). A shortfall both blocks
	// share is the machine's, common to the pair, and cancels like any
	// other drift (measured on a busy machine: both blocks of a
	// simultaneous pair reached 89-90% of the target together). A base
	// block behind its candidate makes the verdict inconclusive: more load
	// on the candidate's side could pass for a regression. A candidate
	// behind its base is a build that could not keep up with the load it
	// was given; measured in rates, its regressions are understated, not
	// invented, so a regression stands, but a pass is not trusted and
	// becomes inconclusive (measured: with fraud.rules=1.5 on the busy
	// machine the candidate reached 6-15% less than its base in some pairs).
	MaxDuetLoadMismatch = 0.05
)

// DuetOptions configure a duet.
type DuetOptions struct {
	// BaseRef is the git revision the base is built from (e.g. "HEAD",
	// "origin/main", a commit): it is checked out into a temporary git
	// worktree of Repo, which is removed afterwards. Set BaseRef or
	// BaseBinary.
	BaseRef string
	// BaseBinary is a prebuilt base services binary (services/cmd/bank), or
	// a directory holding one named "bank".
	BaseBinary string
	// Repo is the working tree the candidate is built from and BaseRef
	// resolved in; default the profdiff module's directory (this
	// repository's working tree when run from it).
	Repo string
	// CandidateBinary is a prebuilt candidate binary (or a directory holding
	// "bank") used instead of building Repo.
	CandidateBinary string
	// Inject is BANK_INJECT for the candidate only, e.g. "fraud.rules=1.5":
	// a duet of a build with itself plus an injection has a known answer.
	Inject string
	// Pairs is the number of block pairs P (default DefaultDuetPairs).
	Pairs int
	// Load is each block's load; Load.Duration is the block length
	// (default DefaultDuetBlock) and pair k runs with seed Load.Seed+k.
	// In DuetSimultaneous mode each of the two stacks gets half its Rate.
	Load LoadOptions
	// Stack configures every block's stack (backend, sampling, services);
	// its Inject, BankBinary and Version are set per side. Prometheus and
	// Grafana default to off in a duet.
	Stack Options
	// Mode (default DefaultDuetMode).
	Mode DuetMode
	// Timeout bounds the whole duet (default DefaultDuetTimeout).
	Timeout time.Duration
	// Gate is the gate the duet judges with; nil means GateOptions().
	Gate *gate.Options
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// The two sides of a duet, as they appear in progress lines, the blocks and
// the snapshots' "duet" label.
const (
	SideBase      = "base"
	SideCandidate = "candidate"
)

// DuetBlock is one block: one side's measurement in pair Pair.
type DuetBlock struct {
	Pair int
	Side string // SideBase or SideCandidate
	// Measurement holds the block's load result (a short or failing load
	// makes the verdict inconclusive) and its snapshot.
	Measurement *Measurement
	// Down lists the services that did not answer /health after the block.
	Down []string
	// Started is when the block's stack started; Elapsed covers start-up,
	// load, collection and shutdown.
	Started time.Time
	Elapsed time.Duration
}

// DuetResult is a finished duet.
type DuetResult struct {
	// Result is the comparison of Current with Base.
	Result *diff.Result
	// Base and Current are the two sides merged over their blocks
	// (baseline.MergeRuns): run k of each is pair k.
	Base, Current *baseline.Snapshot
	// Blocks in the order they ran.
	Blocks []DuetBlock
	// BaseCommit is the commit BaseRef resolved to ("" for a prebuilt base).
	BaseCommit string
	// BaseBinary and CandidateBinary are the binaries that ran (removed
	// when the duet ends unless they were given).
	BaseBinary, CandidateBinary string
	Mode                        DuetMode
	Pairs                       int
	// BuildTime is the time spent building; Elapsed the whole duet.
	BuildTime, Elapsed time.Duration
}

// Duet builds the base and the candidate, measures them in P pairs of
// blocks and compares them. The caller turns the verdict into an exit
// status with Result.Verdict.ExitCode.
func Duet(ctx context.Context, o DuetOptions) (*DuetResult, error) {
	start := time.Now()
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	progress := o.Progress
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "duet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	out := &DuetResult{Mode: o.Mode, Pairs: o.Pairs}
	if out.BaseBinary, out.BaseCommit, err = o.baseBinary(ctx, tmp); err != nil {
		return nil, bounded(ctx, o.Timeout, "build the base", err)
	}
	if out.CandidateBinary, err = o.candidateBinary(ctx, tmp); err != nil {
		return nil, bounded(ctx, o.Timeout, "build the candidate", err)
	}
	out.BuildTime = time.Since(start)
	rate := fmt.Sprintf("%.0f req/s", o.Load.Rate)
	if o.Mode == DuetSimultaneous {
		rate += ", half to each stack"
	}
	need := o.estimate()
	fmt.Fprintf(progress, "duet: built base and candidate in %s; %d pairs of %s blocks (%s), load %s; about %s to measure\n",
		out.BuildTime.Round(time.Second), o.Pairs, o.Load.Duration, o.Mode, rate, need.Round(10*time.Second))
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < need {
		return nil, fmt.Errorf("duet: %d pairs of %s blocks need about %s, but only %s of the time bound of %s is left (raise the timeout, or measure fewer or shorter blocks)",
			o.Pairs, o.Load.Duration, need.Round(10*time.Second), time.Until(dl).Round(time.Second), o.Timeout)
	}

	sides := map[string]Options{SideBase: o.sideOptions(SideBase, out.BaseBinary, ""), SideCandidate: o.sideOptions(SideCandidate, out.CandidateBinary, o.Inject)}
	switch o.Mode {
	case DuetInterleaved:
		out.Blocks, err = duetInterleaved(ctx, o, sides, tmp)
	case DuetSimultaneous:
		out.Blocks, err = duetSimultaneous(ctx, o, sides, tmp)
	case DuetReuse:
		out.Blocks, err = duetReuse(ctx, o, sides, tmp)
	}
	if err != nil {
		return nil, bounded(ctx, o.Timeout, "measure", err)
	}

	if out.Base, err = mergeDuetSide(out.Blocks, SideBase, o.Pairs); err != nil {
		return nil, err
	}
	if out.Current, err = mergeDuetSide(out.Blocks, SideCandidate, o.Pairs); err != nil {
		return nil, err
	}
	for _, snap := range []*baseline.Snapshot{out.Base, out.Current} {
		snap.Meta.Labels["duet_mode"] = string(o.Mode)
		snap.Meta.Labels["duet_pairs"] = fmt.Sprint(o.Pairs)
		if out.BaseCommit != "" {
			snap.Meta.Labels["duet_base_commit"] = out.BaseCommit
		}
	}
	out.Base.Meta.GitCommit = out.BaseCommit
	gopts := GateOptions()
	if o.Gate != nil {
		gopts = *o.Gate
	}
	if out.Result, err = judgeDuet(out.Base, out.Current, out.Blocks, gopts); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	fmt.Fprintf(progress, "duet: %s after %s (builds %s)\n", out.Result.Verdict, out.Elapsed.Round(time.Second), out.BuildTime.Round(time.Second))
	return out, nil
}

func (o *DuetOptions) setDefaults() error {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	// Simultaneous blocks write from two goroutines.
	o.Progress = childproc.NewSyncWriter(o.Progress)
	if (o.BaseRef == "") == (o.BaseBinary == "") {
		return errors.New("duet: set exactly one of the base ref (--against REF) and the base binary")
	}
	if o.Stack.Inject != "" {
		return errors.New("duet: the stack's Inject would apply to both sides; set DuetOptions.Inject, which applies to the candidate only")
	}
	if _, err := bank.ParseInject(o.Inject); err != nil {
		return fmt.Errorf("duet: inject: %w", err)
	}
	if o.Pairs == 0 {
		o.Pairs = DefaultDuetPairs
	}
	if o.Pairs < 1 {
		return fmt.Errorf("duet: %d pairs: want at least 1", o.Pairs)
	}
	if o.Load.Duration == 0 {
		o.Load.Duration = DefaultDuetBlock
	}
	if o.Load.Rate == 0 {
		o.Load.Rate = DefaultRate
	}
	if o.Load.Seed == 0 {
		o.Load.Seed = 1
	}
	if o.Mode == "" {
		o.Mode = DefaultDuetMode
	}
	switch o.Mode {
	case DuetInterleaved, DuetSimultaneous, DuetReuse:
	default:
		return fmt.Errorf("duet: mode %q: want %s, %s or %s", o.Mode, DuetInterleaved, DuetSimultaneous, DuetReuse)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultDuetTimeout
	}
	// A block measures profiles only; Prometheus and Grafana would start in
	// every block and scrape during it, on both sides alike, for nothing
	// the verdict reads. They run only when asked for ("on" or "auto").
	if o.Stack.Prometheus == "" {
		o.Stack.Prometheus = "off"
	}
	if o.Stack.Grafana == "" {
		o.Stack.Grafana = "off"
	}
	if o.Stack.WorkDir != "" {
		return errors.New("duet: every block gets its own work directory; leave Stack.WorkDir empty")
	}
	if o.Stack.AllocRate == 0 {
		o.Stack.AllocRate = DefaultDuetAllocRate
	}
	return nil
}

// blockOverhead is a block's time beyond its load, measured on the 2-core
// machine of docs/duet.md with the local backend: start-up, waiting for the
// last upload, collection and shutdown took 1-2 s; the rest is margin for a
// slower machine or the docker backend.
const blockOverhead = 10 * time.Second

// estimate is how long the blocks take.
func (o *DuetOptions) estimate() time.Duration {
	warm := o.Load.Warmup
	if warm == 0 {
		warm = o.Stack.UploadInterval
		if warm == 0 {
			warm = DefaultUploadInterval
		}
	}
	blocks := 2 * o.Pairs
	if o.Mode == DuetSimultaneous {
		blocks = o.Pairs
	}
	return time.Duration(blocks) * (warm + o.Load.Duration + blockOverhead)
}

// bounded names the time bound when it is why step failed.
func bounded(ctx context.Context, bound time.Duration, step string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("duet: %s: the time bound of %s ran out (raise the timeout, or measure fewer or shorter blocks): %w", step, bound, err)
	}
	return fmt.Errorf("duet: %s: %w", step, err)
}

// sideOptions are the stack options of one side's blocks.
func (o *DuetOptions) sideOptions(side, bin, inject string) Options {
	so := o.Stack
	so.Services = append([]string(nil), o.Stack.Services...)
	so.BankBinary = bin
	so.Inject = inject
	so.Version = side
	// Each build's services image under its own tag, so the two sides'
	// stacks can run at once and neither rebuilds the other's image.
	so.bankImageTag = "profdiff/bank:duet-" + side
	return so
}

// baseBinary builds (or finds) the base's services binary.
func (o *DuetOptions) baseBinary(ctx context.Context, tmp string) (bin, commit string, err error) {
	if o.BaseBinary != "" {
		bin, err = prebuiltBank(o.BaseBinary)
		return bin, "", err
	}
	repo, err := o.repo(ctx)
	if err != nil {
		return "", "", err
	}
	commit, err = resolveCommit(ctx, repo, o.BaseRef)
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(o.Progress, "duet: base %s is commit %s; checking it out into a temporary worktree\n", o.BaseRef, shortCommit(commit))
	wt := filepath.Join(tmp, "base-src")
	if out, err := gitCmd(ctx, repo, "worktree", "add", "--detach", "--quiet", wt, commit).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("git worktree add %s: %v: %s", o.BaseRef, err, strings.TrimSpace(string(out)))
	}
	defer func() {
		// A worktree left registered would block the next duet's checkout
		// of the same path and show up in `git worktree list`.
		if out, rerr := gitCmd(context.WithoutCancel(ctx), repo, "worktree", "remove", "--force", wt).CombinedOutput(); rerr != nil {
			fmt.Fprintf(o.Progress, "duet: could not remove the base worktree %s: %v: %s\n", wt, rerr, strings.TrimSpace(string(out)))
		}
	}()
	fmt.Fprintf(o.Progress, "duet: building the base (%s) from %s\n", shortCommit(commit), wt)
	bin, err = buildBankIn(ctx, wt, filepath.Join(tmp, "base"))
	return bin, commit, err
}

// candidateBinary builds (or finds) the candidate's services binary.
func (o *DuetOptions) candidateBinary(ctx context.Context, tmp string) (string, error) {
	if o.CandidateBinary != "" {
		return prebuiltBank(o.CandidateBinary)
	}
	repo, err := o.repo(ctx)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(o.Progress, "duet: building the candidate from the working tree %s\n", repo)
	return buildBankIn(ctx, repo, filepath.Join(tmp, "candidate"))
}

func (o *DuetOptions) repo(ctx context.Context) (string, error) {
	if o.Repo == "" {
		dir, err := moduleDir(ctx)
		if err != nil {
			return "", err
		}
		o.Repo = dir
	}
	return o.Repo, nil
}

// prebuiltBank accepts a binary or a directory holding one named "bank".
func prebuiltBank(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("bank binary: %w", err)
	}
	if st.IsDir() {
		p = filepath.Join(p, "bank")
		if st, err = os.Stat(p); err != nil {
			return "", fmt.Errorf("bank binary: %w", err)
		}
	}
	if st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("bank binary %s is not executable", p)
	}
	return filepath.Abs(p)
}

// BuildServices builds the services binary (services/cmd/bank) of the
// source tree src — a checkout of this repository — into outDir and
// returns its path. A duet of a build with itself (DuetOptions.BaseBinary
// and CandidateBinary both set to it) is an A/A run.
func BuildServices(ctx context.Context, src, outDir string) (string, error) {
	if src == "" {
		dir, err := moduleDir(ctx)
		if err != nil {
			return "", err
		}
		src = dir
	}
	return buildBankIn(ctx, src, outDir)
}

// buildBankIn builds services/cmd/bank of the source tree src into outDir,
// static (CGO off) so the same binary also runs in a FROM-scratch image.
func buildBankIn(ctx context.Context, src, outDir string) (string, error) {
	out := filepath.Join(outDir, "bank")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./services/cmd/bank")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./services/cmd/bank in %s: %w\n%s", src, err, b)
	}
	return out, nil
}

// resolveCommit resolves ref to a full commit hash in repo, with an error
// that says how to fix a ref that is not there (a shallow CI checkout).
func resolveCommit(ctx context.Context, repo, ref string) (string, error) {
	if strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("base ref %q: a revision cannot start with '-'", ref)
	}
	out, err := gitCmd(ctx, repo, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return "", fmt.Errorf("base ref %q is not a commit in %s (in CI, check out with fetch-depth: 0 so the merge base is present)", ref, repo)
		}
		return "", fmt.Errorf("base ref %q: git rev-parse in %s: %v %s", ref, repo, err, exitStderr(err))
	}
	return strings.TrimSpace(string(out)), nil
}

func gitCmd(ctx context.Context, repo string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	return cmd
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// duetOrder is the side that runs first in pair k: B C, then C B, so the
// sequence is B C C B B C C B … and position within a pair cancels over
// two pairs.
func duetOrder(k int) [2]string {
	if k%2 == 0 {
		return [2]string{SideBase, SideCandidate}
	}
	return [2]string{SideCandidate, SideBase}
}

// blockLoad is pair k's load: the same for both blocks of the pair.
func (o *DuetOptions) blockLoad(k int) LoadOptions {
	l := o.Load
	l.Seed = o.Load.Seed + uint64(k)
	return l
}

// blockOptions gives one block its own work directory and a progress
// writer that prefixes its lines with the block.
func blockOptions(so Options, tmp string, n int, side string, progress io.Writer) Options {
	so.WorkDir = filepath.Join(tmp, fmt.Sprintf("block%02d-%s", n, side))
	so.Progress = &prefixWriter{w: progress, prefix: fmt.Sprintf("  [%s] ", side)}
	return so
}

func duetProgress(o DuetOptions, start time.Time, n, total int, what string) {
	el := time.Since(start)
	step := "block"
	if o.Mode == DuetSimultaneous {
		step = "pair"
	}
	line := fmt.Sprintf("duet: %s %d of %d: %s (%s elapsed", step, n, total, what, el.Round(time.Second))
	if n > 1 {
		// The blocks so far set the pace; the builds are behind us.
		line += fmt.Sprintf(", about %s left", (el / time.Duration(n-1) * time.Duration(total-n+1)).Round(10*time.Second))
	}
	fmt.Fprintln(o.Progress, line+")")
}

// duetInterleaved runs the blocks one at a time, each on a fresh stack.
func duetInterleaved(ctx context.Context, o DuetOptions, sides map[string]Options, tmp string) ([]DuetBlock, error) {
	var blocks []DuetBlock
	total := 2 * o.Pairs
	mstart := time.Now()
	for k := range o.Pairs {
		for _, side := range duetOrder(k) {
			n := len(blocks) + 1
			duetProgress(o, mstart, n, total, fmt.Sprintf("pair %d of %d, %s", k+1, o.Pairs, side))
			b, err := freshBlock(ctx, blockOptions(sides[side], tmp, n, side, o.Progress), o.blockLoad(k), k, side)
			if err != nil {
				return nil, fmt.Errorf("pair %d %s: %w", k+1, side, err)
			}
			blocks = append(blocks, b)
		}
	}
	return blocks, nil
}

// freshBlock starts a stack, measures one block on it and closes it.
func freshBlock(ctx context.Context, so Options, load LoadOptions, k int, side string) (DuetBlock, error) {
	b := DuetBlock{Pair: k, Side: side, Started: time.Now()}
	s, err := Start(ctx, so)
	if err != nil {
		return b, err
	}
	return measureBlock(ctx, s, load, b)
}

// measureBlock measures one block on a started stack, notes the services
// down after it, and closes the stack.
func measureBlock(ctx context.Context, s *Stack, load LoadOptions, b DuetBlock) (DuetBlock, error) {
	var err error
	b.Measurement, err = s.Measure(ctx, load, nil)
	if err == nil {
		b.Down = s.downServices(ctx)
	}
	cerr := s.Close()
	b.Elapsed = time.Since(b.Started)
	if err != nil {
		return b, err
	}
	return b, cerr
}

// duetSimultaneous starts both sides' stacks for each pair and loads them
// at the same time.
func duetSimultaneous(ctx context.Context, o DuetOptions, sides map[string]Options, tmp string) ([]DuetBlock, error) {
	var blocks []DuetBlock
	mstart := time.Now()
	for k := range o.Pairs {
		duetProgress(o, mstart, k+1, o.Pairs, "base and candidate at once")
		load := o.blockLoad(k)
		load.Rate /= 2
		var pair [2]DuetBlock
		var errs [2]error
		// The stacks start one after the other (each takes its free ports
		// and holds them before the next looks), then are loaded at once:
		// started together, two stacks could pick the same free port, and
		// the loser's service exits.
		var stacks [2]*Stack
		for i, side := range []string{SideBase, SideCandidate} {
			pair[i] = DuetBlock{Pair: k, Side: side, Started: time.Now()}
			if stacks[i], errs[i] = Start(ctx, blockOptions(sides[side], tmp, 2*k+1+i, side, o.Progress)); errs[i] != nil {
				break
			}
		}
		if errs[0] != nil || errs[1] != nil {
			for _, st := range stacks {
				if st != nil {
					st.Close()
				}
			}
		} else {
			var wg sync.WaitGroup
			for i := range stacks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pair[i], errs[i] = measureBlock(ctx, stacks[i], load, pair[i])
				}()
			}
			wg.Wait()
		}
		if err := errors.Join(errs[0], errs[1]); err != nil {
			return nil, fmt.Errorf("pair %d: %w", k+1, err)
		}
		blocks = append(blocks, pair[0], pair[1])
	}
	return blocks, nil
}

// duetReuse starts each side's stack once and alternates the load between
// them.
func duetReuse(ctx context.Context, o DuetOptions, sides map[string]Options, tmp string) (_ []DuetBlock, err error) {
	stacks := map[string]*Stack{}
	defer func() {
		for _, s := range stacks {
			if cerr := s.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for i, side := range []string{SideBase, SideCandidate} {
		s, err := Start(ctx, blockOptions(sides[side], tmp, i+1, side, o.Progress))
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", side, err)
		}
		stacks[side] = s
	}
	var blocks []DuetBlock
	total := 2 * o.Pairs
	mstart := time.Now()
	for k := range o.Pairs {
		for _, side := range duetOrder(k) {
			n := len(blocks) + 1
			duetProgress(o, mstart, n, total, fmt.Sprintf("pair %d of %d, %s (running stack)", k+1, o.Pairs, side))
			b := DuetBlock{Pair: k, Side: side, Started: time.Now()}
			s := stacks[side]
			if b.Measurement, err = s.Measure(ctx, o.blockLoad(k), nil); err != nil {
				return nil, fmt.Errorf("pair %d %s: %w", k+1, side, err)
			}
			b.Down = s.downServices(ctx)
			b.Elapsed = time.Since(b.Started)
			blocks = append(blocks, b)
		}
	}
	return blocks, nil
}

// mergeDuetSide merges one side's blocks into one snapshot whose windows
// carry Run = pair index, the same k on both sides, and labels it for
// pairing by runs.
func mergeDuetSide(blocks []DuetBlock, side string, pairs int) (*baseline.Snapshot, error) {
	snaps := make([]*baseline.Snapshot, pairs)
	for _, b := range blocks {
		if b.Side == side {
			snaps[b.Pair] = b.Measurement.Snapshot()
		}
	}
	for k, s := range snaps {
		if s == nil {
			return nil, fmt.Errorf("duet: pair %d has no %s block", k+1, side)
		}
	}
	merged, err := mergeRunsAs(snaps)
	if err != nil {
		return nil, fmt.Errorf("duet: merge the %s blocks: %w", side, err)
	}
	labels := map[string]string{}
	for k, v := range merged.Meta.Labels {
		labels[k] = v
	}
	labels["pairing"] = "runs"
	labels["duet"] = side
	merged.Meta.Labels = labels
	return merged, nil
}

// mergeRunsAs merges single-run snapshots with baseline.MergeRuns so that
// snapshot k's windows carry Run = k. MergeRuns numbers runs in the order
// it meets them, so a snapshot with no windows at all (every service of a
// block silent) would shift the later ones; the runs are renumbered back.
func mergeRunsAs(snaps []*baseline.Snapshot) (*baseline.Snapshot, error) {
	var want []int32 // merged run j belongs to snapshot want[j]
	for k, s := range snaps {
		runs := map[int32]bool{}
		for _, se := range s.Series {
			for _, w := range se.Windows {
				runs[w.Run] = true
			}
		}
		if len(runs) > 1 {
			return nil, fmt.Errorf("block %d holds %d runs, want one", k, len(runs))
		}
		if len(runs) == 1 {
			want = append(want, int32(k))
		}
	}
	merged, err := baseline.MergeRuns(snaps...)
	if err != nil {
		return nil, err
	}
	for _, se := range merged.Series {
		for i := range se.Windows {
			se.Windows[i].Run = want[se.Windows[i].Run]
		}
	}
	return merged, nil
}

// JudgeDuet judges a duet's two merged sides (DuetResult.Base and
// Current) as Duet judged them, without the checks that need the live
// blocks (their load, the services' health): a calibration judges its kept
// duet trials again with it under other rules.
func JudgeDuet(base, cur *baseline.Snapshot, gopts gate.Options) (*diff.Result, error) {
	return judgeDuet(base, cur, nil, gopts)
}

// judgeDuet is the one place a duet's two sides are judged: the base as
// the reference, the candidate as the current side, run k of each being
// pair k. Blocks whose load fell short or failed, or after which services
// were down, make the verdict inconclusive: they measure the failure, not
// the build.
func judgeDuet(base, cur *baseline.Snapshot, blocks []DuetBlock, gopts gate.Options) (*diff.Result, error) {
	gated, dropped, err := duetGatedSeries(base, gopts)
	if err != nil {
		return nil, err
	}
	// The gate compares run k of each side as a pair (both snapshots carry
	// diff.PairingLabel). Each block's failed requests are the gate's
	// rule; whether a block's load fell short is judged below, pair by
	// pair, since in a duet the sides' loads are compared with each other.
	for _, b := range blocks {
		if l := b.Measurement.gateLoad(); l.Requests > 0 {
			l.Rate = 0
			gopts.Loads = append(gopts.Loads, l)
		}
	}
	r, err := gate.Compare(gated, onlyBaselineSeries(cur, gated), gopts)
	if err != nil {
		return nil, err
	}
	for _, d := range dropped {
		r.Warnings = append(r.Warnings, "not gated: "+d)
	}
	var down []string
	seen := map[string]bool{}
	shortDuetLoad(r, blocks)
	for _, b := range blocks {
		for _, name := range b.Down {
			if !seen[name] {
				seen[name] = true
				down = append(down, name)
			}
		}
	}
	if len(down) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("services not answering /health after a block: %s; the duet does not measure the builds, so the verdict is inconclusive", strings.Join(down, ", ")))
		r.Verdict = diff.Inconclusive
	}
	return r, nil
}

// duetGatedSeries is the base side without the series the gate could not
// judge (gate.Prune: the harness rules' whole-series ignores, series too
// thin), as a recorded baseline leaves them out; the reasons are returned.
func duetGatedSeries(base *baseline.Snapshot, gopts gate.Options) (*baseline.Snapshot, []string, error) {
	// Prune asks a K-run baseline for half again K times the samples of
	// the single run it will gate. Both sides of a duet hold the same P
	// runs, so the bar is half again the gate's own, once: the minimum is
	// divided by the runs Prune multiplies it by.
	dopts, err := gate.DiffOptions(base, base, gopts)
	if err != nil {
		return nil, nil, err
	}
	p := dopts.Params.Merge(diff.DefaultParams())
	gopts.Params.MinSamples = max(1, p.MinSamples/int64(runsIn(base)))
	return gate.Prune(base, gopts)
}

// shortDuetLoad judges the blocks' load: inconclusive when a base block
// reached less than MinDuetAchieved of the target rate, or a base block
// fell more than MaxDuetLoadMismatch behind its candidate; a candidate that
// fell behind its base leaves a regression standing, with a warning, and
// turns a pass into inconclusive.
func shortDuetLoad(r *diff.Result, blocks []DuetBlock) {
	type pair struct{ base, cand *loadgen.Result }
	byPair := map[int]*pair{}
	var ks []int
	for _, b := range blocks {
		l := b.Measurement.Load
		if l == nil || l.Rate <= 0 {
			continue
		}
		p := byPair[b.Pair]
		if p == nil {
			p = &pair{}
			byPair[b.Pair] = p
			ks = append(ks, b.Pair)
		}
		if b.Side == SideBase {
			p.base = l
		} else {
			p.cand = l
		}
	}
	sort.Ints(ks)
	var behind []string
	for _, k := range ks {
		p := byPair[k]
		if p.base != nil && p.base.Achieved < MinDuetAchieved*p.base.Rate {
			r.Warnings = append(r.Warnings, fmt.Sprintf("pair %d: the base's load reached %.0f of %.0f req/s (%.1f%%, below %.0f%%): the machine could not carry it, so the verdict is inconclusive",
				k+1, p.base.Achieved, p.base.Rate, 100*p.base.Achieved/p.base.Rate, 100*MinDuetAchieved))
			r.Verdict = diff.Inconclusive
		}
		if p.base == nil || p.cand == nil {
			continue
		}
		b, c := p.base.Achieved, p.cand.Achieved
		apart := math.Abs(b-c) / math.Max(b, c)
		switch {
		case apart <= MaxDuetLoadMismatch:
		case b < c:
			r.Warnings = append(r.Warnings, fmt.Sprintf("pair %d: the base's load reached %.0f req/s, the candidate's %.0f, %.1f%% more (over %.0f%%): more load on one side could pass for a regression, so the verdict is inconclusive",
				k+1, b, c, 100*apart, 100*MaxDuetLoadMismatch))
			r.Verdict = diff.Inconclusive
		default:
			behind = append(behind, fmt.Sprintf("pair %d: %.0f against the base's %.0f req/s", k+1, c, b))
		}
	}
	if len(behind) == 0 {
		return
	}
	msg := fmt.Sprintf("the candidate fell more than %.0f%% behind the load its base carried (%s)", 100*MaxDuetLoadMismatch, strings.Join(behind, "; "))
	if r.Verdict == diff.Pass {
		r.Warnings = append(r.Warnings, msg+": a build that cannot keep up is not a pass, so the verdict is inconclusive")
		r.Verdict = diff.Inconclusive
		return
	}
	r.Warnings = append(r.Warnings, msg+": its regressions, measured as rates, are understated")
}

// prefixWriter prefixes every line written to w.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	var out []byte
	for len(b) > 0 {
		if !p.mid {
			out = append(out, p.prefix...)
		}
		i := strings.IndexByte(string(b), '\n')
		if i < 0 {
			out = append(out, b...)
			p.mid = true
			break
		}
		out = append(out, b[:i+1]...)
		b = b[i+1:]
		p.mid = false
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
