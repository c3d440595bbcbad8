package diff

import (
	"fmt"
	"math"
	"sort"

	"github.com/aclements/go-moremath/stats"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// This file holds the test of one function. Its model, in full:
//
// A side (baseline or current) is K runs (process starts) of n_k windows
// each. Window i of run k gives the function's value x_ik, normalized (a
// share, a ratio to the rest, or a rate). Then
//
//	x_ik = μ · (1 + δ_k) + e_ik
//
// where μ is the function's level for the build, δ_k the drift of run k's
// process (one term per series, shared by all its functions: on a shared
// machine a process's CPU cost per unit of work moves from start to start,
// and every function with it), and e_ik the window's noise: sampling and
// load, independent between windows, with a variance σ² that is at least
// what the profile's sampling alone implies.
//
// Under "no change" both sides have the same μ and σ², so σ² is estimated
// once, from both sides' windows about their own runs' means (pooled, with
// (n_b-K)+(n_c-J) degrees of freedom), and the sampling floor is evaluated
// at the pooled level: a side that by chance missed a bursty function's rare
// heavy samples does not look precise, and one that caught them does not
// look noisy. This is a score test: the variance comes from the null
// hypothesis, not from each side's own estimate.
//
// The drift's variance τ² is the relative variance of a run's level. Under
// rate normalization it is measured on the series' total (the process's
// whole cost per second, the most precise view of its level), from the
// scatter of the runs' totals beyond what their windows explain, with
// (K-1)+(J-1) degrees of freedom. Shares and ratios to the rest do not
// carry a common drift (it cancels in the division), so there τ² is 0; a
// function whose share wanders between runs on its own is caught by the
// per-function check below. A floor (MinRunDrift) keeps a baseline whose few
// runs agreed by luck from making the next run's drift look like a change
// everywhere; above it, the measured drift is moderated towards the floor
// (see driftPriorDF). The variance of the difference of means is then
//
//	Var(m_c - m_b) = σ²(1/n_b + 1/n_c) + τ²μ²(1/K + 1/J)
//
// and its degrees of freedom follow Welch–Satterthwaite over the two terms.
//
// The model is checked per function: if a function's K baseline run means
// scatter more than the model allows (a χ² test at 1%), the common drift
// does not describe it (a lock caller whose contention comes and goes), and
// it is judged by its own runs alone: the variance of its run means, with
// K-1 degrees of freedom. With one baseline run nothing can be checked and
// the model stands.
//
// Changes and intervals are on the log ratio log(m_c/m_b), as benchstat
// reports ratios, so no interval reaches below -100%.
//
// Refinements, each explained where it is computed: allocation windows
// that scatter more than whole runs do get a series-wide window factor
// (windowFactor); an intermittent function's floor counts its bursts, and a
// function behind few sampling events is also tested by counting them
// (windowStats, testFunction); and when the two sides were measured as a
// duet, run k of each pairs with the other's and τ² is only what each
// process start adds of its own (pairedDrift), and the windows the two
// sides measured at the same time pair too, so the load and machine noise
// they share comes off σ² (windowPairs); a lock profile that records every
// contention then has no sampling floor (windowStats.unsampled).

// IntervalLevel is the confidence level of every finding's interval
// (ChangeLow, ChangeHigh): two-sided.
const IntervalLevel = 0.95

// excessLevel is the significance level of the per-function check that its
// baseline runs scatter more than the series' drift and its windows allow.
const excessLevel = 0.01

// exactEvents is the number of sampling events, both sides together, below
// which a function is also tested by counting them (see testFunction).
const exactEvents = 200

// infDF stands for "known exactly" in Satterthwaite's formula: a sampling
// floor or an assumed drift carries no estimation error.
const infDF = 1e6

// driftTerm is a series' run-to-run drift of its level.
type driftTerm struct {
	tau2    float64 // relative variance of one run's level, as used
	fitted  float64 // as measured from the runs (relative sd); -1 if not measured
	df      float64 // degrees of freedom of tau2 (infDF when assumed)
	floored bool    // tau2 is the floor, not the measurement
	runs    int     // runs on both sides
}

// seriesDrift measures the drift of a series' level from both sides' runs
// (see the model above), floored at minDrift.
func seriesDrift(bs, cs *side, norm Normalization, minDrift float64) driftTerm {
	d := driftTerm{fitted: -1, df: infDF, runs: len(bs.runN) + len(cs.runN)}
	if norm != Rate {
		// The level cancels in the division: no drift to assume.
		minDrift = 0
	}
	if norm == Rate {
		var ss, noise float64
		var df, nRuns int
		for _, s := range []*side{bs, cs} {
			var logs []float64
			for i, n := range s.runN {
				mean := s.runTot[i] / float64(max(n, 1))
				if n < 2 || mean <= 0 {
					continue
				}
				v := (s.runTotSq[i] - float64(n)*mean*mean) / float64(n-1)
				logs = append(logs, math.Log(mean))
				noise += math.Max(v, 0) / float64(n) / (mean * mean)
			}
			if len(logs) < 2 {
				continue
			}
			mu := stats.Mean(logs)
			for _, l := range logs {
				ss += (l - mu) * (l - mu)
			}
			df += len(logs) - 1
			nRuns += len(logs)
		}
		if df > 0 {
			// ss/df estimates Var(log level): τ² plus the windows' part,
			// the mean over runs of Var(run mean)/mean².
			d.tau2 = math.Max(0, ss/float64(df)-noise/float64(nRuns))
			d.fitted = math.Sqrt(d.tau2)
			d.df = float64(df)
		}
	}
	f2 := minDrift * minDrift
	switch {
	case d.tau2 <= f2:
		d.tau2, d.df, d.floored = f2, infDF, minDrift > 0
	case f2 > 0:
		// The floor was measured over many runs of the machine: it counts
		// as driftPriorDF runs' worth of evidence beside the baseline's
		// own, as limma moderates a variance towards its prior.
		d.tau2 = (driftPriorDF*f2 + d.df*d.tau2) / (driftPriorDF + d.df)
		d.df += driftPriorDF
	}
	return d
}

// driftPriorDF is the weight, in degrees of freedom, of Params.MinRunDrift
// when a baseline's runs drift more than it: the floors were measured over
// dozens of runs (docs/verdict-quality.md), a baseline has a handful. A
// drift measured from 8 runs alone has 7 degrees of freedom, and a t
// quantile with 7 degrees of freedom at the run's corrected level (about
// 1e-4) is twice the normal one: the gate would state a minimum detectable
// change twice as large as the drift warrants.
const driftPriorDF = 20

// windowStats are a function's window-level quantities, before the
// series-wide window factor is known.
type windowStats struct {
	mu0    float64 // pooled mean of both sides
	s2     float64 // pooled within-run variance of one window
	dfw    float64 // its degrees of freedom
	fb, fc float64 // sampling floors of the two means, at mu0
	vr     float64 // variance of the baseline's run means; -1 without two runs
	burst  bool    // intermittent: the floor counts bursts
	// eb and ec estimate the sampling events behind the function's values
	// on each side (its raw values over its events' mean weight); -1 when
	// the profile's sampling could not tell.
	eb, ec float64
	// In a duet whose windows pair: the covariance of the function's
	// matched windows, how many there are, and its degrees of freedom
	// (nm 0 when the windows do not pair).
	cov    float64
	nm     int
	dfPair float64
	// unsampled: in a duet whose windows pair, a profile that records
	// every event (a mutex profile at fraction 1, recordsEveryEvent) has
	// no sampling noise. Its floor fb, fc is then only a Poisson model of
	// the events' own randomness, and much of that randomness is the
	// shared load's, which the matched windows cancel: on the bank stack
	// the order service's lock delay ratio scattered 0.03 in the log from
	// pair to pair, about 0.016 for the mean of four pairs, where the
	// floor put 0.044 on the difference of the duet's means. So the paired
	// windows' own variance stands, with its degrees of freedom, and the
	// floor neither replaces it nor enters the window factor. Not for an
	// intermittent function, whose floor counts its bursts.
	unsampled bool
}

func (sc *seriesCompare) windowStats(t *fnTest, bs, cs *side, wp *windowPairs) windowStats {
	m, g := t.m, int(t.g)
	nb, nc := float64(bs.n), float64(cs.n)
	w := windowStats{mu0: (bs.sum[m][g] + cs.sum[m][g]) / (nb + nc)}
	if wp.valid {
		w.cov, w.nm, w.dfPair = wp.cov[m][g], wp.n, float64(wp.df)
	}
	ssb, dfb := bs.withinSS(m, g)
	ssc, dfc := cs.withinSS(m, g)
	w.dfw = float64(dfb + dfc)
	if w.dfw > 0 {
		w.s2 = math.Max(0, (ssb+ssc)/w.dfw)
	}
	w.fb = bs.floor(m, g, sc.norm, cs)
	w.fc = cs.floor(m, g, sc.norm, bs)
	w.vr = bs.runMeansVariance(m, g)
	// An intermittent function — absent from a quarter of the windows or
	// more, unless it is new and in (nearly) every current window, a new
	// hot path — comes in bursts: a handler run once per scrape, a cache refill. Its unit of
	// randomness is the burst, not the sampled event: a window either
	// catches one or not. So its floor is the compound Poisson variance of
	// bursts, each the size of its mean window when present. Without it a
	// t test on six windows a side, four bursts against one, claims
	// p = 0.003 where exchanging the windows gives 0.12.
	w.eb, w.ec = -1, -1
	if vw, raw := bs.vw[m][g]+cs.vw[m][g], bs.raw[m][g]+cs.raw[m][g]; vw > 0 && raw > 0 {
		weight := vw / raw
		w.eb, w.ec = bs.raw[m][g]/weight, cs.raw[m][g]/weight
	}
	seen := float64(bs.seen[m][g] + cs.seen[m][g])
	steadyNew := bs.seen[m][g] == 0 && float64(cs.seen[m][g]) >= 0.75*nc
	if !steadyNew && seen > 0 && nb+nc-seen >= (nb+nc)/4 {
		burst := (bs.sum[m][g] + cs.sum[m][g]) / seen
		w.fb = math.Max(w.fb, w.mu0*burst/nb)
		w.fc = math.Max(w.fc, w.mu0*burst/nc)
		w.burst = true
	}
	w.unsampled = sc.exhaustive && w.nm > 0 && !w.burst
	return w
}

// runRatio is how far the baseline's run means scatter relative to what
// the model predicts for one run's mean with window factor phi: near 1 when
// the model holds, a scaled χ²_{K-1}/(K-1) draw. It is -1 without two runs.
func runRatio(w windowStats, bs *side, drift driftTerm, phi float64) float64 {
	if w.vr < 0 || len(bs.runN) < 2 {
		return -1
	}
	nb := float64(bs.n)
	k := float64(len(bs.runN))
	// One run's mean: a window's noise (at least the sampling floor,
	// fb·n_b per window) over the run's n_b/K windows, plus the drift.
	floor := w.fb
	if w.unsampled {
		floor = 0
	}
	expect := math.Max(phi*w.s2, floor*nb)*k/nb + drift.tau2*w.mu0*w.mu0
	if expect <= 0 {
		return -1
	}
	return w.vr / expect
}

// windowFactor is the series' factor φ ≤ 1 on its windows' variance:
// allocation windows are lumpy (Go publishes a GC cycle's allocations at
// once, so neighbouring windows share a cycle's worth between them) and
// scatter more than whole runs do. Measured as the median over the tested
// functions of their runs' scatter against the windows' prediction, over
// the median of χ²_{K-1}/(K-1) (what the median would be if the windows
// predicted right), with a baseline of three runs or more and at least
// eight functions; 1 otherwise. Never above 1: a function whose runs
// scatter more than predicted is judged by its own runs instead.
func windowFactor(ratios []float64, runs int) float64 {
	if runs < 3 || len(ratios) < 8 {
		return 1
	}
	sort.Float64s(ratios)
	med := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		med = (ratios[len(ratios)/2-1] + med) / 2
	}
	d := float64(runs - 1)
	chiMed := distuv.ChiSquared{K: d}.Quantile(0.5) / d
	return math.Min(1, med/chiMed)
}

