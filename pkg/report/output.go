package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/profdiff/profdiff/pkg/diff"
)

// WriteOutputs renders r in each of the named formats of fs and writes it to
// the output in the same position, or to stdout when there is none (or it is "-"): the nth
// --output belongs to the nth --format. Every format is rendered before any
// file is written, so an unknown format or a renderer error writes nothing.
// Files are written atomically (temporary file and rename) and their
// directories created, so a CI step that uploads reports/ never sees half a
// file.
func (fs Formats) WriteOutputs(stdout io.Writer, formats, outputs []string, r *diff.Result) error {
	if len(outputs) > len(formats) {
		return fmt.Errorf("%d outputs for %d formats: each --output needs a --format before it", len(outputs), len(formats))
	}
	rendered := make([][]byte, len(formats))
	for i, f := range formats {
		var buf bytes.Buffer
		if err := fs.Render(&buf, f, r); err != nil {
			return fmt.Errorf("format %s: %w", f, err)
		}
		rendered[i] = buf.Bytes()
	}
	for i, data := range rendered {
		if i < len(outputs) && outputs[i] != "-" && outputs[i] != "" {
			if err := WriteFileAtomic(outputs[i], data); err != nil {
				return err
			}
			continue
		}
		if _, err := stdout.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, creating the directory when needed, so a reader
// never sees half a file and a failure leaves the previous file intact.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("output %s: %w", path, werr)
	}
	return nil
}
