package calibration

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/services/loadgen"
	"github.com/profdiff/profdiff/testenv"
)

// Float is a float64 whose JSON form is null when it is NaN or infinite
// (not measured, or a new hot path), which encoding/json cannot write.
type Float float64

var nan = Float(math.NaN())

// MarshalJSON writes null for NaN and infinities.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(x)
}

// UnmarshalJSON reads null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = nan
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = Float(x)
	return nil
}

// Summary aggregates a calibration's runs.
type Summary struct {
	// AARuns counts the completed A/A runs; AARunsFalseAlarm those with any
	// regression in any series.
	AARuns           int `json:"aa_runs"`
	AARunsFalseAlarm int `json:"aa_runs_with_false_alarm"`
	// AARunsFalseImprovement counts the A/A runs with any improvement
	// reported in any series.
	AARunsFalseImprovement int `json:"aa_runs_with_false_improvement"`
	// ABRuns counts completed A/B runs per magnitude.
	ABRuns map[string]int `json:"ab_runs"`
	// FailedRuns counts runs that produced no verdict (errors) or whose
	// load failed (Run.LoadFailed); they count nowhere else.
	FailedRuns int `json:"failed_runs"`
	// ByType is the false-alarm accounting per profile type.
	ByType []TypeFalseAlarms `json:"false_alarms_by_type"`
	// Detection is per hot spot and magnitude.
	Detection []DetectionRow `json:"detection"`
	// FalseAlarms lists, per series, how many A/A series trials (A/A runs
	// and bystanders) reported a regression, and the functions named.
	FalseAlarms []FalseAlarmRow `json:"false_alarm_series"`
	// Samples is the median sampling events per window per series over
	// all completed runs.
	Samples []SampleRow `json:"samples_per_window"`
	// Seconds per run, median and max, and the baseline's.
	MedianRunSeconds float64 `json:"median_run_seconds"`
	MaxRunSeconds    float64 `json:"max_run_seconds"`
}

// TypeFalseAlarms is the false-alarm accounting of one profile type.
type TypeFalseAlarms struct {
	Profile string `json:"profile_type"`
	// On A/A runs: runs with any regression in a series of this type, and
	// series trials (one per gated series per run) with one.
	AARuns        int `json:"aa_runs"`
	AARunsFalse   int `json:"aa_runs_false"`
	AASeries      int `json:"aa_series"`
	AASeriesFalse int `json:"aa_series_false"`
	// AATests and AAPUp: tested functions on A/A series (A/A runs and
	// bystanders) and how many had an uncorrected one-sided p < alpha for
	// an increase; AAPUp/AATests is the per-test false-positive rate, to
	// compare with alpha.
	AATests int `json:"aa_tests"`
	AAPUp   int `json:"aa_tests_p_up_below_alpha"`
	// Bystanders: series of the services nothing was injected into, in A/B
	// runs — A/A series trials too.
	BystanderSeries int `json:"bystander_series"`
	BystanderFalse  int `json:"bystander_series_false"`
	// Target series (the injected hot spot's service and group) with a
	// regression of a function that is neither the hot spot nor a caller
	// or callee of it; and with any regression of another function at all
	// (the strict count).
	TargetSeries      int `json:"target_series"`
	TargetWrong       int `json:"target_series_wrong_function"`
	TargetOtherStrict int `json:"target_series_other_function_strict"`
	// Side series: other groups of an injected service (not counted as
	// false alarms: the injected work may really change them).
	SideSeries    int `json:"side_series"`
	SideRegressed int `json:"side_series_regressed"`
}