// PairingLabel is the snapshot label (Meta.Labels) that says a side's runs
// pair with the other side's: run k of the base build and run k of the
// candidate were measured side by side, under the same load and at the same
// time (a duet). Its value is "runs".
const PairingLabel = "pairing"

// Paired reports whether base and cur were measured as a duet: both carry
// PairingLabel and they hold the same runs.
func Paired(base, cur *baseline.Snapshot) bool {
	if base.Meta.Labels[PairingLabel] != "runs" || cur.Meta.Labels[PairingLabel] != "runs" {
		return false
	}
	runs := func(s *baseline.Snapshot) map[int32]bool {
		m := map[int32]bool{}
		for _, se := range s.Series {
			for _, w := range se.Windows {
				m[w.Run] = true
			}
		}
		return m
	}
	b, c := runs(base), runs(cur)
	if len(b) != len(c) {
		return false
	}
	for k := range b {
		if !c[k] {
			return false
		}
	}
	return true
}

// pairedDrift is the drift term of a duet. Run k of each side was measured
// at the same time as the other's, so whatever moved the machine moved both
// and cancels in their difference; what is left is each process start's own
// offset, η, independent between the sides. Its variance is measured on the
// series' totals: the log ratio of pair k's totals, D_k, varies by 2·Var(η)
// plus what the windows put in it, over the P pairs (P-1 degrees of
// freedom); when the windows pair (windowPairs), what they put in it is
// less by their covariance. In the model above, τ² is then Var(η), with
// K = J = P. Under shares and ratios to the rest the level cancels as it
// does unpaired. No floor applies: the floors are for a baseline measured
// at another time.
func pairedDrift(bs, cs *side, norm Normalization, wp *windowPairs) driftTerm {
	d := driftTerm{fitted: -1, df: infDF, runs: len(bs.runN) + len(cs.runN)}
	if norm != Rate {
		return d
	}
	var ds []float64
	var noise float64
	for run, ib := range bs.runIdx {
		ic, ok := cs.runIdx[run]
		if !ok {
			continue
		}
		nb, nc := bs.runN[ib], cs.runN[ic]
		if nb < 2 || nc < 2 {
			continue
		}
		mb, mc := bs.runTot[ib]/float64(nb), cs.runTot[ic]/float64(nc)
		if mb <= 0 || mc <= 0 {
			continue
		}
		vb := math.Max(0, (bs.runTotSq[ib]-float64(nb)*mb*mb)/float64(nb-1)) / float64(nb) / (mb * mb)
		vc := math.Max(0, (cs.runTotSq[ic]-float64(nc)*mc*mc)/float64(nc-1)) / float64(nc) / (mc * mc)
		v := vb + vc
		if pt, ok := wp.runs[run]; ok && wp.valid {
			v -= 2 * pt.cov * float64(pt.n) / float64(nb*nc) / (mb * mc)
		}
		ds = append(ds, math.Log(mc/mb))
		noise += math.Max(v, 0)
	}
	if len(ds) < 2 {
		return d
	}
	d.tau2 = math.Max(0, (stats.Variance(ds)-noise/float64(len(ds)))/2)
	d.fitted = math.Sqrt(d.tau2)
	d.df = float64(len(ds) - 1)
	return d
}

