package diff

import (
	"math"

	"github.com/profdiff/profdiff/pkg/baseline"
)

// windowPairs is what a duet's simultaneous windows share. In a duet's
// pair k the base and the candidate ran at the same time under the same
// requests (the same load seed), and both uploaded their profiles at the
// same 5 s boundaries, so window i of the base and window i of the
// candidate saw the same requests and the same machine. Whatever the load
// and the machine put into a window — a burst of arrivals, a neighbour's
// spike — is in both and cancels in their difference; only what each
// process adds (its own sampling, its own scheduling) does not.
//
// Measured on a 4-pair A/A duet of the bank stack (docs/duet.md): the
// order service's lock hot spot's window values correlate 0.95 between
// the two sides, the notification service's allocation hot spot's 0.50,
// the fraud service's CPU hot spot's 0.14 (its total CPU: 0.93). Under
// "no change" the variance of the difference of the two sides' means is
// then
//
//	σ²(1/n_b + 1/n_c) − 2·cov·m/(n_b·n_c)
//
// where cov is the covariance of matched windows' values about their
// pair's means, and m the number of matched windows. A window present on
// one side only (a block that started a little later) is kept in its
// side's mean but does not pair.
type windowPairs struct {
	n     int          // matched windows
	df    int          // their degrees of freedom: n less the pairs they fall in
	cov   [2][]float64 // per measure and function: covariance of matched windows' values
	runs  map[int32]pairTotals
	valid bool
}

// pairTotals are the matched windows of one pair, on the series' totals
// (as levels: per second under Rate): their count and the covariance of
// the two sides' totals.
type pairTotals struct {
	n   int
	cov float64
}

// matchWindows pairs the usable windows of b and c that belong to the same
// run and start at the same time. It reports valid = false when fewer than
// two degrees of freedom remain, and the test then goes unpaired at the
// window level.
func (sc *seriesCompare) matchWindows(b, c *baseline.Series, bmap, cmap []int32, nf int) *windowPairs {
	wp := &windowPairs{runs: map[int32]pairTotals{}}
	type key struct {
		run   int32
		start int64
	}
	usable := func(w *baseline.Window) bool {
		return w.Total > 0 && (sc.norm != Rate || w.Seconds() > 0)
	}
	byKey := map[key]int{}
	for i := range b.Windows {
		if w := &b.Windows[i]; usable(w) {
			byKey[key{w.Run, w.Start.UnixNano()}] = i
		}
	}
	matched := map[int32][][2]int{}
	var order []int32
	for j := range c.Windows {
		w := &c.Windows[j]
		if !usable(w) {
			continue
		}
		i, ok := byKey[key{w.Run, w.Start.UnixNano()}]
		if !ok {
			continue
		}
		if _, seen := matched[w.Run]; !seen {
			order = append(order, w.Run)
		}
		matched[w.Run] = append(matched[w.Run], [2]int{i, j})
	}
	for m := range 2 {
		wp.cov[m] = make([]float64, nf)
	}
	xb := [2][]float64{make([]float64, nf), make([]float64, nf)}
	sumB := [2][]float64{make([]float64, nf), make([]float64, nf)}
	sumC := [2][]float64{make([]float64, nf), make([]float64, nf)}
	pairs := 0
	for _, run := range order {
		list := matched[run]
		if len(list) < 2 {
			continue
		}
		pairs++
		wp.n += len(list)
		for m := range 2 {
			clear(sumB[m])
			clear(sumC[m])
		}
		var tb, tc, tbc float64
		for _, ij := range list {
			wb, wc := &b.Windows[ij[0]], &c.Windows[ij[1]]
			lb, lc := sc.level(wb), sc.level(wc)
			tb, tc, tbc = tb+lb, tc+lc, tbc+lb*lc
			for m := range 2 {
				vb, vc := wb.Self, wc.Self
				if m == 1 {
					vb, vc = wb.Cum, wc.Cum
				}
				for _, v := range vb {
					if int(v.F) < len(bmap) {
						g := bmap[v.F]
						x := sc.value(v.V, wb)
						xb[m][g] += x // two raw names can fold into one function
						sumB[m][g] += x
					}
				}
				for _, v := range vc {
					if int(v.F) < len(cmap) {
						g := cmap[v.F]
						x := sc.value(v.V, wc)
						sumC[m][g] += x
						wp.cov[m][g] += xb[m][g] * x
					}
				}
				for _, v := range vb {
					if int(v.F) < len(bmap) {
						xb[m][bmap[v.F]] = 0
					}
				}
			}
		}
		k := float64(len(list))
		for m := range 2 {
			for g := range nf {
				if sumB[m][g] != 0 && sumC[m][g] != 0 {
					wp.cov[m][g] -= sumB[m][g] * sumC[m][g] / k
				}
			}
		}
		wp.runs[run] = pairTotals{n: len(list), cov: (tbc - tb*tc/k) / (k - 1)}
	}
	wp.df = wp.n - pairs
	if wp.df < 2 {
		return &windowPairs{}
	}
	for m := range 2 {
		for g := range nf {
			wp.cov[m][g] /= float64(wp.df)
		}
	}
	wp.valid = true
	return wp
}

// value is a function's raw value v in window w in the normalization's
// unit, as accumulate computes it.
func (sc *seriesCompare) value(v int64, w *baseline.Window) float64 {
	total := float64(w.Total)
	switch sc.norm {
	case Rate:
		return float64(v) / w.Seconds()
	case Rest:
		return float64(v) / math.Max(total-float64(v), total/maxRestOdds)
	}
	return float64(v) / total
}

// level is a window's total as the drift measures it: per second under
// Rate, raw otherwise.
func (sc *seriesCompare) level(w *baseline.Window) float64 {
	if sc.norm == Rate {
		return float64(w.Total) / w.Seconds()
	}
	return float64(w.Total)
}
