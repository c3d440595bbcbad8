package reduce_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// TestProfileFilesMatchAddProfile: a series built from pprof files by the
// fast path (AddProfileFiles: the wire-format decoder, one index kept
// across windows) equals the one google/pprof's parser and AddProfile
// build window by window, for a model with closures (normalized names)
// and shared stacks.
func TestProfileFilesMatchAddProfile(t *testing.T) {
	dir := t.TempDir()
	m := gen.NewModel(7, 400)
	rng := rand.New(rand.NewPCG(3, 4))
	files, err := m.WriteWindows(rng, dir, gen.Windows{N: 4, Samples: 5000, Jitter: 0.05, Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := profiletype.Parse("cpu")
	limit := inputfile.Limit{What: "a profile", Max: 64 << 20}
	fast := &baseline.Snapshot{}
	if _, err := reduce.AddProfileFiles(fast, "s", ids, files, limit); err != nil {
		t.Fatal(err)
	}
	slow := baseline.NewSeries("s", ids[0])
	for _, f := range files {
		p, _, err := reduce.ReadProfileFile(f, limit)
		if err != nil {
			t.Fatal(err)
		}
		if err := reduce.AddProfile(slow, p, reduce.WindowOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(fast.Series) != 1 || !reflect.DeepEqual(fast.Series[0], slow) {
		t.Fatalf("the fast path's series differs from AddProfile's")
	}
	closures := 0
	for _, f := range slow.Functions {
		if f.RawName != "" {
			closures++
		}
	}
	if closures == 0 || len(slow.Windows) != 4 {
		t.Errorf("%d closures, %d windows: the model should exercise both", closures, len(slow.Windows))
	}
}
