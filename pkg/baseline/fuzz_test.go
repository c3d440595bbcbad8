package baseline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/profdiff/profdiff/internal/fuzzfile"
)

// FuzzLoad feeds arbitrary manifest and series bytes to Load: it must return
// a snapshot that validates, or an error, and never panic. The seeds are
// as small as Write makes them (one series of one window), since each
// input that reaches new code is minimized at a cost that grows with the
// square of its length (see FuzzSnapshotProfile).
func FuzzLoad(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	seed := &Snapshot{}
	se := NewSeries("a", cpuID(f))
	addCPUWindow(se, timeZero, map[string]int64{"f": 1})
	seed.Put(se)
	if err := Write(dir, seed); err != nil {
		f.Fatal(err)
	}
	manifestBytes, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	var compact bytes.Buffer
	if err := json.Compact(&compact, manifestBytes); err != nil {
		f.Fatal(err)
	}
	manifestBytes = compact.Bytes()
	files, _ := filepath.Glob(filepath.Join(dir, "series", "*", "*"))
	seriesBytes, _ := os.ReadFile(files[0])
	f.Add(manifestBytes, seriesBytes)
	f.Add([]byte(`{"kind":"profdiff-snapshot","schema_version":"1.0","series":[{"service":"a","profile_type":"a:b:c:d:e","file":"s.json.gz"}]}`),
		gz([]byte(`{"service":"a","profile_type":"a:b:c:d:e","sample_type":{"type":"b","unit":"c"},"functions":[{"name":"f"}],"windows":[{"total":5,"self":[0,5],"cum":[0,5]}],"stacks":[[5,0]]}`)))
	// One directory for every execution, its files written over in place
	// (see internal/fuzzfile): a new directory and fresh files per
	// execution cost milliseconds, and held this target to a few
	// executions a second.
	d := filepath.Join(f.TempDir(), "fuzz")
	rel, err := filepath.Rel(dir, files[0])
	if err != nil {
		f.Fatal(err)
	}
	for _, sub := range []string{filepath.Join(d, "series", "a"), filepath.Dir(filepath.Join(d, rel))} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, manifest, series []byte) {
		for _, w := range []struct {
			path string
			data []byte
		}{{filepath.Join(d, ManifestFile), manifest}, {filepath.Join(d, "s.json.gz"), series}, {filepath.Join(d, rel), series}} {
			if err := fuzzfile.Write(w.path, w.data); err != nil {
				t.Fatal(err)
			}
		}
		snap, err := Load(d)
		if err != nil {
			return
		}
		if err := snap.Validate(); err != nil {
			t.Fatalf("Load returned an invalid snapshot: %v", err)
		}
	})
}