// testFunction computes t's standard errors, degrees of freedom, p-values,
// log ratio and interval (see the model above), given its window
// statistics and the series' drift and window factor.
func (sc *seriesCompare) testFunction(t *fnTest, w windowStats, bs, cs *side, drift driftTerm, phi float64) {
	nb, nc := float64(bs.n), float64(cs.n)
	K, J := float64(max(1, len(bs.runN))), float64(max(1, len(cs.runN)))
	mu0 := w.mu0
	vb, vc := phi*w.s2/nb, phi*w.s2/nc
	windowDF := w.dfw
	// A duet's matched windows share their load and machine: their
	// covariance comes off the difference (windowPairs), and the estimate
	// has the matched windows' degrees of freedom. The window factor
	// applies to the whole, which can only keep more of the variance.
	var vcov float64
	if w.nm > 0 {
		vcov = phi * 2 * w.cov * float64(w.nm) / (nb * nc)
		windowDF = math.Min(windowDF, w.dfPair)
	}
	// A profile that records every event has no sampling floor to keep
	// (see windowStats.unsampled), unless the pairing left no variance.
	exhaustivePaired := w.unsampled && vb+vc-vcov > 0
	if (vb+vc-vcov < w.fb+w.fc && !exhaustivePaired) || w.dfw == 0 {
		// Sampling alone implies more noise than the windows show: the
		// floor is known, not estimated. (Each process samples on its own,
		// so sampling noise never pairs.)
		vb, vc = math.Max(vb-vcov/2, w.fb), math.Max(vc-vcov/2, w.fc)
		vcov, windowDF = 0, infDF
	}
	vDrift := drift.tau2 * mu0 * mu0 * (1/K + 1/J)
	driftDF := drift.df

	// The model's check: do this function's baseline runs scatter more
	// than its windows and the drift allow? Then its own runs speak. (Not
	// in a duet: there the base runs carry the machine's drift, which the
	// pairing cancels, and would all look wandering.)
	if r := runRatio(w, bs, drift, phi); r > 0 && !sc.paired {
		k := float64(len(bs.runN))
		if 1-(distuv.ChiSquared{K: k - 1}).CDF((k-1)*r) < excessLevel {
			t.ownRuns = true
			// vr is the variance of one run's mean, windows included.
			vb, vc = w.vr/K, w.vr/J
			vDrift, windowDF, driftDF = 0, k-1, infDF
		}
	}
	t.vb, t.vc, t.vcov = vb, vc, vcov

	se0 := math.Sqrt(vb + vc - vcov + vDrift)
	t.df = satterthwaite([]float64{vb + vc - vcov, vDrift}, []float64{windowDF, driftDF})
	d := t.mc - t.mb
	if se0 > 0 {
		td := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: t.df}
		// Each tail from its own side of the CDF, so a far tail keeps its
		// digits instead of rounding to 0.
		x := d / se0
		t.pUp = td.CDF(-x)
		t.pDown = td.CDF(x)
	} else {
		// Both sides constant: the difference is exact.
		t.pUp, t.pDown = 1, 1
		if d > 0 {
			t.pUp = 0
		} else if d < 0 {
			t.pDown = 0
		}
	}
	// Few events: the t test's normal tails are wrong for a handful of
	// sampled allocations (4 events, 3 of them in the current run's 11
	// windows of 96, is p = 0.005 by counting and p < 0.001 by t). Given
	// the events on both sides, under "no change" the current side's share
	// of them is binomial with its share of the windows; the test keeps
	// the larger of the two p-values, which is never below either's level.
	if total := w.eb + w.ec; w.eb >= 0 && total < exactEvents {
		n := int(math.Round(total))
		k := int(math.Round(w.ec))
		if n > 0 {
			bin := distuv.Binomial{N: float64(n), P: nc / (nb + nc)}
			up := 1.0
			if k > 0 {
				up = bin.Survival(float64(k) - 0.5)
			}
			t.pUp = math.Max(t.pUp, up)
			t.pDown = math.Max(t.pDown, bin.CDF(float64(k)+0.5))
		}
	}
	// The relative standard error under "no change": what the MDE uses.
	if mu0 > 0 {
		t.relSE0 = se0 / mu0
	}
	// The interval: Wald on the log ratio, each side's variance relative
	// to its own mean.
	if t.mb > 0 && t.mc > 0 {
		t.logRatio = math.Log(t.mc / t.mb)
		t.seLog = math.Sqrt(math.Max(0, vb/(t.mb*t.mb)+vc/(t.mc*t.mc)-vcov/(t.mb*t.mc)) + vDrift/(mu0*mu0))
	}
}

