package baseline

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/internal/inputfile"
)

// editManifest rewrites dir's manifest through edit.
func editManifest(t *testing.T, dir string, edit func(m *manifest)) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	out, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceSeries writes data as dir's first series file and updates its
// checksum, so only the content is at fault.
func replaceSeries(t *testing.T, dir string, data []byte) {
	t.Helper()
	editManifest(t, dir, func(m *manifest) {
		os.WriteFile(filepath.Join(dir, filepath.FromSlash(m.Series[0].File)), data, 0o644)
		sum := sha256.Sum256(data)
		m.Series[0].SHA256 = hex.EncodeToString(sum[:])
	})
}

// seriesJSON returns dir's first series, decoded, for editing.
func firstSeries(t *testing.T, dir string) *Series {
	snap, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Series[0]
}

func encodeForTest(t *testing.T, se *Series) []byte {
	b, err := json.Marshal(se)
	if err != nil {
		t.Fatal(err)
	}
	return gz(b)
}

// TestLoadRefusesHostileInput: every way a committed snapshot can be made
// to exhaust memory, escape its directory or contradict itself is refused
// with a one-line error naming the file.
func TestLoadRefusesHostileInput(t *testing.T) {
	// Smaller limits keep the test quick; the limits' values are tested
	// where they are measured (cmd/profdiff).
	defer func(s, m inputfile.Limit) { seriesLimit, manifestLimit = s, m }(seriesLimit, manifestLimit)
	seriesLimit.Max, manifestLimit.Max = 4<<20, 1<<20
	good := filepath.Join(t.TempDir(), "snap")
	if err := Write(good, sampleSnapshot(t, 3, 1)); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for range seriesLimit.Max>>20 + 1 {
		zw.Write(chunk)
	}
	zw.Close()
	tests := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   string
	}{
		{"series gzip bomb", func(t *testing.T, dir string) { replaceSeries(t, dir, bomb.Bytes()) }, "decompresses to more than 4 MiB, the limit for a series file"},
		{"series linked to /dev/zero", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) {
				p := filepath.Join(dir, filepath.FromSlash(m.Series[0].File))
				os.Remove(p)
				os.Symlink("/dev/zero", p)
			})
		}, "a symbolic link leads out of"},
		{"manifest linked to /dev/zero", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ManifestFile))
			os.Symlink("/dev/zero", filepath.Join(dir, ManifestFile))
		}, "a symbolic link leads out of"},
		{"series linked outside", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) {
				p := filepath.Join(dir, filepath.FromSlash(m.Series[0].File))
				data, _ := os.ReadFile(p)
				os.WriteFile(filepath.Join(outside, "s.json.gz"), data, 0o644)
				os.Remove(p)
				os.Symlink(filepath.Join(outside, "s.json.gz"), p)
			})
		}, "a symbolic link leads out of"},
		{"series dir linked outside", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "series"), filepath.Join(outside, "series"))
			os.Symlink(filepath.Join(outside, "series"), filepath.Join(dir, "series"))
		}, "a symbolic link leads out of"},
		{"series is a directory", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) {
				p := filepath.Join(dir, filepath.FromSlash(m.Series[0].File))
				os.Remove(p)
				os.Mkdir(p, 0o755)
			})
		}, "a directory, not a file"},
		{"manifest too large", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			b = append(b[:len(b)-2], bytes.Repeat([]byte(" "), int(manifestLimit.Max))...)
			os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '}'), 0o644)
		}, "is larger than 1 MiB, the limit for a snapshot manifest"},
		{"empty checksum", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.Series[0].SHA256 = "" })
		}, "no sha256"},
		{"window count", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.Series[0].Windows = 999 })
		}, "holds 3 windows but the manifest lists 999"},
		{"sample type contradicts profile type", func(t *testing.T, dir string) {
			se := firstSeries(t, dir)
			se.SampleType = ValueType{Type: "alloc_space", Unit: "bytes"}
			replaceSeries(t, dir, encodeForTest(t, se))
		}, "sample type alloc_space/bytes contradicts its profile type"},
		{"total below self values", func(t *testing.T, dir string) {
			se := firstSeries(t, dir)
			se.Windows[1].Total = 1
			replaceSeries(t, dir, encodeForTest(t, se))
		}, "window 1: total 1 is less than the sum of its functions' self values"},
		{"self values overflow", func(t *testing.T, dir string) {
			se := firstSeries(t, dir)
			w := &se.Windows[0]
			w.Self, w.Cum = nil, nil
			for f := range se.Functions {
				w.Self = append(w.Self, Value{F: int32(f), V: 1 << 62})
				w.Cum = append(w.Cum, Value{F: int32(f), V: 1 << 62})
			}
			replaceSeries(t, dir, encodeForTest(t, se))
		}, "sum past the int64 maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			copyDir(t, good, dir)
			tt.mutate(t, dir)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, dir) || strings.Contains(msg, "\n") || len(msg) > 400 {
				t.Fatalf("Load error = %q, want one line with %q and the path", msg, tt.want)
			}
		})
	}
}
