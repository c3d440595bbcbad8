package baseline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedSnapshotsLoad: the snapshots committed to the repository,
// written by earlier versions, still load under today's validation, and
// losslessly: each series, encoded again, is byte for byte the JSON of the
// file it was read from, so decoding dropped or changed nothing the writer
// put there.
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
		snap, err := Load(d)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		data, err := os.ReadFile(filepath.Join(d, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeManifest(data)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if len(m.Series) != len(snap.Series) || len(m.Series) == 0 {
			t.Errorf("%s: %d series loaded, the manifest lists %d", d, len(snap.Series), len(m.Series))
			continue
		}
		for i, se := range snap.Series {
			e := m.Series[i]
			if se.Service != e.Service || se.ProfileType != e.ProfileType || len(se.Windows) != e.Windows {
				t.Errorf("%s: series %d is %s %s with %d windows, the manifest says %s %s with %d",
					d, i, se.Service, se.ProfileType, len(se.Windows), e.Service, e.ProfileType, e.Windows)
				continue
			}
			raw, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(e.File)))
			if err != nil {
				t.Fatal(err)
			}
			file, err := gunzip(raw)
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if err := json.NewEncoder(&again).Encode(se); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), file) {
				t.Errorf("%s: %s: encoded again, the series differs from the file: decoding lost or changed something", d, e.File)
			}
		}
	}
}
