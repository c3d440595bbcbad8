// Package gate is profdiff's regression gate: the one decision every entry
// point makes — profdiff compare and collect, the baseline commands, the
// GitHub Action, the bank stack's harness and its calibration. It holds what
// is policy rather than statistics: the defaults and the measurements behind
// them (DefaultRules), how values are normalized for each pair of
// snapshots, which series a baseline records and why others are left out
// (Prune), and the rules that make a verdict inconclusive (too few windows
// or samples, missing data, a load that fell short or failed). The
// statistics themselves are pkg/diff's.
//
// One gate, one set of defaults: a user of the CLI gets the gate the
// project calibrated on its own stack (docs/verdict-quality.md).
package gate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/rules"
)

// DefaultRules are the gate's own rules (pkg/rules format), under any rules
// file a user gives, when the current side is compared with a stored
// baseline. Each was measured on the bank stack of docs/verdict-quality.md
// (2 vCPU, 7 services):
//
//   - lock and block delay move between runs of one build far more than
//     between the windows of one run (a lock caller moved up to +73% over 20
//     A/A runs), so they fail only from +50%, assuming ±10% drift;
//   - a process's CPU cost per unit of work moves by about ±5-10% from one
//     start to the next, and a baseline's few runs can agree by luck, so CPU
//     assumes at least ±5% (the measured drift, when larger, is used);
//   - the profiler's own frames, symbol-less runtime lock frames and the
//     runtime's own locks name no code of the service to fix.
const DefaultRules = `version: 1
overrides:
  - name: lock and block delay fail from +50% and assume ±10% drift between runs
    type: [lock, block]
    threshold: 50%
    min_run_drift: 10%
  - name: a process's CPU per unit of work drifts ±5% or more between runs
    type: [cpu]
    min_run_drift: 5%
` + defaultIgnores

// DuetRules are the gate's own rules for a duet: base and candidate
// measured side by side (diff.Paired). The drift that DefaultRules' lock
// threshold and floors allow for is the machine's and the hour's, and a
// duet's pairs share it, so it cancels (docs/duet.md): every profile type
// fails from the default threshold, and only the ignores remain.
const DuetRules = "version: 1\n" + defaultIgnores

const defaultIgnores = `ignore:
  - function_regexp: 'runtime/pprof\..*|github\.com/grafana/pyroscope-go[./].*|runtime\.(?:stkbucket|mProf_.*|profilealloc|blockevent|saveblockevent|mutexevent)'
    reason: the profiler's own work, not the service's (the runtime's profile bookkeeping included)
  - function: '<unknown>'
    reason: runtime lock frames without symbols name no code to fix
  - type: [lock, block]
    function_regexp: 'runtime\..*'
    reason: the Go runtime's own locks (sysmon, GC, scheduler) name no code of the service to fix
`

var defaultRules, duetRules = mustParse(DefaultRules, "profdiff's default rules"), mustParse(DuetRules, "profdiff's duet rules")

func mustParse(text, name string) *rules.Rules {
	r, err := rules.Parse([]byte(text), name)
	if err != nil {
		panic("gate: " + name + ": " + err.Error()) // a constant; TestDefaultRules parses it
	}
	return r
}

// LoadRateLabel is the snapshot label (Meta.Labels) a harness that drove a
// fixed load writes its total request rate into. When both sides carry the
// same rate, values are compared as rates per second; otherwise as shares.
const LoadRateLabel = "load_rate"

// Options configure a gate run. The zero value is the default gate.
type Options struct {
	// Rules is the team's rules file, layered over DefaultRules; nil for
	// none.
	Rules *rules.Rules
	// Params are this run's choices (command-line flags): non-zero fields
	// win over every rules file's defaults.
	Params diff.Params
	// Normalization forces one normalization for every series; "" lets
	// the gate choose (see Normalization).
	Normalization diff.Normalization
	// Loads are the load runs the current side was measured under, when
	// the caller drove the load: a run that fell short of its rate or
	// failed makes the verdict inconclusive.
	Loads []Load
	// TopUnchanged is diff.Options.TopUnchanged.
	TopUnchanged int
	// Now judges ignore expiry and stamps the result; zero means now.
	Now time.Time
}

// Normalization is how the gate compares base with cur unless told: as
// rates per second when both were measured under the same fixed load (the
// harness writes LoadRateLabel), because a rate also sees a change that a
// share hides when one function is most of its profile (+50% work in a
// function at half its service's CPU moves its share by +20%); as shares
// otherwise, because a share cancels how much load each side happened to
// get.
func Normalization(base, cur *baseline.Snapshot) diff.Normalization {
	b, c := base.Meta.Labels[LoadRateLabel], cur.Meta.Labels[LoadRateLabel]
	if b != "" && b == c {
		return diff.Rate
	}
	return diff.Share
}

// DiffOptions are the comparison options of the gate for base and cur.
func DiffOptions(base, cur *baseline.Snapshot, o Options) (diff.Options, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	norm := o.Normalization
	if norm == "" {
		norm = Normalization(base, cur)
	}
	own := defaultRules
	if diff.Paired(base, cur) {
		own = duetRules
	}
	r := rules.Layer(own, o.Rules)
	// Flags beat the files' defaults: a file is the team's policy, a flag
	// is this run's deliberate choice.
	layered := *r
	layered.Defaults = o.Params.Merge(r.Defaults)
	if err := layered.Defaults.Merge(diff.DefaultParams()).Validate(); err != nil {
		return diff.Options{}, err
	}
	return diff.Options{
		Normalization: norm,
		Params:        layered.Defaults,
		Policy:        layered.Policy(now),
		TopUnchanged:  o.TopUnchanged,
		Now:           now,
	}, nil
}

