package main

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/profdiff/profdiff/pkg/baseline"
)

// TestConcurrentAccept runs two `baseline accept` commands to one baseline
// at once, again and again: each exits 0, or 2 with a one-line refusal
// naming the lock; afterwards the baseline always loads.
func TestConcurrentAccept(t *testing.T) {
	f := newFixture(t)
	to := filepath.Join(f.dir, "accepted")
	refused := 0
	for round := range 8 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		errs := make([]string, 2)
		for w, from := range []string{f.aa, f.regressed} {
			wg.Go(func() {
				for range 3 {
					codes[w], _, errs[w] = cli(t, "baseline", "accept", "--from", from, "--to", to)
					if codes[w] != 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		for w := range 2 {
			switch {
			case codes[w] == 0:
			case codes[w] == 2 && strings.Count(errs[w], "\n") == 1 && strings.Contains(errs[w], "another profdiff is writing it"):
				refused++
			default:
				t.Fatalf("round %d writer %d: exit %d, stderr %q", round, w, codes[w], errs[w])
			}
		}
		if _, err := baseline.Load(to); err != nil {
			t.Fatalf("round %d: the baseline does not load after two concurrent accepts: %v", round, err)
		}
	}
	t.Logf("%d accepts refused over 8 rounds", refused)
	if refused == 0 {
		t.Error("no accept was refused: the writers never overlapped")
	}
}
