package calibration

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// SweepThresholds are the thresholds (relative increases) a calibration's
// summary evaluates for every profile group, from the CPU and allocation
// default (+10%) to the harness's lock threshold before the first sweep
// (+300%).
var SweepThresholds = []float64{0.10, 0.25, 0.50, 1.00, 2.00, 3.00}

// SweepRow is what one threshold for one profile group would have done in
// the calibration's runs: the gate is re-evaluated from each series'
// credible increases (Series.Credible), which do not depend on the
// threshold, so one calibration measures them all.
type SweepRow struct {
	Group     string  `json:"group"` // cpu, alloc, lock, ...
	Threshold float64 `json:"threshold"`
	// A/A runs with a false regression in a series of this group, and A/A
	// series trials (A/A runs and bystanders) with one.
	AARuns        int              `json:"aa_runs"`
	AARunsFalse   int              `json:"aa_runs_false"`
	AASeries      int              `json:"aa_series"`
	AASeriesFalse int              `json:"aa_series_false"`
	Detection     []SweepDetection `json:"detection"`
}

// SweepDetection is one hot spot at one magnitude under one threshold:
// trials in which its function is a regression in its profile type or the
// group's other type. Magnitude 1 is the A/A runs: a "found" there is a
// false alarm on the hot spot's own function.
type SweepDetection struct {
	Inject    string  `json:"inject"`
	Magnitude float64 `json:"magnitude"`
	Trials    int     `json:"trials"`
	Found     int     `json:"found"`
}

// fires reports whether a credible increase is a regression at threshold th.
func fires(f Finding, th float64) bool {
	return f.Change >= th // a new hot path's change is MaxFloat64
}

// Sweep evaluates SweepThresholds for every profile group in the runs.
func (c *Result) Sweep() []SweepRow {
	groups := map[string]bool{}
	for _, r := range c.Runs {
		for _, cs := range r.Series {
			groups[group(cs.Alias)] = true
		}
	}
	var out []SweepRow
	for _, g := range sortedGroups(groups) {
		for _, th := range SweepThresholds {
			out = append(out, c.sweepRow(g, th))
		}
	}
	return out
}

