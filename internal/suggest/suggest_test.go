package suggest

import (
	"fmt"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"floor", "floor", 0},
		{"treshold", "threshold", 1}, {"threhsold", "threshold", 1}, {"flor", "floor", 1},
		{"alhpa", "alpha", 1}, {"colour", "floor", 3}, {"kitten", "sitting", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"threshold", "floor", "alpha", "min_windows", "min_samples", "min_run_drift", "normalization"}
	for _, tt := range []struct{ in, want string }{
		{"treshold", "threshold"}, {"Threshold", "threshold"}, {"min-windows", "min_windows"},
		{"minwindows", "min_windows"}, {"flor", "floor"}, {"alhpa", "alpha"},
		{"normalisation", "normalization"}, {"colour", ""}, {"x", ""}, {"", ""},
	} {
		if got := Closest(tt.in, keys); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func ExampleClosest() {
	fmt.Println(Closest("treshold", []string{"threshold", "floor", "alpha"}))
	// Output: threshold
}