// DetectionRow is the detection of one hot spot at one magnitude.
type DetectionRow struct {
	Inject     string `json:"inject"`
	Service    string `json:"service"`
	Function   string `json:"function"`
	Profile    string `json:"profile"`
	AltProfile string `json:"alt_profile,omitempty"`
	// Normalization is the unit of MedianBaseline and MedianCurrent.
	Normalization string  `json:"normalization,omitempty"`
	Magnitude     float64 `json:"magnitude"`
	Trials        int     `json:"trials"`
	// Detected: named as a regression in its profile type; DetectedAlt: in
	// the group's other type; Either: in one of them.
	Detected    int `json:"detected"`
	DetectedAlt int `json:"detected_alt"`
	Either      int `json:"detected_either"`
	// Missed: in neither type. WrongFunction: trials whose target series
	// reported an unrelated function as regressed.
	Missed        int `json:"missed"`
	WrongFunction int `json:"wrong_function"`
	// Median measured change of the function (its profile type and the
	// other one), and its baseline and current mean value.
	MedianChange Float `json:"median_change"`
	// MedianChangeDetected is over the trials that detected it.
	MedianChangeDetected Float `json:"median_change_detected"`
	// ChangeP10 and ChangeP90 bound the middle 80% of the measured
	// changes: at factor 1 (A/A) how far the function drifts with nothing
	// injected.
	ChangeP10       Float `json:"change_p10"`
	ChangeP90       Float `json:"change_p90"`
	MedianChangeAlt Float `json:"median_change_alt"`
	MedianBaseline  Float `json:"median_baseline"`
	MedianCurrent   Float `json:"median_current"`
	// Median stated minimum detectable change of the function and of its
	// series (the series' hottest function).
	MedianMDE       Float `json:"median_mde"`
	MedianSeriesMDE Float `json:"median_series_mde"`
	// The honest-MDE check, with the row's median measured change as the
	// true effect: trials whose stated MDE is below it, and how many of
	// them detected the hot spot; trials whose MDE is above twice it
	// (the change was well below what the run could see), and how many
	// detected it anyway.
	AboveMDE             int `json:"trials_effect_above_mde"`
	AboveMDEDetected     int `json:"trials_effect_above_mde_detected"`
	WellBelowMDE         int `json:"trials_effect_below_half_mde"`
	WellBelowMDEDetected int `json:"trials_effect_below_half_mde_detected"`
}

// FalseAlarmRow is one series' false alarms.
type FalseAlarmRow struct {
	Service   string         `json:"service"`
	Profile   string         `json:"profile_type"`
	Trials    int            `json:"trials"`
	False     int            `json:"false"`
	Functions map[string]int `json:"functions"`
}

// SampleRow is the sample budget of one series.
type SampleRow struct {
	Service          string  `json:"service"`
	Profile          string  `json:"profile_type"`
	Runs             int     `json:"runs"`
	Windows          float64 `json:"median_windows"`
	SamplesPerWindow float64 `json:"median_samples_per_window"`
	MedianMDE        Float   `json:"median_series_mde"`
}

// typeOrder is the order profile types are listed in.
var typeOrder = []string{"cpu", "alloc_space", "alloc_objects", "mutex_delay", "mutex_count", "block_delay", "block_count"}

func typeRank(a string) int {
	for i, t := range typeOrder {
		if t == a {
			return i
		}
	}
	return len(typeOrder)
}

