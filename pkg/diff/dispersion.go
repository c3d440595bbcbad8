package diff

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// A baseline recorded over several runs shows two noises for every
// function: how much its value moves between the windows of one run, and how
// much its mean moves between runs. The windows predict the second from the
// first (a run's mean varies as the windows' variance over their number),
// and on a real stack the prediction is wrong in two ways that belong to the
// series rather than to one function:
//
//   - allocation windows are lumpy, because Go publishes a GC cycle's
//     allocations at once: the windows scatter more than the runs' means
//     do, by a factor common to the series' functions (φ below 1);
//   - a process's cost per unit of work moves from one start to the next:
//     every function's level drifts by some percent, whatever its size,
//     which the windows of one run cannot show at all (τ, a relative drift).
//
// So the variance of one run's mean of function g is modelled as
//
//	V_g = φ·E_g + τ²·μ_g²
//
// where E_g is what g's windows predict and μ_g its mean. One function's own
// runs measure V_g with K-1 degrees of freedom, too few to test anything
// sharply (a t quantile with 3 degrees of freedom after Benjamini–Hochberg
// over dozens of functions is around 20). φ and τ² are instead fitted to
// all the series' functions at once, a gamma GLM with an identity link (the
// sample variance of K run means is a scaled χ²_{K-1}), and each function's
// own V_g is shrunk towards the fit: the empirical Bayes moderation limma
// uses for gene-wise variances with a variance trend (Smyth, "Linear models
// and empirical Bayes methods for assessing differential expression in
// microarray experiments", 2004; limma-trend). The prior's degrees of
// freedom come from how much the functions disagree with the fit beyond
// chance (matched by quantiles, not moments, so that functions far steadier
// than the fit do not count as disagreement), and a function is tested with
// the prior's plus its own.
//
// A function that wanders far more than the fit allows (its V_g above the
// fit by more than the 99% point of its chance spread) is an outlier: it is
// judged by its own runs alone, with their few degrees of freedom, as it
// would be without pooling. That keeps one wandering caller from being
// judged by the steadiness of its neighbours.

// minPooled is the fewest functions a series needs before their run
// variances are pooled; below it every function is judged by its own runs.
const minPooled = 8

// maxPriorDF caps the degrees of freedom the fit lends a function. A few
// dozen functions' spread cannot tell a prior of 20 degrees of freedom from
// an infinite one (the interquartile ranges of log F(3, 20) and log χ²_3/3
// are 1.29 and 1.22; a sample IQR of 50 values is good to about 15%), so "the functions agree up to chance" is never
// taken at its word: a function whose runs wander more than the fit says
// keeps some of its own say. On the stack this stopped a bystander's lock
// contention count (4 to 9 per window over the baseline's runs, 17 in the
// run) from failing an A/A series (docs/verdict-quality.md), for a few
// percent of minimum detectable effect elsewhere.
const maxPriorDF = 20

// outlierLevel is the upper quantile of a function's chance spread beyond
// which it is judged by its own runs.
const outlierLevel = 0.99

// runObs is one function's evidence about run-to-run variation: v, the
// variance of its K run means; e, the variance of one run's mean that its
// windows predict; m2, its mean squared.
type runObs struct{ v, e, m2 float64 }

func (o runObs) usable() bool {
	return o.v > 0 && o.e > 0 && o.m2 > 0 && !math.IsInf(o.v, 0) && !math.IsNaN(o.v)
}

// runDispersion is a series' fitted run-to-run variance model.
type runDispersion struct {
	d        float64 // degrees of freedom of one function's v: runs-1
	phi      float64 // the windows' factor
	tau2     float64 // relative drift of a run's level, squared
	d0       float64 // the prior's degrees of freedom, at most maxPriorDF
	cutoff   float64 // v/prior above this is an outlier
	pooled   int     // functions the fit used (outliers excluded)
	outliers int
}

// prior is the fitted variance of one run's mean for o.
func (rd runDispersion) prior(o runObs) float64 { return rd.phi*o.e + rd.tau2*o.m2 }

// estimateDispersion fits the model to the functions' observations, each
// with d degrees of freedom. It reports false when too few are usable.
func estimateDispersion(obs []runObs, d float64) (runDispersion, bool) {
	var use []runObs
	for _, o := range obs {
		if o.usable() {
			use = append(use, o)
		}
	}
	if d < 1 || len(use) < minPooled {
		return runDispersion{}, false
	}
	// A first cutoff for the fit, as if chance were the only spread.
	rd := runDispersion{d: d, cutoff: distuv.ChiSquared{K: d}.Quantile(outlierLevel) / d}
	var ok bool
	if rd.phi, rd.tau2, ok = fitTrend(use, 1, 0); !ok {
		return runDispersion{}, false
	}
	// Set the outliers aside and fit again without them.
	var in []runObs
	for _, o := range use {
		if o.v > rd.cutoff*rd.prior(o) {
			rd.outliers++
		} else {
			in = append(in, o)
		}
	}
	if len(in) < minPooled {
		return runDispersion{}, false
	}
	if rd.phi, rd.tau2, ok = fitTrend(in, rd.phi, rd.tau2); !ok {
		return runDispersion{}, false
	}
	rd.pooled = len(in)
	// Under the model a function's v over its prior is F(d, d0)
	// distributed (limma's result: the prior is a scaled inverse χ² with
	// d0 degrees of freedom). d0 comes from the spread of log(v/fit) and
	// the scale from its centre, both by quantiles rather than moments: a
	// series holds functions whose runs agree far better than chance
	// (allocations fixed per request add up exactly over a run) and their
	// far left tail must not pass for disagreement with the fit.
	zs := make([]float64, len(in))
	for i, o := range in {
		zs[i] = math.Log(o.v / rd.prior(o))
	}
	sort.Float64s(zs)
	q := func(p float64) float64 { return stat.Quantile(p, stat.LinInterp, zs, nil) }
	iqr := q(0.75) - q(0.25)
	rd.d0 = min(fitPriorDF(d, iqr), maxPriorDF)
	ref := logRatioQuantile(d, rd.d0)
	scale := math.Exp(q(0.5) - ref(0.5))
	rd.phi *= scale
	rd.tau2 *= scale
	rd.cutoff = math.Exp(ref(outlierLevel))
	// The outliers the tests will see are those above the final cutoff.
	rd.outliers = 0
	for _, o := range use {
		if o.v > rd.cutoff*rd.prior(o) {
			rd.outliers++
		}
	}
	return rd, true
}

