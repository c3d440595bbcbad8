// Package inputfile reads the files profdiff is handed — pprof profiles,
// snapshot manifests and series files — within stated bounds.
//
// Every such file may come from a pull request, so none is trusted: a small
// gzip file can inflate to gigabytes, a symbolic link can point at /dev/zero
// or out of the snapshot directory, and a FIFO can block forever. Read and
// ReadIn therefore open regular files only, refuse links that leave a
// directory, and stop at a limit on the bytes read and, for gzip, on the
// bytes it inflates to, naming the limit in the error. Peak memory is then
// about the limit itself (the decompressed bytes are held once), whatever
// the file holds: at most about twice the limit, while the buffer grows
// (measured: a 1 MiB gzip file inflating to 1 GiB, read by profdiff snapshot
// with its 64 MiB limit, peaked at 141 MiB resident).
package inputfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	kgzip "github.com/klauspost/compress/gzip"
)

// Limit bounds one file: Max bytes, read or (for gzip) decompressed. What
// names the kind of file in errors ("a pprof profile").
type Limit struct {
	What string
	Max  int64
}

// TooLargeError says that a file exceeds its limit.
type TooLargeError struct {
	Path         string
	Limit        Limit
	Decompressed bool
}

func (e *TooLargeError) Error() string {
	verb := "is larger than"
	if e.Decompressed {
		verb = "decompresses to more than"
	}
	return fmt.Sprintf("%s: %s %s, the limit for %s", e.Path, verb, Size(e.Limit.Max), e.Limit.What)
}

// Size formats a byte count as the limits are stated: "64 MiB", "512 KiB".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Options say how a file is read.
type Options struct {
	// Gunzip decompresses a gzipped file (one that starts with the gzip
	// magic number) and returns what it holds; other files are returned
	// as they are. Output nested in a second layer of gzip is refused.
	Gunzip bool
}

// Read reads the regular file at path (following links, which the user
// named), within lim.
func Read(path string, lim Limit, opts Options) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path, lim, opts)
}

// ReadIn reads the regular file rel inside the directory root, within lim.
// rel must be a local, slash-separated path; a symbolic link on the way that
// leads out of root is refused (links inside root are followed), as is
// anything that is not a regular file. Errors name root joined with rel.
func ReadIn(root, rel string, lim Limit, opts Options) ([]byte, error) {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, fmt.Errorf("%s: not a path inside %s", path, root)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Stat(filepath.FromSlash(rel))
	if err != nil {
		return nil, rootError(path, root, err)
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	f, err := r.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, rootError(path, root, err)
	}
	defer f.Close()
	return read(f, path, lim, opts)
}

// rootError rewrites os.Root's errors, which name only the relative path,
// to name the whole path and say plainly what an escaping link is.
func rootError(path, root string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if err.Error() == "path escapes from parent" {
		return fmt.Errorf("%s: a symbolic link leads out of %s; a snapshot's files must be inside it", path, root)
	}
	return &fs.PathError{Op: "open", Path: path, Err: err}
}

func regular(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case fi.IsDir():
		what = "a directory, not a file"
	case fi.Mode()&fs.ModeDevice != 0 || fi.Mode()&fs.ModeCharDevice != 0:
		what = "a device, not a regular file"
	case fi.Mode()&fs.ModeNamedPipe != 0:
		what = "a named pipe, not a regular file"
	}
	return fmt.Errorf("%s: %s", path, what)
}

// read reads f within lim, after checking again that what was opened is a
// regular file (the path may have been swapped since the Stat).
func read(f *os.File, path string, lim Limit, opts Options) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	if opts.Gunzip {
		if magic, _ := br.Peek(2); isGzip(magic) {
			hint := fi.Size() * 8
			// The gzip trailer's last four bytes are the uncompressed
			// size (mod 4 GiB): the buffer is allocated once, at its
			// size, instead of at a guess that must be cleared and may
			// have to grow. A wrong trailer only misleads the guess;
			// the CRC and length are still checked.
			var isize [4]byte
			if fi.Size() >= 18 {
				if _, err := f.ReadAt(isize[:], fi.Size()-4); err == nil {
					if n := int64(binary.LittleEndian.Uint32(isize[:])); n > 0 {
						hint = n + 1
					}
				}
			}
			out, err := gunzip(br, path, lim, hint)
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	out, err := readAll(br, fi.Size(), lim.Max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(out)) > lim.Max {
		return nil, &TooLargeError{Path: path, Limit: lim}
	}
	return out, nil
}

// readAll reads r to its end or to limit+1 bytes, whichever comes first,
// into a buffer first sized hint. The buffer doubles when full but never
// past limit+1 bytes, so the peak is at most about twice the limit (the old
// buffer and the new one while copying), where bytes.Buffer's growth could
// reach three times.
func readAll(r io.Reader, hint, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(max(hint, 512), limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(int64(2*cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// Gunzip decompresses the gzip stream r, refusing more than lim.Max bytes of
// output, and refusing output that is itself gzipped (a second layer would
// be decompressed again, without this limit, by whatever reads it next).
// sizeHint, the compressed size when known, sizes the first buffer. It reads
// with klauspost/compress's gzip, which checks the CRC-32 and length trailer
// as compress/gzip does and inflates about twice as fast.
func Gunzip(r io.Reader, path string, lim Limit, sizeHint int64) ([]byte, error) {
	// A typical profile or series file inflates 4 to 10 times; the buffer
	// grows beyond that guess by doubling, up to the limit.
	return gunzip(r, path, lim, max(sizeHint, 0)*8)
}

// gunzip is Gunzip with the first buffer's size given.
func gunzip(r io.Reader, path string, lim Limit, bufSize int64) ([]byte, error) {
	zr, err := kgzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid gzip file: %w", path, err)
	}
	out, err := readAll(zr, bufSize, lim.Max)
	if err != nil {
		return nil, fmt.Errorf("%s: corrupt gzip data: %w", path, err)
	}
	if int64(len(out)) > lim.Max {
		return nil, &TooLargeError{Path: path, Limit: lim, Decompressed: true}
	}
	if isGzip(out) {
		return nil, fmt.Errorf("%s: gzipped twice; decompress it once and try again", path)
	}
	return out, nil
}