// Summarize aggregates the runs.
func (c *Result) Summarize() *Summary {
	s := &Summary{ABRuns: map[string]int{}}
	byType := map[string]*TypeFalseAlarms{}
	tf := func(a string) *TypeFalseAlarms {
		if byType[a] == nil {
			byType[a] = &TypeFalseAlarms{Profile: a}
		}
		return byType[a]
	}
	type dkey struct {
		inject string
		mag    float64
	}
	trials := map[dkey][]*HotspotTrial{}
	type skey struct{ svc, alias string }
	samples := map[skey][]float64{}
	windows := map[skey][]float64{}
	mdes := map[skey][]float64{}
	var secs []float64
	fa := map[skey]*FalseAlarmRow{}
	for _, r := range c.Runs {
		if r.failed() {
			s.FailedRuns++
			continue
		}
		secs = append(secs, r.Seconds)
		if r.Kind == "aa" {
			s.AARuns++
		} else {
			s.ABRuns[strconv.FormatFloat(r.Magnitude, 'g', -1, 64)]++
		}
		runFalse := false
		typeFalse := map[string]bool{}
		for _, cs := range r.Series {
			k := skey{cs.Service, cs.Alias}
			if cs.Windows > 0 {
				samples[k] = append(samples[k], cs.SamplesPerWindow)
				windows[k] = append(windows[k], float64(cs.Windows))
			}
			if cs.MinDetectable > 0 {
				mdes[k] = append(mdes[k], cs.MinDetectable)
			}
			t := tf(cs.Alias)
			regressed := len(cs.Regressions) > 0
			if cs.Role == RoleAA {
				if fa[k] == nil {
					fa[k] = &FalseAlarmRow{Service: cs.Service, Profile: cs.Alias, Functions: map[string]int{}}
				}
				fa[k].Trials++
				if regressed {
					fa[k].False++
					for _, f := range cs.Regressions {
						fa[k].Functions[f.Function]++
					}
				}
			}
			switch cs.Role {
			case RoleAA:
				t.AATests += cs.Tested
				t.AAPUp += cs.PUp
				if r.Kind == "aa" {
					t.AASeries++
					if regressed {
						t.AASeriesFalse++
						typeFalse[cs.Alias] = true
						runFalse = true
					}
				} else {
					t.BystanderSeries++
					if regressed {
						t.BystanderFalse++
					}
				}
			case RoleTarget:
				t.TargetSeries++
				wrong, other := false, false
				for _, f := range cs.Regressions {
					if f.Class == ClassWrong {
						wrong = true
					}
					if f.Class != ClassHotspot {
						other = true
					}
				}
				if wrong {
					t.TargetWrong++
				}
				if other {
					t.TargetOtherStrict++
				}
			case RoleSide:
				t.SideSeries++
				if regressed {
					t.SideRegressed++
				}
			}
		}
		if r.Kind == "aa" {
			if runFalse {
				s.AARunsFalseAlarm++
			}
			for _, cs := range r.Series {
				if len(cs.Improvements) > 0 {
					s.AARunsFalseImprovement++
					break
				}
			}
			seen := map[string]bool{}
			for _, cs := range r.Series {
				if seen[cs.Alias] {
					continue
				}
				seen[cs.Alias] = true
				t := tf(cs.Alias)
				t.AARuns++
				if typeFalse[cs.Alias] {
					t.AARunsFalse++
				}
			}
		}
		for _, t := range r.Trials {
			k := dkey{t.Inject, t.Factor}
			trials[k] = append(trials[k], t)
		}
	}
	for _, t := range byType {
		s.ByType = append(s.ByType, *t)
	}
	sort.Slice(s.ByType, func(i, j int) bool { return typeRank(s.ByType[i].Profile) < typeRank(s.ByType[j].Profile) })

	var keys []dkey
	for k := range trials {
		keys = append(keys, k)
	}
	hsRank := map[string]int{}
	for i, h := range c.Setup.Hotspots {
		hsRank[h] = i
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].inject != keys[j].inject {
			return hsRank[keys[i].inject] < hsRank[keys[j].inject]
		}
		return keys[i].mag > keys[j].mag
	})
	for _, k := range keys {
		ts := trials[k]
		t0 := ts[0]
		row := DetectionRow{Inject: t0.Inject, Service: t0.Service, Function: t0.Function, Profile: t0.Profile,
			AltProfile: t0.AltProfile, Normalization: t0.Normalization, Magnitude: k.mag, Trials: len(ts)}
		var ch, chd, cha, mde, smde, bv, cv []float64
		for _, t := range ts {
			if t.Detected {
				row.Detected++
				chd = appendFinite(chd, t.Change)
			}
			if t.DetectedAlt {
				row.DetectedAlt++
			}
			if t.Detected || t.DetectedAlt {
				row.Either++
			} else {
				row.Missed++
			}
			if len(t.Wrong) > 0 {
				row.WrongFunction++
			}
			ch = appendFinite(ch, t.Change)
			cha = appendFinite(cha, t.ChangeAlt)
			mde = appendFinite(mde, t.MinDetectable)
			smde = appendFinite(smde, t.SeriesMinDetectable)
			bv = appendFinite(bv, t.BaselineValue)
			cv = appendFinite(cv, t.Current)
		}
		row.MedianChange, row.MedianChangeAlt, row.MedianChangeDetected = median(ch), median(cha), median(chd)
		row.ChangeP10, row.ChangeP90 = quantile(ch, 0.1), quantile(ch, 0.9)
		row.MedianMDE, row.MedianSeriesMDE = median(mde), median(smde)
		row.MedianBaseline, row.MedianCurrent = median(bv), median(cv)
		if eff := float64(row.MedianChange); !math.IsNaN(eff) {
			for _, t := range ts {
				m := float64(t.MinDetectable)
				if math.IsNaN(m) {
					continue
				}
				if eff > m {
					row.AboveMDE++
					if t.Detected {
						row.AboveMDEDetected++
					}
				} else if eff < m/2 {
					row.WellBelowMDE++
					if t.Detected {
						row.WellBelowMDEDetected++
					}
				}
			}
		}
		s.Detection = append(s.Detection, row)
	}

	for k, v := range samples {
		s.Samples = append(s.Samples, SampleRow{Service: k.svc, Profile: k.alias, Runs: len(v),
			Windows: float64(median(windows[k])), SamplesPerWindow: float64(median(v)), MedianMDE: median(mdes[k])})
	}
	sort.Slice(s.Samples, func(i, j int) bool {
		a, b := s.Samples[i], s.Samples[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return typeRank(a.Profile) < typeRank(b.Profile)
	})
	for _, r := range fa {
		s.FalseAlarms = append(s.FalseAlarms, *r)
	}
	sort.Slice(s.FalseAlarms, func(i, j int) bool {
		a, b := s.FalseAlarms[i], s.FalseAlarms[j]
		if a.False != b.False {
			return a.False > b.False
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return typeRank(a.Profile) < typeRank(b.Profile)
	})
	s.MedianRunSeconds = float64(median(secs))
	for _, x := range secs {
		s.MaxRunSeconds = math.Max(s.MaxRunSeconds, x)
	}
	return s
}

func appendFinite(xs []float64, f Float) []float64 {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return xs
	}
	return append(xs, x)
}

