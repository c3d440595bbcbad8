package synth

import (
	"math/rand/v2"
	"testing"
)

func TestRuns(t *testing.T) {
	tests := []struct {
		factor           float64
		n, windows, each int
	}{
		{1, 4, 6, 3000},
		{2, 1, 12, 500},
	}
	for _, tt := range tests {
		runs := Runs(FraudModel(1, tt.factor), rand.New(rand.NewPCG(1, 2)), tt.n, tt.windows, tt.each, 0.02)
		if len(runs) != tt.n {
			t.Fatalf("factor %g: %d runs, want %d", tt.factor, len(runs), tt.n)
		}
		for _, s := range runs {
			se := s.Lookup(Fraud.Service, s.Series[0].ProfileType)
			if se == nil || len(se.Windows) != tt.windows {
				t.Fatalf("factor %g: series %+v, want %s with %d windows", tt.factor, s.Series, Fraud.Service, tt.windows)
			}
			found := false
			for _, f := range se.Functions {
				found = found || f.Name == Fraud.Function
			}
			if !found {
				t.Errorf("factor %g: no function %s in the series", tt.factor, Fraud.Function)
			}
		}
	}
}
