package baseline

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleSnapshot(t testing.TB, windows int, scale int64) *Snapshot {
	snap := &Snapshot{Meta: Meta{Source: "test", Window: Duration(10 * time.Second), Labels: map[string]string{"env": "ci"}}}
	for _, svc := range []string{"svc-a", "svc-b"} {
		se := NewSeries(svc, cpuID(t))
		for i := 0; i < windows; i++ {
			start := time.Unix(1_700_000_000+int64(i*10), 0).UTC()
			addCPUWindow(se, start, map[string]int64{
				"main.hot;main.main": 40 * scale, "main.cold;main.main": 10 + int64(i),
			})
		}
		snap.Put(se)
	}
	return snap
}

func TestWriteLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	snap := sampleSnapshot(t, 4, 1)
	if err := Write(dir, snap); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.ProfdiffVersion == "" || got.Meta.CreatedAt.IsZero() {
		t.Errorf("meta not filled in: %+v", got.Meta)
	}
	if !reflect.DeepEqual(got.Series, snap.Series) {
		t.Errorf("series differ after round trip")
	}
	if got.Meta.Window != Duration(10*time.Second) || got.Meta.Labels["env"] != "ci" {
		t.Errorf("meta = %+v", got.Meta)
	}
	// Rewriting with different content leaves no stale series files.
	if err := Write(dir, sampleSnapshot(t, 5, 2)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "series", "*", "*"))
	if len(files) != 2 {
		t.Errorf("after rewrite, series files = %v, want 2", files)
	}
}

func TestWriteRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	err := Write(dir, sampleSnapshot(t, 1, 1))
	if err == nil || !strings.Contains(err.Error(), "not a profdiff snapshot") {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteInvalidWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	snap := sampleSnapshot(t, 2, 1)
	snap.Series[0].Windows[0].Self = append(snap.Series[0].Windows[0].Self, Value{F: 999, V: 1})
	if err := Write(dir, snap); err == nil {
		t.Fatal("invalid snapshot was written")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory created for an invalid snapshot: %v", err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	good := filepath.Join(t.TempDir(), "snap")
	if err := Write(good, sampleSnapshot(t, 2, 1)); err != nil {
		t.Fatal(err)
	}
	seriesFiles, _ := filepath.Glob(filepath.Join(good, "series", "*", "*"))
	tests := []struct {
		name    string
		mutate  func(dir string)
		wantErr string
	}{
		{"missing manifest", func(dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }, "no manifest.json"},
		{"manifest not json", func(dir string) { os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644) }, "manifest.json: not a valid manifest"},
		{"future major", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			os.WriteFile(filepath.Join(dir, ManifestFile), bytes.Replace(b, []byte(`"`+SchemaVersion+`"`), []byte(`"2.0"`), 1), 0o644)
		}, `schema version "2.0" is not supported`},
		{"truncated series", func(dir string) {
			p := filepath.Join(dir, mustRel(t, good, seriesFiles[0]))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "checksum mismatch"},
		{"deleted series", func(dir string) { os.Remove(filepath.Join(dir, mustRel(t, good, seriesFiles[1]))) }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			copyDir(t, good, dir)
			tt.mutate(dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Load error = %v, want it to contain %q and the path", err, tt.wantErr)
			}
		})
	}
}

func TestLoadSeriesCorruptContent(t *testing.T) {
	tests := map[string][]byte{
		"not gzip":      []byte("hello"),
		"gzip not json": gz([]byte("hello")),
		"bad values":    gz([]byte(`{"service":"s","profile_type":"a:b:c:d:e","sample_type":{"type":"b","unit":"c"},"functions":[],"windows":[{"self":[1],"cum":[]}]}`)),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "s.json.gz"), data, 0o644)
			sum := sha256.Sum256(data)
			if _, err := loadSeries(d, "s.json.gz", hex.EncodeToString(sum[:])); err == nil {
				t.Fatal("corrupt series loaded")
			}
		})
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func mustRel(t *testing.T, base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func copyDir(t *testing.T, from, to string) {
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedWriteKeepsOldBaseline kills a process in the middle of
// rewriting a baseline, many times at different moments, and checks that the
// directory always loads as either the old snapshot or the new one, whole.
func TestInterruptedWriteKeepsOldBaseline(t *testing.T) {
	if os.Getenv("PROFDIFF_WRITER_DIR") != "" {
		return // running as the writer child, see TestHelperWriter
	}
	dir := filepath.Join(t.TempDir(), "baseline")
	old := sampleSnapshot(t, 3, 1)
	if err := Write(dir, old); err != nil {
		t.Fatal(err)
	}
	oldLoaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sawOld, sawNew int
	for i := 0; i < 12; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), "PROFDIFF_WRITER_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*2) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("kill %d: baseline unreadable after interrupted write: %v\n%s", i, err, out.String())
		}
		switch len(got.Series[0].Windows) {
		case 3:
			sawOld++
			if !reflect.DeepEqual(got.Series, oldLoaded.Series) {
				t.Fatalf("kill %d: old baseline changed", i)
			}
		case 40:
			sawNew++
		default:
			t.Fatalf("kill %d: half-written baseline with %d windows", i, len(got.Series[0].Windows))
		}
		// Put the old one back for the next round.
		if err := Write(dir, old); err != nil {
			t.Fatal(err)
		}
	}
	if extra := nonSnapshotFiles(t, dir); len(extra) > 0 {
		t.Errorf("after the killed writers, the next write left their files behind: %v", extra)
	}
	t.Logf("interrupted writes: %d left the old baseline, %d completed", sawOld, sawNew)
	if sawOld == 0 {
		t.Error("no write was interrupted early enough to test anything")
	}
}

// TestHelperWriter is the child process of TestInterruptedWriteKeepsOldBaseline.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv("PROFDIFF_WRITER_DIR")
	if dir == "" {
		t.Skip("only runs as a child of TestInterruptedWriteKeepsOldBaseline")
	}
	for {
		if err := Write(dir, sampleSnapshot(t, 40, 3)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// TestLoadReportsFirstBadSeries: series are decoded concurrently, but the
// error is always the first bad one in manifest order, as a one-by-one load
// would report.
func TestLoadReportsFirstBadSeries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	snap := &Snapshot{}
	for i := range 8 {
		se := NewSeries(fmt.Sprintf("svc-%d", i), cpuID(t))
		addCPUWindow(se, timeZero, map[string]int64{"main.hot;main.main": 40})
		snap.Put(se)
	}
	if err := Write(dir, snap); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{6, 3, 5} {
		os.WriteFile(filepath.Join(dir, filepath.FromSlash(m.Series[k].File)), []byte("junk"), 0o644)
	}
	want := filepath.Join(dir, filepath.FromSlash(m.Series[3].File))
	for range 20 {
		_, err := Load(dir)
		if err == nil || !strings.HasPrefix(err.Error(), want+": ") {
			t.Fatalf("Load error = %v, want it to name %s", err, want)
		}
	}
}