// median is the middle of xs, the mean of the two middle values for an even
// count (NaN for none). It and quantile are not gonum's stat.Quantile: its
// two estimators are Hyndman and Fan's types 1 (Empirical, the lower middle
// value for an even count) and 4 (LinInterp, which takes the median of an
// odd count halfway to its neighbour), and either changes the tables of
// every calibration in docs/calibrations.
func median(xs []float64) Float {
	if len(xs) == 0 {
		return nan
	}
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	n := len(ys)
	if n%2 == 1 {
		return Float(ys[n/2])
	}
	return Float((ys[n/2-1] + ys[n/2]) / 2)
}

// quantile is the q-quantile of xs, interpolated between order statistics
// (Hyndman and Fan's type 7, R's and NumPy's default; NaN for none).
func quantile(xs []float64, q float64) Float {
	if len(xs) == 0 {
		return nan
	}
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	pos := q * float64(len(ys)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(ys)-1)
	return Float(ys[lo] + (pos-float64(lo))*(ys[hi]-ys[lo]))
}

func pct(x Float) string {
	if math.IsNaN(float64(x)) {
		return "-"
	}
	return fmt.Sprintf("%+.0f%%", 100*float64(x))
}

func pctU(x Float) string {
	if math.IsNaN(float64(x)) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(x))
}

func frac(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", n, d, 100*float64(n)/float64(d))
}

func frac1(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", n, d, 100*float64(n)/float64(d))
}