// satterthwaite is the Welch–Satterthwaite degrees of freedom of a sum of
// variance terms v, each estimated with df[i] degrees of freedom (infDF when
// known). At least 1.
func satterthwaite(v, df []float64) float64 {
	var sum, den float64
	for i := range v {
		sum += v[i]
		if v[i] > 0 && df[i] > 0 {
			den += v[i] * v[i] / df[i]
		}
	}
	if den == 0 {
		return infDF
	}
	return math.Max(1, math.Min(sum*sum/den, infDF))
}

// withinSS is the sum of squares of the side's windows about their own
// run's mean, and its degrees of freedom (windows less runs).
func (s *side) withinSS(m, g int) (float64, int) {
	ss := s.sumsq[m][g]
	for i, rn := range s.runN {
		if rn > 0 {
			ss -= s.runSum[i][m][g] * s.runSum[i][m][g] / float64(rn)
		}
	}
	return math.Max(ss, 0), s.n - len(s.runN)
}

// floor is the variance of the side's mean that the profile's sampling
// alone implies, at the level both sides share under "no change" (so a side
// where the function is absent is not certain of its zero).
func (s *side) floor(m, g int, norm Normalization, other *side) float64 {
	n := float64(s.n)
	tot := n + float64(other.n)
	oddsScale := 1.0
	var p float64 // pooled share
	if s.shareSum[m] != nil {
		p = (s.shareSum[m][g] + other.shareSum[m][g]) / tot
	} else {
		p = (s.sum[m][g] + other.sum[m][g]) / tot
	}
	p = math.Min(p, 1)
	if norm == Rest {
		// var(p/(1-p)) ≈ var(p)/(1-p)⁴.
		q := 1 - math.Min(p, 1-1/float64(maxRestOdds))
		oddsScale = 1 / (q * q * q * q)
	}
	var floor float64
	if vw, raw := s.vw[m][g]+other.vw[m][g], s.raw[m][g]+other.raw[m][g]; vw > 0 && raw > 0 {
		// The function's own event weight w (the profiles' sampling told
		// it): a window's value is a sum of events of about w each, so its
		// variance is value·w (compound Poisson), over the divisor squared.
		w := vw / raw
		switch norm {
		case Rate:
			mu := (s.sum[m][g] + other.sum[m][g]) / tot
			floor = mu * w * s.invDiv / (n * n)
		default:
			floor = p * (1 - p) * w * s.invDiv / (n * n) * oddsScale
		}
		return floor
	}
	switch norm {
	case Rate:
		mu := (s.sum[m][g] + other.sum[m][g]) / tot
		floor = mu * s.rateK / (n * n)
	default:
		floor = p * (1 - p) * s.invN / (n * n) * oddsScale
	}
	if floor == 0 && s.denom > 0 {
		// The profile does not say how many sampling events it holds,
		// but its values come in events of some weight q: a mean of p over
		// n windows of average divisor D is about p·n·D/q events, and its
		// Poisson variance is p·q/(n·D). q is taken as the smallest
		// positive value the function showed in any window of either side
		// (at least one event), but no more than the smallest any function
		// showed: a function present in every window in bulk does not pass
		// its smallest window off as one event.
		mu := (s.sum[m][g] + other.sum[m][g]) / tot
		q := minPos(s.quantum[m][g], other.quantum[m][g])
		q = math.Min(q, minPos(s.minPositive, other.minPositive))
		floor = mu * q / s.denom * oddsScale
	}
	return floor
}

