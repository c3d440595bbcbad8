// Command duetnoise measures how far an A/A duet's change estimates are
// from zero, to compare ways of running a duet (docs/duet.md). It reads
// the snapshots `bankstack gate --against REF --keep-snapshots DIR` wrote
// (DIR/base, DIR/current; run k of each is pair k) and, for every function
// whose self value is at least 1% (and, separately, 5%) of its CPU or
// allocation profile, takes per pair the log ratio of its rate per second,
// candidate over base. The mean over pairs is the duet's estimate of the
// function's change; on an A/A duet it should be zero, so the RMS of those
// means over functions is the error of the estimate, and the share of
// functions whose paired t statistic passes the two-sided 5% critical
// value should be near 5%. The hot spots (services/bank.Hotspots) are
// listed with their per-pair changes.
//
//	go run ./testenv/cmd/duetnoise DIR...
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/services/bank"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: duetnoise DIR... (directories written by bankstack gate --keep-snapshots)")
		os.Exit(2)
	}
	for _, dir := range os.Args[1:] {
		if err := report(os.Stdout, dir); err != nil {
			fmt.Fprintf(os.Stderr, "duetnoise: %s: %v\n", dir, err)
			os.Exit(2)
		}
	}
}

// perRun sums each function's value per run and divides by the run's
// seconds: run -> function index -> rate; also each run's total rate.
func perRun(se *baseline.Series, cum bool) (map[int32]map[int32]float64, map[int32]float64) {
	rate := map[int32]map[int32]float64{}
	secs := map[int32]float64{}
	total := map[int32]float64{}
	for _, w := range se.Windows {
		secs[w.Run] += w.Seconds()
		total[w.Run] += float64(w.Total)
		if rate[w.Run] == nil {
			rate[w.Run] = map[int32]float64{}
		}
		vs := w.Self
		if cum {
			vs = w.Cum
		}
		for _, v := range vs {
			rate[w.Run][v.F] += float64(v.V)
		}
	}
	for r := range rate {
		for f := range rate[r] {
			rate[r][f] /= secs[r]
		}
		total[r] /= secs[r]
	}
	return rate, total
}

// stats are one floor's numbers.
type stats struct {
	n, beyond int
	sumSq     float64
	sds       []float64
}

func (s *stats) add(mean, sd float64, pairs int) {
	s.n++
	s.sumSq += mean * mean
	s.sds = append(s.sds, sd)
	crit := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(pairs - 1)}.Quantile(0.975)
	if sd > 0 && math.Abs(mean/(sd/math.Sqrt(float64(pairs)))) > crit {
		s.beyond++
	}
}

func (s *stats) String() string {
	if s.n == 0 {
		return "no functions"
	}
	sort.Float64s(s.sds)
	return fmt.Sprintf("%d functions: RMS of the mean change %.1f%%, median per-pair SD %.1f%%, %d beyond the paired t test's 5%% critical value",
		s.n, 100*math.Sqrt(s.sumSq/float64(s.n)), 100*s.sds[len(s.sds)/2], s.beyond)
}

func report(w io.Writer, dir string) error {
	base, err := baseline.Load(filepath.Join(dir, "base"))
	if err != nil {
		return err
	}
	cur, err := baseline.Load(filepath.Join(dir, "current"))
	if err != nil {
		return err
	}
	hot := map[string]string{}
	for _, h := range bank.Hotspots {
		hot[h.Service+" "+h.Function] = h.Profile
	}
	var floor1, floor5 stats
	var hotLines []string
	pairs := 0
	for _, bs := range base.Series {
		cs := cur.Lookup(bs.Service, bs.ProfileType)
		if cs == nil {
			continue
		}
		id, err := profiletype.ParseID(bs.ProfileType)
		if err != nil {
			return err
		}
		alias := id.Alias()
		gated := id.Kind() == profiletype.KindCPU || alias == "alloc_space"
		cidx := map[string]int32{}
		for i, f := range cs.Functions {
			cidx[f.Name] = int32(i)
		}
		for _, cum := range []bool{false, true} {
			br, bt := perRun(bs, cum)
			cr, _ := perRun(cs, cum)
			pairs = max(pairs, len(br))
			var total float64
			for _, t := range bt {
				total += t
			}
			for fi, f := range bs.Functions {
				cf, ok := cidx[f.Name]
				isHot := hot[bs.Service+" "+f.Name] == alias
				if !ok || (cum && !isHot) {
					continue
				}
				var sum float64
				var ds []float64
				for r := range br {
					sum += br[r][int32(fi)]
					if x, y := br[r][int32(fi)], cr[r][cf]; x > 0 && y > 0 {
						ds = append(ds, math.Log(y/x))
					}
				}
				if len(ds) < 2 || len(ds) < len(br) {
					continue
				}
				mean, sd := stat.MeanStdDev(ds, nil)
				if gated && !cum && sum >= 0.01*total {
					floor1.add(mean, sd, len(ds))
					if sum >= 0.05*total {
						floor5.add(mean, sd, len(ds))
					}
				}
				if isHot {
					var parts []string
					for _, d := range ds {
						parts = append(parts, fmt.Sprintf("%+.1f%%", 100*math.Expm1(d)))
					}
					kind := map[bool]string{false: "self", true: "cum"}[cum]
					hotLines = append(hotLines, fmt.Sprintf("  %s %s %s %s: mean %+.1f%%, SD %.1f%%, pairs %s",
						bs.Service, alias, kind, f.Name[strings.LastIndex(f.Name, ".")+1:], 100*math.Expm1(mean), 100*sd, strings.Join(parts, " ")))
				}
			}
		}
	}
	if pairs == 0 {
		return errors.New("no series in both snapshots")
	}
	fmt.Fprintf(w, "%s (%d pairs)\n  >=1%%: %s\n  >=5%%: %s\n", dir, pairs, &floor1, &floor5)
	for _, l := range hotLines {
		fmt.Fprintln(w, l)
	}
	return nil
}
