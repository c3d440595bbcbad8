package diff

import (
	"fmt"
	"time"
)

// Normalization says how a function's per-window value is made comparable
// across windows and runs.
type Normalization string

// The normalizations.
const (
	// Share divides each value by its window's total. It is the default
	// because it cancels out how much load each run happened to get: a
	// function that takes 5% of the CPU takes 5% whether the run served 100
	// or 120 requests a second.
	Share Normalization = "share"
	// Rate divides each value by the window's length in seconds. It is only
	// meaningful when the load rate is held fixed, but then it also sees a
	// regression that slows everything down evenly, which shares cannot.
	Rate Normalization = "rate"
	// Rest divides each value by the rest of its window's total: the total
	// less the value itself, so a function's cost is weighed against
	// everything else its process did in the same window. A change of the
	// process's whole level from one run to the next (on a shared 2-core
	// machine a service's CPU per request moves by about ±10% between
	// starts) cancels out, as it does for shares, but a function's own
	// increase is not diluted by its weight: +50% in a function that holds
	// 45% of the profile is +50% against the rest, where its share rises
	// by only 22%. What it cannot see, like shares, is a change that makes
	// everything in the process slower alike.
	Rest Normalization = "rest"
)

// maxRestOdds caps a value under Rest: a function that is nearly all of its
// window (a root of every stack) has almost no rest to weigh it against, and
// its ratio is then at most this.
const maxRestOdds = 1000

// ParseNormalization accepts "share", "rest" or "rate" ("" means share).
func ParseNormalization(s string) (Normalization, error) {
	switch s {
	case "", "share":
		return Share, nil
	case "rate":
		return Rate, nil
	case "rest":
		return Rest, nil
	}
	return "", fmt.Errorf("normalization %q: want share, rest or rate", s)
}

// Params are the knobs of the regression decision. A zero field means "use
// the default" (see DefaultParams), so callers set only what they change.
type Params struct {
	// Threshold is the smallest relative increase that can fail the run
	// (0.10 = +10%): statistically certain but tiny changes are not worth a
	// red build.
	Threshold float64
	// Floor is the smallest share of the profile (0.01 = 1%) a function must
	// have now to fail the run, and, on either side, to be tested at all.
	// Below it a function costs too little to matter, and testing hundreds
	// of cold functions would only dilute the false-discovery control.
	Floor float64
	// Alpha is the false-discovery rate (Benjamini–Hochberg) controlled over
	// the functions tested in one series.
	Alpha float64
	// MinWindows is the fewest usable windows a side may have. Fewer give no
	// honest estimate of the window-to-window variance. 1 accepts a single
	// profile a side, as a direct comparison of two pprof files has: with
	// no windows to scatter, each function is judged on the sampling noise
	// its profile's sample count implies (the floor of the model in
	// stats.go), and the caller must say so.
	MinWindows int
	// MinSamples is the fewest sampling events a side may have in total
	// (when the profile says how many it holds). Fewer cannot resolve a
	// threshold-sized change of a floor-sized function.
	MinSamples int64
	// MinRunDrift is the least relative drift of a process's level from one
	// run to the next that the tests assume (0.10 = ±10%), whatever the
	// baseline's runs show (0: none). A few baseline runs see only a few
	// draws of that drift and can make it look small by luck; a floor
	// measured over many runs of the machine keeps such a baseline from
	// failing the next run on every function at once. It applies to a whole
	// series, and only to rates: a process's level is common to all its
	// functions and cancels in a share or a ratio to the rest.
	MinRunDrift float64
	// Normalization, when set, is the series' normalization, over
	// Options.Normalization and Options.TypeNormalization: a rules file
	// sets it per service and profile type. It applies to a whole series.
	Normalization Normalization
}

// The defaults. Alpha is 1% rather than the customary 5% because the target
// is at most one false alarm per hundred gated series on A/A runs (same build
// both sides), measured in TestAAFalseAlarmRate; with seven services and three
// profile types a run has about twenty series.
const (
	DefaultThreshold  = 0.10
	DefaultFloor      = 0.01
	DefaultAlpha      = 0.05
	DefaultMinWindows = 4
	DefaultMinSamples = 300
)

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{
		Threshold:  DefaultThreshold,
		Floor:      DefaultFloor,
		Alpha:      DefaultAlpha,
		MinWindows: DefaultMinWindows,
		MinSamples: DefaultMinSamples,
	}
}

