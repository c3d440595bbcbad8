package diff

import (
	"math"

	"gonum.org/v1/gonum/mathext"
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
// chance, and a function is tested with the prior's plus its own.
//
// A function that wanders far more than the fit allows (its V_g above the
// fit by more than the 99% point of its chance spread) is an outlier: it is
// judged by its own runs alone, with their few degrees of freedom, as it
// would be without pooling. That keeps one wandering caller from being
// judged by the steadiness of its neighbours.

// minPooled is the fewest functions a series needs before their run
// variances are pooled; below it every function is judged by its own runs.
const minPooled = 8

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
	d0       float64 // the prior's degrees of freedom; +Inf when the functions agree with the fit up to chance
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
	// limma's moment estimates on the log scale: log(χ²_d/d) has mean
	// ψ(d/2) - log(d/2) and variance ψ'(d/2). The GLM fits the mean of v;
	// the log-scale mean re-centres it for the prior.
	var mean float64
	zs := make([]float64, len(in))
	for i, o := range in {
		zs[i] = math.Log(o.v / rd.prior(o))
		mean += zs[i]
	}
	mean /= float64(len(zs))
	var ss float64
	for _, z := range zs {
		ss += (z - mean) * (z - mean)
	}
	varZ := ss / float64(len(zs)-1)
	shift := mean - (mathext.Digamma(d/2) - math.Log(d/2))
	if excess := varZ - trigamma(d/2); excess <= 0 {
		rd.d0 = math.Inf(1)
	} else {
		rd.d0 = 2 * trigammaInverse(excess)
		shift += mathext.Digamma(rd.d0/2) - math.Log(rd.d0/2)
	}
	scale := math.Exp(shift)
	rd.phi *= scale
	rd.tau2 *= scale
	return rd, true
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

// trigamma is ψ'(x), the Hurwitz zeta function ζ(2, x).
func trigamma(x float64) float64 { return mathext.Zeta(2, x) }

// trigammaInverse solves ψ'(x) = y for x by Newton's method, as limma's
// trigammaInverse does (ψ” = -2ζ(3, x)).
func trigammaInverse(y float64) float64 {
	switch {
	case y > 1e7:
		return 1 / math.Sqrt(y)
	case y < 1e-6:
		return 1 / y
	}
	x := 0.5 + 1/y
	for range 50 {
		tri := trigamma(x)
		dif := tri * (1 - tri/y) / (-2 * mathext.Zeta(3, x))
		x += dif
		if -dif/x < 1e-8 {
			break
		}
	}
	return x
}