// Compare gates cur against base: the comparison (pkg/diff) with the gate's
// options, then the inconclusive rules that need more than the profiles.
// The current side is compared only for the series the baseline has,
// except that a series the current run has and the baseline lacks is
// listed (and warned about) without being compared.
func Compare(base, cur *baseline.Snapshot, o Options) (*diff.Result, error) {
	if base == nil || cur == nil {
		return nil, fmt.Errorf("gate: nil snapshot")
	}
	dopts, err := DiffOptions(base, cur, o)
	if err != nil {
		return nil, err
	}
	res, err := diff.Compare(base, cur, dopts)
	if err != nil {
		return nil, err
	}
	for _, l := range o.Loads {
		if why := l.Problem(); why != "" {
			res.Warnings = append(res.Warnings, why+"; its profiles measure that, not the build, so the verdict is inconclusive")
			res.Verdict = diff.Inconclusive
		}
	}
	return res, nil
}

// Load is one load run behind a measured side.
type Load struct {
	// Rate is the request rate asked for (per second); 0 when the load
	// was not the caller's to fix.
	Rate float64
	// Achieved is the rate delivered.
	Achieved float64
	// Requests and Errors count the run's requests and failed ones;
	// ErrorsByService names where they failed.
	Requests, Errors int
	ErrorsByService  map[string]int
}

// The load rules. A run whose requests failed measures the failure (a
// crashed service changes every profile that depends on it); a run that
// delivered less than it asked measures a lighter load, and under rate
// normalization every function looks faster or slower for it (on a busy
// 2-core machine the load generator delivered 413 req/s of 500 and the
// comparison reported 90 regressions). Poisson arrivals over a minute at
// 500/s vary by under 1%, so 5% short is not chance.
const (
	MaxLoadErrorRate = 0.01
	MinLoadFraction  = 0.95
)

// Problem says, in a phrase, why the load run does not measure the build,
// or "".
func (l Load) Problem() string {
	if l.Requests > 0 && float64(l.Errors)/float64(l.Requests) > MaxLoadErrorRate {
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(l.ErrorsByService)) {
			if n := l.ErrorsByService[name]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", name, n))
			}
		}
		where := ""
		if len(parts) > 0 {
			where = " (" + strings.Join(parts, ", ") + ")"
		}
		return fmt.Sprintf("the load run failed: %.1f%% of %d requests failed%s, more than %.0f%%", 100*float64(l.Errors)/float64(l.Requests), l.Requests, where, 100*MaxLoadErrorRate)
	}
	if l.Rate > 0 && l.Achieved < MinLoadFraction*l.Rate {
		return fmt.Sprintf("the load run fell short: %.0f req/s delivered of %.0f asked (%.0f%%, need %.0f%%)", l.Achieved, l.Rate, 100*l.Achieved/l.Rate, 100*MinLoadFraction)
	}
	return ""
}

// Prune drops from a freshly recorded snapshot the series no later run can
// be gated against, and says why for each: series the rules ignore as a
// whole, and series too thin to gate even against themselves (too few
// windows or samples: a service with almost no lock contention, say).
// Recording them would make every later gate inconclusive for a reason the
// baseline alone causes; leaving them out, and saying so, keeps the gate
// honest about what it covers.
//
// A series is kept only with half again the samples the gate needs per
// run, so a later run with a little less load does not fall just short.
func Prune(snap *baseline.Snapshot, o Options) (*baseline.Snapshot, []string, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := rules.Layer(defaultRules, o.Rules)
	dopts, err := DiffOptions(snap, snap, o)
	if err != nil {
		return nil, nil, err
	}
	// A snapshot merged from K runs holds K runs' samples; a later run has
	// one run's. The bar goes in as this run's parameter, so that it wins
	// over every rules file's defaults, as a flag does.
	p := dopts.Params.Merge(diff.DefaultParams())
	o.Params.MinSamples = p.MinSamples * 3 / 2 * int64(Runs(snap))
	if dopts, err = DiffOptions(snap, snap, o); err != nil {
		return nil, nil, err
	}
	self, err := diff.Compare(snap, snap, dopts)
	if err != nil {
		return nil, nil, err
	}
	out := &baseline.Snapshot{Meta: snap.Meta}
	var dropped []string
	for _, sr := range self.Series {
		se := snap.Lookup(sr.Service, sr.ProfileType)
		if se == nil {
			continue
		}
		name := sr.Service + " " + profiletype.MustAlias(sr.ProfileType)
		if why, ok := r.SeriesIgnored(sr.Service, sr.ProfileType, now); ok {
			dropped = append(dropped, name+": "+why)
			continue
		}
		if sr.Verdict == diff.Inconclusive {
			dropped = append(dropped, name+": "+sr.Reason)
			continue
		}
		out.Put(se)
	}
	return out, dropped, nil
}

// Runs counts the independent runs a snapshot's windows come from.
func Runs(snap *baseline.Snapshot) int {
	runs := map[int32]bool{}
	for _, se := range snap.Series {
		for _, w := range se.Windows {
			runs[w.Run] = true
		}
	}
	return max(1, len(runs))
}