// Merge returns p with every zero field taken from def.
func (p Params) Merge(def Params) Params {
	if p.Threshold == 0 {
		p.Threshold = def.Threshold
	}
	if p.Floor == 0 {
		p.Floor = def.Floor
	}
	if p.Alpha == 0 {
		p.Alpha = def.Alpha
	}
	if p.MinWindows == 0 {
		p.MinWindows = def.MinWindows
	}
	if p.MinSamples == 0 {
		p.MinSamples = def.MinSamples
	}
	if p.MinRunDrift == 0 {
		p.MinRunDrift = def.MinRunDrift
	}
	if p.Normalization == "" {
		p.Normalization = def.Normalization
	}
	return p
}

// Validate reports a parameter outside its meaningful range.
func (p Params) Validate() error {
	switch {
	case !(p.Threshold > 0 && p.Threshold <= 10):
		if p.Threshold > 10 && p.Threshold <= 1000 {
			return fmt.Errorf("threshold %g out of range (0, 10]: a fraction, so +%g%% is %g; did you mean %g%%?", p.Threshold, p.Threshold, p.Threshold/100, p.Threshold)
		}
		return fmt.Errorf("threshold %g out of range (0, 10]", p.Threshold)
	case !(p.Floor >= 0 && p.Floor < 1):
		return fmt.Errorf("floor %g out of range [0, 1)", p.Floor)
	case !(p.Alpha > 0 && p.Alpha <= 0.5):
		return fmt.Errorf("alpha %g out of range (0, 0.5]", p.Alpha)
	case p.MinWindows < 1:
		return fmt.Errorf("min_windows %d: need at least 1 (2 to estimate the window-to-window variance)", p.MinWindows)
	case p.MinSamples < 0:
		return fmt.Errorf("min_samples %d is negative", p.MinSamples)
	case !(p.MinRunDrift >= 0 && p.MinRunDrift <= 1):
		return fmt.Errorf("min_run_drift %g out of range [0, 1]", p.MinRunDrift)
	}
	if p.Normalization != "" {
		if _, err := ParseNormalization(string(p.Normalization)); err != nil {
			return err
		}
	}
	return nil
}

// Policy refines the parameters per series and per function and says which
// findings are ignored. pkg/rules implements it from a YAML rules file; a
// nil Policy applies Options.Params everywhere.
type Policy interface {
	// SeriesParams returns the parameters of a series, given the run's
	// defaults, and the name of the rule that set them ("" for defaults).
	// MinWindows, MinSamples and Alpha take effect per series.
	SeriesParams(service, profileType string, def Params) (Params, string)
	// FunctionParams returns the Threshold, Floor and Alpha of one function,
	// given its series' parameters, and the name of the rule that set them.
	FunctionParams(service, profileType, function string, series Params) (Params, string)
	// Ignore reports whether a finding that would fail the run is to be
	// ignored, and the rule and its reason for saying so.
	Ignore(service, profileType, function string) (rule string, ok bool)
	// Warnings are things about the policy itself a user should act on,
	// e.g. expired ignore rules.
	Warnings() []string
}

// CausePolicy is implemented by a Policy that can also accept whole causes
// (see Cause), as a rules file's ignore entry with scope: cause does.
// Ignoring each function of a cause by name would also ignore those
// functions wherever else they regress: accepting a matcher's extra regexp
// work must not let a later runtime.memmove regression under another caller
// through. So the comparison still tests and judges every function, the
// cause model groups the findings, and only then does Compare ask about
// each cause; the run's verdict and counts follow from what it answers.
type CausePolicy interface {
	// IgnoreCause reports whether the cause named for function is to be
	// ignored in one series, with every failing finding folded under it
	// there, and the rule and its reason for saying so.
	IgnoreCause(service, profileType, function string) (rule string, ok bool)
}

// Options control Compare. The zero value compares shares with the default
// parameters.
type Options struct {
	// Normalization is how values are made comparable across windows:
	// Share (default), Rest or Rate.
	Normalization Normalization
	// TypeNormalization overrides Normalization per profile type, keyed by
	// full profile type ID. Lock profiles are the usual case: when one lock
	// dominates the mutex profile, a slower critical section raises its
	// delay per second while its share stays near 100%, so only a rate at
	// a fixed load can show the regression.
	TypeNormalization map[string]Normalization
	// Params are the run's defaults; zero fields take DefaultParams.
	Params Params
	// Policy refines Params per series and function; nil for none. One
	// that is also a CausePolicy can accept whole causes.
	Policy Policy
	// TopUnchanged is how many of a series' hottest unchanged functions are
	// listed among its findings, to show what was tested (default 5; a
	// negative value lists none).
	TopUnchanged int
	// Now stamps Result.Compared; zero means time.Now(). Tests fix it.
	Now time.Time
}