// recordsEveryEvent reports whether the series' profiles record every event
// rather than a sample of them: a mutex or block profile whose period (the
// mutex profile fraction, the block profile rate in nanoseconds) is 1 in
// the series and in every window that states one. Go's mutex profile at
// fraction 1 (every contention) is the bank services' default.
func recordsEveryEvent(se *baseline.Series) bool {
	id, err := profiletype.ParseID(se.ProfileType)
	if err != nil || (id.Name != "mutex" && id.Name != "block") || se.Period != 1 {
		return false
	}
	for _, w := range se.Windows {
		if w.Period != 0 && w.Period != 1 {
			return false
		}
	}
	return true
}

// minPos is the smaller of two values, ignoring zeros (none seen).
func minPos(a, b float64) float64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return math.Min(a, b)
}

// runMeansVariance is the variance of the function's per-run means: how
// much its value moves from one run to the next, window noise included. It
// is -1 for a side measured in fewer than two runs, which cannot show
// run-to-run variation at all.
func (s *side) runMeansVariance(m, g int) float64 {
	var means []float64
	for i, n := range s.runN {
		if n > 0 {
			means = append(means, s.runSum[i][m][g]/float64(n))
		}
	}
	if len(means) < 2 {
		return -1
	}
	return stats.Variance(means)
}

