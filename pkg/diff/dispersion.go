package diff

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// A baseline recorded over several runs shows two noises for every
// function: how much its value moves between the windows of one run, and how
// much its mean moves between runs. The windows predict the second from the
// first (a run's mean varies as the windows' variance over their number),
// and on a real stack the prediction is wrong in a way that belongs to the
// series rather than to the function:
//
//   - allocation windows are lumpy, because Go publishes a GC cycle's
//     allocations at once: the windows scatter more than the runs' means do,
//     and a window-based test is too wide;
//   - a process's CPU cost per unit of work moves from one run to the next
//     more than its windows show, and a window-based test is too narrow.
//
// One function's own runs measure its ratio with K-1 degrees of freedom,
// which for a 4-run baseline is too few to test anything sharply (a t
// quantile with 3 degrees of freedom, after Benjamini–Hochberg over dozens of
// functions, is around 20). So the ratio is estimated from all the series'
// functions at once and each function's own ratio is shrunk towards it, the
// empirical Bayes moderation that limma uses for gene-wise variances (Smyth,
// "Linear models and empirical Bayes methods for assessing differential
// expression in microarray experiments", 2004): the prior's degrees of
// freedom come from how much the functions' ratios disagree beyond chance,
// and a function is tested with the prior's plus its own.
//
// A function that wanders far more than the rest (its ratio above the pooled
// one by more than the 99% point of its chance spread) is an outlier: it is
// left to its own runs, with their few degrees of freedom, as it would be
// without pooling. That keeps one wandering caller from being judged by the
// steadiness of its neighbours.

// minPooled is the fewest functions a series needs before their ratios are
// pooled; below it every function is judged by its own runs.
const minPooled = 8

// outlierLevel is the upper quantile of a function's chance spread beyond
// which it is judged by its own runs.
const outlierLevel = 0.99

// runDispersion is a series' pooled ratio of run-to-run variance to what its
// windows predict.
type runDispersion struct {
	d        float64 // degrees of freedom of one function's ratio: runs-1
	phi0     float64 // the pooled (prior) ratio
	d0       float64 // the prior's degrees of freedom; +Inf when the functions agree up to chance
	cutoff   float64 // ratios above this are outliers
	pooled   int     // functions whose ratios were pooled (outliers excluded)
	outliers int
}

// estimateDispersion pools the ratios (each with d degrees of freedom: one
// function's variance of its run means over the variance its windows
// predict for one run's mean). It reports false when there are too few
// ratios to pool.
func estimateDispersion(ratios []float64, d float64) (runDispersion, bool) {
	var rs []float64
	for _, r := range ratios {
		if r > 0 && !math.IsInf(r, 0) && !math.IsNaN(r) {
			rs = append(rs, r)
		}
	}
	if d < 1 || len(rs) < minPooled {
		return runDispersion{}, false
	}
	chi := distuv.ChiSquared{K: d}
	// A first, robust scale from the median, to find the outliers.
	sort.Float64s(rs)
	med := rs[len(rs)/2]
	if len(rs)%2 == 0 {
		med = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
	}
	phiMed := med / (chi.Quantile(0.5) / d)
	rd := runDispersion{d: d, cutoff: phiMed * chi.Quantile(outlierLevel) / d}
	var zs []float64
	for _, r := range rs {
		if r > rd.cutoff {
			rd.outliers++
			continue
		}
		zs = append(zs, math.Log(r))
	}
	rd.pooled = len(zs)
	if len(zs) < minPooled {
		return runDispersion{}, false
	}
	// limma's moment estimates on the log scale: log(χ²_d/d) has mean
	// ψ(d/2) - log(d/2) and variance ψ'(d/2).
	var mean float64
	for _, z := range zs {
		mean += z
	}
	mean /= float64(len(zs))
	var ss float64
	for _, z := range zs {
		ss += (z - mean) * (z - mean)
	}
	varZ := ss / float64(len(zs)-1)
	e := mean - (mathext.Digamma(d/2) - math.Log(d/2))
	excess := varZ - trigamma(d/2)
	if excess <= 0 {
		rd.d0 = math.Inf(1)
		rd.phi0 = math.Exp(e)
		return rd, true
	}
	rd.d0 = 2 * trigammaInverse(excess)
	rd.phi0 = math.Exp(e + mathext.Digamma(rd.d0/2) - math.Log(rd.d0/2))
	return rd, true
}

// moderate returns a function's ratio shrunk towards the pooled one and the
// degrees of freedom it carries, or ok false for an outlier (or a function
// whose own ratio is unknown, r < 0), which is judged by its own runs.
func (rd runDispersion) moderate(r float64) (phi, df float64, ok bool) {
	if r > rd.cutoff || r < 0 || math.IsNaN(r) {
		return 0, 0, false
	}
	if math.IsInf(rd.d0, 1) {
		return rd.phi0, math.Inf(1), true
	}
	return (rd.d0*rd.phi0 + rd.d*r) / (rd.d0 + rd.d), rd.d0 + rd.d, true
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
