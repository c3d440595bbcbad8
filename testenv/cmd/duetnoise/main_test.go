package main

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/testenv/internal/synth"
)

// side writes one side of a synthetic duet of four pairs: the fraud
// service's CPU, its rule matching scaled by factor.
func side(t *testing.T, dir string, seed uint64, factor float64) {
	t.Helper()
	runs := synth.Runs(synth.FraudModel(1, factor), rand.New(rand.NewPCG(seed, 3)), 4, 6, 20000, 0.01)
	merged, err := baseline.MergeRuns(runs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := baseline.Write(dir, merged); err != nil {
		t.Fatal(err)
	}
}

// TestReport: on an A/A duet the mean changes are small; with the hot
// spot at twice the work its line says about +100%.
func TestReport(t *testing.T) {
	rms := regexp.MustCompile(`>=5%: \d+ functions: RMS of the mean change ([0-9.]+)%`)
	hotMean := regexp.MustCompile(`bank-fraud-service cpu self matchFraudRules: mean \+?(-?[0-9.]+)%`)
	for _, c := range []struct {
		factor           float64
		minHot, maxHot   float64
		maxRMSWithoutHot float64
	}{
		{1, -5, 5, 5},
		{2, 60, 140, 100},
	} {
		dir := t.TempDir()
		side(t, filepath.Join(dir, "base"), 1, 1)
		side(t, filepath.Join(dir, "current"), 2, c.factor)
		var b bytes.Buffer
		if err := report(&b, dir); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		m := rms.FindStringSubmatch(out)
		h := hotMean.FindStringSubmatch(out)
		if m == nil || h == nil {
			t.Fatalf("factor %g: output lacks the >=5%% line or the hot spot:\n%s", c.factor, out)
		}
		r, _ := strconv.ParseFloat(m[1], 64)
		hv, _ := strconv.ParseFloat(h[1], 64)
		if hv < c.minHot || hv > c.maxHot {
			t.Errorf("factor %g: hot spot mean %+.1f%%, want %g..%g\n%s", c.factor, hv, c.minHot, c.maxHot, out)
		}
		if c.factor == 1 && r > c.maxRMSWithoutHot {
			t.Errorf("A/A: RMS of the mean change %.1f%%, want under %g%%\n%s", r, c.maxRMSWithoutHot, out)
		}
	}
}