// WriteTable writes the calibration's tables as Markdown (readable in a
// terminal too).
func (c *Result) WriteTable(w io.Writer) {
	s := c.Summary
	if s == nil {
		s = c.Summarize()
	}
	su := c.Setup
	fmt.Fprintf(w, "Calibration: %s backend, %.0f req/s (%s arrivals) for %s a side (+%s warm-up), %s windows, CPU %d Hz, alloc every %d B; %s, %d CPUs; load average %s at start, %s at end.\n",
		su.Backend, su.Rate, cmp.Or(su.Arrivals, string(loadgen.ArrivalsUniform)), su.Duration, su.Warmup, su.Window, su.CPURate, su.AllocRate, su.GoVersion, su.CPUs, su.LoadAvgStart, su.LoadAvgEnd)
	fmt.Fprintf(w, "Gate: a t test per function (see docs/verdict-quality.md), Benjamini-Hochberg over every test of the run, alpha %g, threshold %g%%, floor %g%%, min windows %d, min samples %d.\n",
		su.Params.Alpha, 100*su.Params.Threshold, 100*su.Params.Floor, su.Params.MinWindows, su.Params.MinSamples)
	if su.DuetPairs > 0 {
		fmt.Fprintf(w, "Duet: every trial measured its own base beside its candidate (the same build), %d %s pairs of %s blocks; no stored baseline.\n",
			su.DuetPairs, cmp.Or(su.DuetMode, string(testenv.DefaultDuetMode)), cmp.Or(su.GateDuration, su.Duration))
		if su.MergedTrials > 1 {
			fmt.Fprintf(w, "Merged: each trial here is %d kept trials of %d pairs judged as one duet, pair for pair, so each row counts merged trials.\n",
				su.MergedTrials, su.DuetPairs/su.MergedTrials)
		}
	} else if su.StoredBaselineTrials > 0 {
		fmt.Fprintf(w, "Stored baseline: the base sides of a duet calibration's first %d A/A trials, merged (%d runs of %s), recorded at its start; every later trial's candidate (%d runs) gated against it, not against the base measured beside it.\n",
			su.StoredBaselineTrials, c.Baseline.Runs, cmp.Or(su.GateDuration, su.Duration), max(1, su.CurrentRuns))
	} else if su.CurrentRuns > 1 || su.GateDuration != "" {
		fmt.Fprintf(w, "Current side: %d run(s) of %s merged per gated run, so each row counts merged runs; the baseline's runs are %s.\n",
			max(1, su.CurrentRuns), cmp.Or(su.GateDuration, su.Duration), su.Duration)
	}
	if su.Rules != "" {
		fmt.Fprintf(w, "Harness rules applied: %s.\n", strings.Join(strings.Fields(strings.ReplaceAll(su.Rules, "\n", " ")), " "))
	}
	var ab []string
	for _, m := range su.Magnitudes {
		ab = append(ab, fmt.Sprintf("x%g: %d", m, s.ABRuns[strconv.FormatFloat(m, 'g', -1, 64)]))
	}
	based := fmt.Sprintf("baseline %d series gated, %d not gated", c.Baseline.Series, len(c.Baseline.Dropped))
	if su.DuetPairs > 0 {
		based = "each against its own base"
	}
	fmt.Fprintf(w, "Runs: %d A/A; A/B %s; %d failed; %.0f s median per run (max %.0f s); %s.\n",
		s.AARuns, strings.Join(ab, ", "), s.FailedRuns, s.MedianRunSeconds, s.MaxRunSeconds, based)
	if c.Stopped != "" {
		fmt.Fprintf(w, "Stopped early: %s.\n", c.Stopped)
	}

	fmt.Fprintf(w, "\nFalse alarms (A/A runs: %s with any regression, %s with any improvement)\n\n", frac(s.AARunsFalseAlarm, s.AARuns), frac(s.AARunsFalseImprovement, s.AARuns))
	fmt.Fprintln(w, "| profile type | A/A runs with a false regression | A/A series | bystander series (A/B runs) | target series: wrong function | target series: any other function (strict) | side series regressed | A/A tests with raw p < alpha, up |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, t := range s.ByType {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t.Profile, frac(t.AARunsFalse, t.AARuns), frac(t.AASeriesFalse, t.AASeries),
			frac(t.BystanderFalse, t.BystanderSeries), frac(t.TargetWrong, t.TargetSeries), frac(t.TargetOtherStrict, t.TargetSeries), frac(t.SideRegressed, t.SideSeries), frac1(t.AAPUp, t.AATests))
	}

	var worst []string
	for _, r := range s.FalseAlarms {
		if r.False == 0 {
			continue
		}
		fns := make([]string, 0, len(r.Functions))
		for f := range r.Functions {
			fns = append(fns, f)
		}
		sort.Slice(fns, func(i, j int) bool {
			return r.Functions[fns[i]] > r.Functions[fns[j]] || r.Functions[fns[i]] == r.Functions[fns[j]] && fns[i] < fns[j]
		})
		if len(fns) > 3 {
			fns = append(fns[:3], "...")
		}
		for i := range fns {
			fns[i] = shortFunc(fns[i])
		}
		worst = append(worst, fmt.Sprintf("- %s %s: %d of %d A/A series trials (%s)", r.Service, r.Profile, r.False, r.Trials, strings.Join(fns, ", ")))
	}
	if len(worst) > 0 {
		fmt.Fprintf(w, "\nSeries with false alarms (A/A runs and bystanders):\n\n%s\n", strings.Join(worst, "\n"))
	}

	fmt.Fprintln(w, "\nDetection (right function named, as a regression)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| hot spot | profile | injected | trials | found in profile | found in other type | found in either | wrong fn also | median change (profile / other; when found) | middle 80% of changes | baseline → current | median stated MDE (fn / series) | effect > MDE: found | effect < MDE/2: found |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, d := range s.Detection {
		alt := d.AltProfile
		if alt == "" {
			alt = "-"
		}
		fmt.Fprintf(w, "| %s | %s (%s) | %s | %d | %s | %s | %s | %d | %s / %s; %s | %s … %s | %s → %s | %s / %s | %s | %s |\n",
			d.Inject, d.Profile, alt, injected(d.Magnitude), d.Trials, frac(d.Detected, d.Trials), frac(d.DetectedAlt, d.Trials), frac(d.Either, d.Trials),
			d.WrongFunction, pct(d.MedianChange), pct(d.MedianChangeAlt), pct(d.MedianChangeDetected), pct(d.ChangeP10), pct(d.ChangeP90), value(d.Profile, d.Normalization, d.MedianBaseline), value(d.Profile, d.Normalization, d.MedianCurrent),
			pctU(d.MedianMDE), pctU(d.MedianSeriesMDE), frac(d.AboveMDEDetected, d.AboveMDE), frac(d.WellBelowMDEDetected, d.WellBelowMDE))
	}

	fmt.Fprintln(w, "\nSample budget: CPU samples per window (gated runs' median; the baseline's for a series not gated) and the stated MDE of each series' hottest function (median over runs). Allocation and lock profiles do not say how many sampling events they hold.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| service | cpu samples/window | cpu MDE | alloc_space MDE | alloc_objects MDE | mutex_delay MDE | mutex_count MDE |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	type cell struct {
		row   SampleRow
		gated bool
	}
	bySvc := map[string]map[string]cell{}
	var svcs []string
	add := func(svc string) {
		if bySvc[svc] == nil {
			bySvc[svc] = map[string]cell{}
			svcs = append(svcs, svc)
		}
	}
	for _, r := range s.Samples {
		add(r.Service)
		bySvc[r.Service][r.Profile] = cell{r, true}
	}
	for _, b := range c.Baseline.Budget {
		add(b.Service)
		if _, ok := bySvc[b.Service][b.Profile]; ok || b.Windows == 0 {
			continue
		}
		bySvc[b.Service][b.Profile] = cell{SampleRow{Service: b.Service, Profile: b.Profile, SamplesPerWindow: float64(b.Samples) / float64(b.Windows), MedianMDE: nan}, false}
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		m := bySvc[svc]
		mde := func(a string) string {
			x, ok := m[a]
			switch {
			case !ok:
				for _, d := range c.Baseline.Dropped {
					if strings.HasPrefix(d, svc+" "+a+":") {
						return "not gated"
					}
				}
				return "no data"
			case !x.gated:
				return "not gated"
			}
			return pctU(x.row.MedianMDE)
		}
		spw := "-"
		if x, ok := m["cpu"]; ok && x.row.SamplesPerWindow > 0 {
			spw = fmt.Sprintf("%.0f", x.row.SamplesPerWindow)
			if !x.gated {
				spw += " (not gated)"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", svc, spw, mde("cpu"), mde("alloc_space"), mde("alloc_objects"), mde("mutex_delay"), mde("mutex_count"))
	}
}

// injected labels a detection row's factor; factor 1 is the A/A runs.
func injected(factor float64) string {
	if factor == 1 {
		return "none (A/A)"
	}
	return fmt.Sprintf("%+.0f%%", 100*(factor-1))
}

// value renders a function's mean value: a share in percent, or a rate per
// second. Calibrations written before the normalization was recorded
// compared lock profiles as rates and the others as shares.
func value(profile, norm string, v Float) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	if g := profiletype.Kind(group(profile)); norm == "" && (g == profiletype.KindLock || g == profiletype.KindBlock) {
		norm = "rate"
	}
	if norm == "rate" {
		return fmt.Sprintf("%.3g/s", float64(v))
	}
	return fmt.Sprintf("%.1f%%", 100*float64(v))
}
