package baseline

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/pprof/profile"
)

// FuzzLoad feeds arbitrary manifest and series bytes to Load: it must return
// a snapshot that validates, or an error, and never panic.
func FuzzLoad(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	if err := Write(dir, sampleSnapshot(f, 2, 1)); err != nil {
		f.Fatal(err)
	}
	manifestBytes, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	files, _ := filepath.Glob(filepath.Join(dir, "series", "*", "*"))
	seriesBytes, _ := os.ReadFile(files[0])
	f.Add(manifestBytes, seriesBytes)
	f.Add([]byte(`{"kind":"profdiff-snapshot","schema_version":"1.0","series":[{"service":"a","profile_type":"a:b:c:d:e","file":"s.json.gz"}]}`),
		gz([]byte(`{"service":"a","profile_type":"a:b:c:d:e","sample_type":{"type":"b","unit":"c"},"functions":[{"name":"f"}],"windows":[{"total":5,"self":[0,5],"cum":[0,5]}],"stacks":[[5,0]]}`)))
	f.Fuzz(func(t *testing.T, manifest, series []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, ManifestFile), manifest, 0o644)
		os.MkdirAll(filepath.Join(d, "series", "a"), 0o755)
		os.WriteFile(filepath.Join(d, "s.json.gz"), series, 0o644)
		rel, _ := filepath.Rel(dir, files[0])
		os.MkdirAll(filepath.Dir(filepath.Join(d, rel)), 0o755)
		os.WriteFile(filepath.Join(d, rel), series, 0o644)
		snap, err := Load(d)
		if err != nil {
			return
		}
		if err := snap.Validate(); err != nil {
			t.Fatalf("Load returned an invalid snapshot: %v", err)
		}
	})
}

// FuzzAddProfile decodes arbitrary bytes as pprof and reduces them to a
// window: errors are fine, panics and invalid series are not.
func FuzzAddProfile(f *testing.F) {
	var buf bytes.Buffer
	cpuProfile(timeZero, map[string]int64{"a;b": 3, "c;b": 1}).Write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.ParseData(data)
		if err != nil {
			return
		}
		se := NewSeries("svc", cpuID(t))
		if err := se.AddProfile(p, WindowOptions{}); err != nil {
			return
		}
		if err := se.Validate(); err != nil {
			t.Fatalf("AddProfile produced an invalid series: %v", err)
		}
	})
}