// minDetectable is the smallest relative increase the test finds with
// probability power, given its relative standard error under "no change",
// its degrees of freedom, the critical one-sided level (α over the number of
// tests: Benjamini–Hochberg must reject a lone regression at α/m) and the
// threshold the point estimate must also reach. On the log scale a change
// of L is found when the estimate clears both the threshold and the
// critical value; it does so with probability power when
// L = max(log(1+T), c·se) + z·se.
func (sc *seriesCompare) minDetectable(relSE, df, level, threshold float64) float64 {
	if relSE <= 0 {
		return threshold
	}
	c := sc.tQuantile(1-level, df)
	z := sc.tQuantile(power, df)
	return math.Expm1(math.Max(math.Log1p(threshold), c*relSE) + z*relSE)
}

// compositional demotes improvements that are only the other side of a
// growth elsewhere. Shares (and ratios to the rest) sum to a whole: when a
// function's cost grows, every other function's share falls though its
// cost did not move. Such a fall is no improvement. Each improvement is
// weighed again against the part of the profile that did not grow (the
// window less the failing functions' own values, on both sides); if it no
// longer falls by the threshold, it becomes unchanged, with a note naming
// the growth.
func (sc *seriesCompare) compositional(sr *SeriesResult) {
	if sc.norm == Rate {
		return
	}
	share := func(v float64) float64 {
		if sc.norm == Rest {
			return v / (1 + v)
		}
		return v
	}
	var grewB, grewC float64
	grew := ""
	for _, f := range sr.Findings {
		if f.Measure == Self && (f.Kind == KindRegression || f.Kind == KindNewHotPath || f.Kind == KindIgnored) {
			grewB += share(f.Baseline)
			grewC += share(f.Current)
			if grew == "" {
				grew = f.Function
			}
		}
	}
	if grew == "" || grewC <= grewB || grewB >= 1 || grewC >= 1 {
		return
	}
	for i := range sr.Findings {
		f := &sr.Findings[i]
		if f.Kind != KindImprovement || f.Baseline <= 0 {
			continue
		}
		adj := (share(f.Current) / (1 - grewC)) / (share(f.Baseline) / (1 - grewB))
		if 1-adj < sc.params.Threshold {
			f.Kind = KindUnchanged
			f.Note = fmt.Sprintf("its share fell because %s grew; against the rest of the profile it moved %+.1f%%", grew, 100*(adj-1))
		}
	}
}
