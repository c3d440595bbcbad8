package baseline

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/profdiff/profdiff/internal/buildinfo"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// ManifestFile is the name of the manifest inside a snapshot directory.
const ManifestFile = "manifest.json"

// manifestKind marks a manifest as profdiff's, so a stray manifest.json from
// another tool is not mistaken for a snapshot.
const manifestKind = "profdiff-snapshot"

// maxSeriesBytes bounds how much a series file may decompress to, so a
// corrupt or hostile file cannot exhaust memory.
const maxSeriesBytes = 1 << 30

type manifest struct {
	Kind          string          `json:"kind"`
	SchemaVersion string          `json:"schema_version"`
	Meta          Meta            `json:"meta"`
	Series        []manifestEntry `json:"series"`
}

type manifestEntry struct {
	Service     string `json:"service"`
	ProfileType string `json:"profile_type"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
	Windows     int    `json:"windows"`
}

// ErrNotSnapshot is returned (wrapped) by Load when a directory holds no
// manifest.
var ErrNotSnapshot = errors.New("not a profdiff snapshot (no " + ManifestFile + ")")

// Write stores snap in dir atomically. The snapshot is validated first and
// nothing is written when it is invalid. Series files are written under
// content-hashed names and fsynced before the manifest is replaced by a
// rename, so at every instant dir holds either the old snapshot or the new
// one, whole. Series files the new manifest no longer references are removed
// afterwards. A non-empty dir that is not a snapshot is refused rather than
// written into.
func Write(dir string, snap *Snapshot) error {
	if err := snap.Validate(); err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	if err := checkWritable(dir); err != nil {
		return err
	}
	m := manifest{Kind: manifestKind, SchemaVersion: SchemaVersion, Meta: snap.Meta}
	if m.Meta.ProfdiffVersion == "" {
		m.Meta.ProfdiffVersion = buildinfo.Version()
	}
	if m.Meta.CreatedAt.IsZero() {
		m.Meta.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	keep := map[string]bool{}
	for _, se := range snap.Series {
		data, err := encodeSeries(se)
		if err != nil {
			return fmt.Errorf("snapshot %s: series %s %s: %w", dir, se.Service, se.ProfileType, err)
		}
		sum := sha256.Sum256(data)
		hexsum := hex.EncodeToString(sum[:])
		rel := filepath.ToSlash(filepath.Join("series", safeName(se.Service), safeName(profiletype.MustAlias(se.ProfileType))+"-"+hexsum[:12]+".json.gz"))
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(rel)), data); err != nil {
			return err
		}
		keep[rel] = true
		m.Series = append(m.Series, manifestEntry{
			Service: se.Service, ProfileType: se.ProfileType, File: rel, SHA256: hexsum, Windows: len(se.Windows),
		})
	}
	mdata, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, ManifestFile), append(mdata, '\n')); err != nil {
		return err
	}
	removeUnreferenced(dir, keep)
	return nil
}

// checkWritable refuses to write into a directory that exists, is not empty,
// and holds no snapshot manifest: that is somebody else's data.
func checkWritable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("snapshot %s: directory is not empty and is not a profdiff snapshot; refusing to write into it", dir)
	}
	return nil
}

func encodeSeries(se *Series) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	// Fixed header fields keep the output byte-identical for identical
	// input, so unchanged series keep their file name.
	zw.ModTime = time.Time{}
	enc := json.NewEncoder(zw)
	if err := enc.Encode(se); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFileAtomic writes data to a temporary file beside path, fsyncs it and
// renames it into place, then fsyncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// removeUnreferenced deletes series files and leftover temporary files that
// the manifest just written does not name. Failures are harmless (the files
// are simply unused) and so are ignored.
func removeUnreferenced(dir string, keep map[string]bool) {
	root := filepath.Join(dir, "series")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil
		}
		if !keep[filepath.ToSlash(rel)] {
			os.Remove(path)
		}
		return nil
	})
	// Remove service directories left empty.
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(root, e.Name())) // fails, harmlessly, when not empty
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, l := range leftovers {
		os.Remove(l)
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		s = "_"
	}
	return s
}

// Load reads and validates the snapshot in dir. Errors name the offending
// file; a manifest of an unknown major schema version is refused.
func Load(dir string) (*Snapshot, error) {
	mpath := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("snapshot %s: %w", dir, serr)
		}
		return nil, fmt.Errorf("snapshot %s: %w", dir, ErrNotSnapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mpath, err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mpath, err)
	}
	snap := &Snapshot{Meta: m.Meta}
	// Series files are read, checked and decoded concurrently (decoding is
	// most of the cost of a large snapshot), then accepted in manifest
	// order, so the error returned is the same one a one-by-one load would
	// return: the first bad entry's.
	type loaded struct {
		se  *Series
		err error
	}
	results := make([]loaded, len(m.Series))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(m.Series)) {
		wg.Go(func() {
			for i := range next {
				e := m.Series[i]
				if e.File == "" || strings.Contains(e.File, "..") || filepath.IsAbs(e.File) {
					results[i].err = fmt.Errorf("%s: series %d: bad file name %q", mpath, i, e.File)
					continue
				}
				spath := filepath.Join(dir, filepath.FromSlash(e.File))
				se, err := loadSeries(spath, e.SHA256)
				if err == nil && (se.Service != e.Service || se.ProfileType != e.ProfileType) {
					err = fmt.Errorf("holds %s %s but the manifest lists it as %s %s", se.Service, se.ProfileType, e.Service, e.ProfileType)
				}
				if err == nil {
					err = se.Validate()
				}
				if err != nil {
					err = fmt.Errorf("%s: %w", spath, err)
				}
				results[i] = loaded{se, err}
			}
		})
	}
	for i := range m.Series {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if snap.Lookup(r.se.Service, r.se.ProfileType) != nil {
			return nil, fmt.Errorf("%s: series %s %s listed twice", mpath, r.se.Service, r.se.ProfileType)
		}
		snap.Series = append(snap.Series, r.se)
	}
	return snap, nil
}

func decodeManifest(data []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not a valid manifest: %w", err)
	}
	if m.Kind != manifestKind {
		return nil, fmt.Errorf("not a profdiff snapshot manifest (kind %q, want %q)", m.Kind, manifestKind)
	}
	major, _, _ := strings.Cut(m.SchemaVersion, ".")
	wantMajor, _, _ := strings.Cut(SchemaVersion, ".")
	if major != wantMajor {
		return nil, fmt.Errorf("schema version %q is not supported by this profdiff (it reads %s.x); use a matching profdiff version", m.SchemaVersion, wantMajor)
	}
	return &m, nil
}

func loadSeries(path, wantSum string) (*Series, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if wantSum != "" {
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) != wantSum {
			return nil, fmt.Errorf("checksum mismatch: the file was changed or truncated after it was written")
		}
	}
	data, err := gunzip(raw)
	if err != nil {
		return nil, err
	}
	se, err := decodeSeries(data)
	if err != nil {
		return nil, fmt.Errorf("corrupt series file: %w", err)
	}
	return se, nil
}

// gunzip decompresses a series file, refusing more than maxSeriesBytes of
// output. It reads with klauspost/compress's gzip, which checks the CRC-32 and
// length trailer as compress/gzip does and inflates about twice as fast.
// Series files are still written with compress/gzip, whose output is
// byte-identical for identical input, so unchanged series keep their name.
func gunzip(raw []byte) ([]byte, error) {
	zr, err := kgzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not a gzipped series file: %w", err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, gunzipSizeHint(raw)))
	if _, err := buf.ReadFrom(io.LimitReader(zr, maxSeriesBytes+1)); err != nil {
		return nil, fmt.Errorf("corrupt series file: %w", err)
	}
	if buf.Len() > maxSeriesBytes {
		return nil, fmt.Errorf("series file decompresses to more than %d bytes", maxSeriesBytes)
	}
	return buf.Bytes(), nil
}

// gunzipSizeHint guesses the decompressed size from the gzip trailer (the
// length mod 2^32 of the last member), so the output buffer is allocated
// once instead of grown by doubling. It is only a hint: a lying trailer is
// caught by the reader, and the hint is capped by deflate's best possible
// ratio (about 1032:1) so a tiny hostile file cannot make it allocate much.
func gunzipSizeHint(raw []byte) int {
	const slack = 512 // bytes.Buffer.ReadFrom wants room for one more read to see EOF
	if len(raw) < 18 {
		return slack
	}
	n := int(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
	if limit := 1032 * len(raw); n > limit {
		n = limit
	}
	return min(n, maxSeriesBytes) + slack
}
