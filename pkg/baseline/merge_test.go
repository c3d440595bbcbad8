package baseline

import (
	"path/filepath"
	"testing"
	"time"
)

func TestMergeRuns(t *testing.T) {
	a := sampleSnapshot(t, 3, 1)
	b := sampleSnapshot(t, 2, 2)
	// b's function table in another order, to exercise the remap.
	se := NewSeries("svc-c", cpuID(t))
	addCPUWindow(se, time.Unix(1_700_000_100, 0), map[string]int64{"main.cold;main.main": 5, "main.hot;main.main": 7})
	b.Put(se)
	m, err := MergeRuns(a, b)
	if err != nil {
		t.Fatal(err)
	}
	sa := m.Lookup("svc-a", cpuID(t).String())
	if len(sa.Windows) != 5 {
		t.Fatalf("windows = %d, want 5", len(sa.Windows))
	}
	runs := map[int32]int{}
	for _, w := range sa.Windows {
		runs[w.Run]++
	}
	if runs[0] != 3 || runs[1] != 2 {
		t.Errorf("windows per run = %v, want 3 of run 0 and 2 of run 1", runs)
	}
	// The hot function's value in run 1 survives the remap.
	hot := int32(-1)
	for i, f := range sa.Functions {
		if f.Name == "main.hot" {
			hot = int32(i)
		}
	}
	if got := sa.Windows[4].Self.Get(hot); got != 80*10_000_000 {
		t.Errorf("hot self in run 1 = %d, want %d", got, 80*10_000_000)
	}
	if m.Lookup("svc-c", cpuID(t).String()) == nil {
		t.Error("series only in run 1 was dropped")
	}
	// Round trip through disk keeps the run numbers.
	dir := filepath.Join(t.TempDir(), "m")
	if err := Write(dir, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Lookup("svc-a", cpuID(t).String()).Windows[4].Run; got != 1 {
		t.Errorf("run after round trip = %d, want 1", got)
	}
	// A merged snapshot merged again keeps its runs apart: m's two runs
	// and a third.
	c := sampleSnapshot(t, 2, 3)
	mm, err := MergeRuns(m, c)
	if err != nil {
		t.Fatal(err)
	}
	runs = map[int32]int{}
	for _, w := range mm.Lookup("svc-a", cpuID(t).String()).Windows {
		runs[w.Run]++
	}
	if len(runs) != 3 || runs[0] != 3 || runs[1] != 2 || runs[2] != 2 {
		t.Errorf("windows per run after merging a merged snapshot = %v, want 3, 2 and 2 in runs 0, 1, 2", runs)
	}
	// A merged snapshot whose first series holds only its later run still
	// keeps its runs in their order: the windows of m's run 0 come before
	// those of its run 1 whichever series is read first. (Two duet sides
	// merged trial by trial must number their pairs alike.)
	first := NewSeries("svc-0", cpuID(t))
	addCPUWindow(first, time.Unix(1_700_000_200, 0), map[string]int64{"main.hot;main.main": 3})
	first.Windows[0].Run = 1
	m.Put(first)
	mf, err := MergeRuns(c, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := mf.Lookup("svc-0", cpuID(t).String()).Windows[0].Run; got != 2 {
		t.Errorf("svc-0's window (m's run 1) is run %d after c, want 2", got)
	}
	runs = map[int32]int{}
	for _, w := range mf.Lookup("svc-a", cpuID(t).String()).Windows {
		runs[w.Run]++
	}
	if runs[0] != 2 || runs[1] != 3 || runs[2] != 2 {
		t.Errorf("svc-a's windows per run = %v, want c's 2 in run 0, m's 3 and 2 in runs 1 and 2", runs)
	}
}
