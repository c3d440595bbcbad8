package fuzzfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Each write leaves the file holding exactly what was written, whether the
// file was missing, longer or shorter before.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	for _, data := range [][]byte{
		[]byte("a longer first content"),
		[]byte("short"),
		{},
		[]byte("grows again past the first one's length"),
		{0x1f, 0x8b, 0},
	} {
		if err := Write(path, data); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("after Write(%q) the file holds %q", data, got)
		}
	}
}

// A path whose directory is missing is an error, not a panic.
func TestWriteMissingDir(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such", "in"), []byte("x")); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

func BenchmarkWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in")
	data := make([]byte, 190)
	for i := 0; b.Loop(); i++ {
		if err := Write(path, data[:100+i%90]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOSWriteFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in")
	data := make([]byte, 190)
	for i := 0; b.Loop(); i++ {
		if err := os.WriteFile(path, data[:100+i%90], 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