// logRatioQuantile returns the quantile function of log F(d, d0), the log
// of a function's run variance over its prior; F(d, ∞) is χ²_d/d.
func logRatioQuantile(d, d0 float64) func(p float64) float64 {
	if math.IsInf(d0, 1) {
		chi := distuv.ChiSquared{K: d}
		return func(p float64) float64 { return math.Log(chi.Quantile(p) / d) }
	}
	f := distuv.F{D1: d, D2: d0}
	return func(p float64) float64 { return math.Log(f.Quantile(p)) }
}

// fitPriorDF finds the prior degrees of freedom d0 whose log F(d, d0) has
// the observed interquartile range; +Inf when chance alone (d0 = ∞) spreads
// as wide.
func fitPriorDF(d, iqr float64) float64 {
	spread := func(d0 float64) float64 {
		qf := logRatioQuantile(d, d0)
		return qf(0.75) - qf(0.25)
	}
	if !(iqr > spread(math.Inf(1))) {
		return math.Inf(1)
	}
	// The spread falls as d0 grows; bisect on log d0.
	lo, hi := math.Log(0.1), math.Log(1e5)
	if iqr >= spread(math.Exp(lo)) {
		return math.Exp(lo)
	}
	if iqr <= spread(math.Exp(hi)) {
		return math.Inf(1)
	}
	for range 60 {
		mid := (lo + hi) / 2
		if spread(math.Exp(mid)) > iqr {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

// fitTrend fits v ≈ phi·e + tau2·m2 by iteratively reweighted least
// squares for a gamma GLM with identity link (weights 1/μ²), both
// coefficients kept non-negative, starting from (phi, tau2).
func fitTrend(obs []runObs, phi, tau2 float64) (float64, float64, bool) {
	if phi <= 0 && tau2 <= 0 {
		phi = 1
	}
	for range 50 {
		var a11, a12, a22, b1, b2 float64
		for _, o := range obs {
			mu := phi*o.e + tau2*o.m2
			if mu <= 0 {
				mu = o.v
			}
			w := 1 / (mu * mu)
			a11 += w * o.e * o.e
			a12 += w * o.e * o.m2
			a22 += w * o.m2 * o.m2
			b1 += w * o.e * o.v
			b2 += w * o.m2 * o.v
		}
		np, nt := 0.0, 0.0
		if det := a11*a22 - a12*a12; det > 0 {
			np = (b1*a22 - b2*a12) / det
			nt = (a11*b2 - a12*b1) / det
		}
		if !(np > 0 && nt > 0) {
			// On the boundary: the better of the one-coefficient fits.
			p1, t2 := b1/a11, b2/a22
			switch {
			case p1 > 0 && (!(t2 > 0) || sqDev(obs, p1, 0) <= sqDev(obs, 0, t2)):
				np, nt = p1, 0
			case t2 > 0:
				np, nt = 0, t2
			default:
				return 0, 0, false
			}
		}
		done := math.Abs(np-phi) <= 1e-9*math.Max(np, 1e-300) && math.Abs(nt-tau2) <= 1e-9*math.Max(nt, 1e-300)
		phi, tau2 = np, nt
		if done {
			break
		}
	}
	return phi, tau2, true
}

// sqDev is the gamma GLM's deviance of a fit, up to constants: how badly
// it explains the observations on a relative scale.
func sqDev(obs []runObs, phi, tau2 float64) float64 {
	var dev float64
	for _, o := range obs {
		mu := phi*o.e + tau2*o.m2
		if mu <= 0 {
			return math.Inf(1)
		}
		dev += o.v/mu - math.Log(o.v/mu) - 1
	}
	return dev
}

// moderate returns a function's run-mean variance shrunk towards the fit
// and the degrees of freedom it carries, or ok false for an outlier or an
// unusable observation, which is judged by its own runs.
func (rd runDispersion) moderate(o runObs) (v, df float64, ok bool) {
	p := rd.prior(o)
	if !(p > 0) || o.v < 0 || math.IsNaN(o.v) || o.v > rd.cutoff*p {
		return 0, 0, false
	}
	if math.IsInf(rd.d0, 1) {
		return p, math.Inf(1), true
	}
	return (rd.d0*p + rd.d*o.v) / (rd.d0 + rd.d), rd.d0 + rd.d, true
}
