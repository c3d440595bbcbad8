package diff

import (
	"reflect"
	"testing"
)

func TestFoldedAndExplains(t *testing.T) {
	const leaf, mid, root = "fraud.matchRules", "fraud.Score", "net/http.(*conn).serve"
	se := &SeriesResult{Findings: []Finding{
		{Function: leaf, Measure: Self, Kind: KindRegression},
		{Function: leaf, Measure: Cumulative, Kind: KindRegression, ExplainedBy: leaf},
		{Function: mid, Measure: Cumulative, Kind: KindRegression, ExplainedBy: leaf},
		{Function: root, Measure: Cumulative, Kind: KindRegression, ExplainedBy: leaf},
		// Explained by a function with no listed finding: nothing to fold
		// it under, so it stays a row of its own.
		{Function: "orphan", Measure: Cumulative, Kind: KindRegression, ExplainedBy: "not.listed"},
		// A self finding is never folded, whatever it says.
		{Function: "selfish", Measure: Self, Kind: KindRegression, ExplainedBy: leaf},
		// Chains are not followed: "a" is explained by "b", which is
		// itself an explained cumulative finding.
		{Function: "b", Measure: Cumulative, Kind: KindRegression, ExplainedBy: "c"},
		{Function: "a", Measure: Cumulative, Kind: KindRegression, ExplainedBy: "b"},
	}}
	tests := []struct {
		i      int
		folded bool
	}{
		{0, false}, {1, true}, {2, true}, {3, true}, {4, false}, {5, false}, {6, false}, {7, false},
	}
	for _, tt := range tests {
		f := se.Findings[tt.i]
		if got := se.Folded(f); got != tt.folded {
			t.Errorf("Folded(%s %s) = %v, want %v", f.Function, f.Measure, got, tt.folded)
		}
	}
	var got []string
	for _, c := range se.Explains(se.Findings[0]) {
		got = append(got, c.Function)
	}
	if want := []string{leaf, mid, root}; !reflect.DeepEqual(got, want) {
		t.Errorf("Explains(self %s) = %v, want %v", leaf, got, want)
	}
	if n := len(se.Explains(se.Findings[2])); n != 0 {
		t.Errorf("a folded finding explains %d others, want 0", n)
	}
}