func sortedGroups(m map[string]bool) []string {
	order := map[string]int{string(profiletype.KindCPU): 0, string(profiletype.KindAlloc): 1, string(profiletype.KindLock): 2, string(profiletype.KindBlock): 3}
	var gs []string
	for g := range m {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool {
		oi, iok := order[gs[i]]
		oj, jok := order[gs[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return gs[i] < gs[j]
	})
	return gs
}

func (c *Result) sweepRow(g string, th float64) SweepRow {
	row := SweepRow{Group: g, Threshold: th}
	var det detectionTally
	for _, r := range c.Runs {
		if r.failed() {
			continue
		}
		runHas, runFalse := false, false
		for _, cs := range r.Series {
			if group(cs.Alias) != g || cs.Role != RoleAA {
				continue
			}
			fired := false
			for _, f := range cs.Credible {
				if fires(f, th) {
					fired = true
				}
			}
			row.AASeries++
			if fired {
				row.AASeriesFalse++
			}
			if r.Kind == "aa" {
				runHas = true
				runFalse = runFalse || fired
			}
		}
		if runHas {
			row.AARuns++
			if runFalse {
				row.AARunsFalse++
			}
		}
		for _, t := range r.Trials {
			if group(t.Profile) == g {
				det.add(t, r.hotspotFires(t, th))
			}
		}
	}
	row.Detection = det.rows()
	return row
}

// hotspotFires reports whether the trial's function is a regression at
// threshold th in its profile type or the group's other one.
func (r *Run) hotspotFires(t *HotspotTrial, th float64) bool {
	return r.trialFound(t, func(cs *Series) []Finding {
		var out []Finding
		for _, f := range cs.Credible {
			if fires(f, th) {
				out = append(out, f)
			}
		}
		return out
	})
}

// trialFound reports whether firing names the trial's function in its
// profile type or the group's other one.
func (r *Run) trialFound(t *HotspotTrial, firing func(*Series) []Finding) bool {
	for _, cs := range r.Series {
		if cs.Service != t.Service || (cs.Alias != t.Profile && cs.Alias != t.AltProfile) {
			continue
		}
		for _, f := range firing(cs) {
			if f.Function == t.Function {
				return true
			}
		}
	}
	return false
}

// AtThresholds evaluates one threshold per profile group or type (a type's
// own entry wins over its group's; one given neither keeps the threshold
// the calibration ran with, as its regressions show; +Inf means not
// gated): the A/A runs with a false regression in any series, and per hot
// spot and magnitude the trials that found it.
func (c *Result) AtThresholds(th map[string]float64) (aaRuns, aaFalse int, det []SweepDetection) {
	var tally detectionTally
	firing := func(cs *Series) []Finding {
		t, ok := th[cs.Alias] // a profile type's own threshold first
		if !ok {
			t, ok = th[group(cs.Alias)]
		}
		if !ok {
			return cs.Regressions
		}
		var out []Finding
		for _, f := range cs.Credible {
			if fires(f, t) {
				out = append(out, f)
			}
		}
		return out
	}
	for _, r := range c.Runs {
		if r.failed() {
			continue
		}
		if r.Kind == "aa" {
			aaRuns++
			for _, cs := range r.Series {
				if cs.Role == RoleAA && len(firing(cs)) > 0 {
					aaFalse++
					break
				}
			}
		}
		for _, t := range r.Trials {
			tally.add(t, r.trialFound(t, firing))
		}
	}
	return aaRuns, aaFalse, tally.rows()
}

// detectionTally counts trials and finds per hot spot and magnitude.
type detectionTally struct {
	m map[tallyKey]*SweepDetection
}

type tallyKey struct {
	inject string
	factor float64
}

func (d *detectionTally) add(t *HotspotTrial, found bool) {
	if d.m == nil {
		d.m = map[tallyKey]*SweepDetection{}
	}
	k := tallyKey{t.Inject, t.Factor}
	x := d.m[k]
	if x == nil {
		x = &SweepDetection{Inject: t.Inject, Magnitude: t.Factor}
		d.m[k] = x
	}
	x.Trials++
	if found {
		x.Found++
	}
}

// rows lists the tallies by hot spot name, then magnitude from the largest
// (the A/A rows, magnitude 1, last).
func (d *detectionTally) rows() []SweepDetection {
	var out []SweepDetection
	for _, x := range d.m {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Inject != out[j].Inject {
			return out[i].Inject < out[j].Inject
		}
		return out[i].Magnitude > out[j].Magnitude
	})
	return out
}

// ParseThresholds reads "cpu=10%,alloc=0.25,lock=50%,mutex_count=off" into
// a threshold per profile group (cpu, alloc, lock, block) or profile type
// alias; "off" means the type or group is not gated.
func ParseThresholds(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("threshold %q: want GROUP=VALUE, e.g. lock=50%%", part)
		}
		if v == "off" {
			out[k] = math.Inf(1)
			continue
		}
		pct := strings.HasSuffix(v, "%")
		var x float64
		if _, err := fmt.Sscan(strings.TrimSuffix(v, "%"), &x); err != nil || math.IsNaN(x) || x < 0 {
			return nil, fmt.Errorf("threshold %q: %q is not a non-negative number", part, v)
		}
		if pct {
			x /= 100
		}
		out[k] = x
	}
	return out, nil
}

// WriteSweep prints the threshold sweep, and, when th is not empty, the
// whole gate evaluated at th.
func (c *Result) WriteSweep(w io.Writer, th map[string]float64) {
	rows := c.Sweep()
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nThreshold sweep (each group's threshold varied alone; detection = hot spot named in its type or the group's other type; \"none\" = A/A runs, where a find is a false alarm on the hot spot)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| group | threshold | A/A runs with a false regression in the group | A/A series trials with one | detection |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		var d []string
		for _, x := range r.Detection {
			d = append(d, fmt.Sprintf("%s %s %s", x.Inject, injected(x.Magnitude), frac(x.Found, x.Trials)))
		}
		fmt.Fprintf(w, "| %s | +%.0f%% | %s | %s | %s |\n", r.Group, 100*r.Threshold, frac(r.AARunsFalse, r.AARuns), frac(r.AASeriesFalse, r.AASeries), strings.Join(d, "; "))
	}
	if len(th) == 0 {
		return
	}
	var parts []string
	for _, g := range sortedGroups(boolKeys(th)) {
		if math.IsInf(th[g], 1) {
			parts = append(parts, g+" off")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s +%.0f%%", g, 100*th[g]))
	}
	n, f, det := c.AtThresholds(th)
	fmt.Fprintf(w, "\nAt thresholds %s (other groups as run): A/A runs with any false regression %s\n\n", strings.Join(parts, ", "), frac(f, n))
	fmt.Fprintln(w, "| hot spot | injected | found |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, x := range det {
		fmt.Fprintf(w, "| %s | %s | %s |\n", x.Inject, injected(x.Magnitude), frac(x.Found, x.Trials))
	}
}

func boolKeys(m map[string]float64) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
