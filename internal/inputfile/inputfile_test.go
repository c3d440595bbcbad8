package inputfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/internal/fuzzfile"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// bomb returns a gzip stream of n MiB of zeros, about 1 KiB per MiB: gzip
// members concatenated are one stream to a reader.
func bomb(n int) []byte {
	one := gz(make([]byte, 1<<20))
	return bytes.Repeat(one, n)
}

// smallBomb inflates to 128 KiB, past the fuzz targets' 64 KiB limit, from
// about 150 bytes: a fuzz seed small enough to minimize quickly, which
// bomb(1), a kilobyte, is not.
var smallBomb = gz(make([]byte, 128<<10))

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lim := Limit{What: "a test file", Max: 1 << 20}
	plain := write("plain", []byte("hello"))
	zipped := write("zipped.gz", gz([]byte("hello")))
	exact := write("exact", make([]byte, 1<<20))
	over := write("over", make([]byte, 1<<20+1))
	bombed := write("bomb.gz", bomb(2))
	twice := write("twice.gz", gz(gz([]byte("hello"))))
	corrupt := write("corrupt.gz", append(gz([]byte("hello world"))[:15], 0, 0, 0))
	zero := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Logf("no FIFO case: %v", err)
		fifo = zero
	}
	tests := []struct {
		path   string
		gunzip bool
		want   string // content, or "error: ..." for a substring of the error
	}{
		{plain, false, "hello"},
		{plain, true, "hello"},
		{zipped, true, "hello"},
		{exact, false, string(make([]byte, 1<<20))},
		{over, false, "error: over: is larger than 1 MiB, the limit for a test file"},
		{bombed, true, "error: bomb.gz: decompresses to more than 1 MiB, the limit for a test file"},
		{bombed, false, ""}, // small on disk: read as it is
		{twice, true, "error: gzipped twice"},
		{corrupt, true, "error: corrupt.gz: corrupt gzip data"},
		{zero, false, "error: zero: a device, not a regular file"},
		{fifo, false, "error: not a regular file"},
		{dir, false, "error: a directory, not a file"},
		{filepath.Join(dir, "missing"), false, "error: no such file"},
	}
	for _, tt := range tests {
		got, err := Read(tt.path, lim, Options{Gunzip: tt.gunzip})
		if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Read(%s, gunzip=%v): err = %v, want %q", filepath.Base(tt.path), tt.gunzip, err, want)
			}
			continue
		}
		if tt.want == "" {
			if err != nil {
				t.Errorf("Read(%s): %v", filepath.Base(tt.path), err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Read(%s, gunzip=%v) = %d bytes, %v", filepath.Base(tt.path), tt.gunzip, len(got), err)
		}
	}
}

func TestReadIn(t *testing.T) {
	root := filepath.Join(t.TempDir(), "snap")
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(root, "series", "a"), 0o755)
	os.WriteFile(filepath.Join(root, "series", "a", "f"), []byte("inside"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644)
	os.Symlink("f", filepath.Join(root, "series", "a", "rel-link"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "series", "a", "out-link"))
	os.Symlink("/dev/zero", filepath.Join(root, "zero"))
	os.Symlink(outside, filepath.Join(root, "outdir"))
	lim := Limit{What: "a test file", Max: 1 << 20}
	tests := []struct{ rel, want string }{
		{"series/a/f", "inside"},
		{"series/a/rel-link", "inside"},
		{"series/a/out-link", "error: a symbolic link leads out of"},
		{"zero", "error: a symbolic link leads out of"},
		{"outdir/secret", "error: a symbolic link leads out of"},
		{"../" + filepath.Base(outside) + "/secret", "error: not a path inside"},
		{"/etc/passwd", "error: not a path inside"},
		{"series/a", "error: a directory, not a file"},
		{"series/a/missing", "error: no such file"},
	}
	for _, tt := range tests {
		got, err := ReadIn(root, tt.rel, lim, Options{})
		if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), root) {
				t.Errorf("ReadIn(%s): err = %v, want %q and the path", tt.rel, err, want)
			}
			if want == "no such file" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("ReadIn(%s): %v is not ErrNotExist", tt.rel, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadIn(%s) = %q, %v", tt.rel, got, err)
		}
	}
}

// FuzzGunzip: any input decompresses within the limit or fails with an
// error; never more than the limit comes back, and nothing panics.
func FuzzGunzip(f *testing.F) {
	f.Add(gz([]byte("hello")))
	f.Add(smallBomb)
	f.Add(gz(gz([]byte("x"))))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	lim := Limit{What: "fuzz input", Max: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Gunzip(bytes.NewReader(data), "in", lim, int64(len(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "in: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if int64(len(out)) > lim.Max {
			t.Fatalf("returned %d bytes, over the %d limit", len(out), lim.Max)
		}
	})
}

// FuzzRead: Read of any file content, gzipped or not, stays within the
// limit and never panics.
func FuzzRead(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add(gz([]byte("hello")))
	f.Add(smallBomb)
	path := filepath.Join(f.TempDir(), "in")
	lim := Limit{What: "fuzz input", Max: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := fuzzfile.Write(path, data); err != nil {
			t.Fatal(err)
		}
		out, err := Read(path, lim, Options{Gunzip: true})
		if err == nil && int64(len(out)) > lim.Max {
			t.Fatalf("returned %d bytes, over the %d limit", len(out), lim.Max)
		}
		if err == nil && len(data) > 1 && (data[0] != 0x1f || data[1] != 0x8b) && !bytes.Equal(out, data) {
			t.Fatalf("a file that is not gzip came back changed")
		}
	})
}
