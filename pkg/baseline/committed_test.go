package baseline

import (
	"path/filepath"
	"testing"
)

// TestCommittedSnapshotsLoad: the snapshots committed to the repository,
// written by earlier versions, still load under today's validation.
func TestCommittedSnapshotsLoad(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testenv", "baselines", "*"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "sample", "*", ManifestFile))
	for _, m := range more {
		dirs = append(dirs, filepath.Dir(m))
	}
	if len(dirs) < 3 {
		t.Fatalf("found only %v", dirs)
	}
	for _, d := range dirs {
		if _, err := Load(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
