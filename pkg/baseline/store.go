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
	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// ManifestFile is the name of the manifest inside a snapshot directory.
const ManifestFile = "manifest.json"

// manifestKind marks a manifest as profdiff's, so a stray manifest.json from
// another tool is not mistaken for a snapshot.
const manifestKind = "profdiff-snapshot"

// Limits on the files of a snapshot, so a corrupt or hostile one cannot
// exhaust memory. A series file of a real baseline (a service's profile type
// over dozens of windows) decompresses to well under 1 MiB; its limit is 128
// times that. A manifest holds a few hundred bytes per series.
var (
	seriesLimit   = inputfile.Limit{What: "a series file", Max: 128 << 20}
	manifestLimit = inputfile.Limit{What: "a snapshot manifest", Max: 16 << 20}
)

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
//
// Write holds dir's writer lock (see Lock) throughout, and is refused with an
// error wrapping ErrLocked when another writer holds it.
func Write(dir string, snap *Snapshot) error {
	if err := snap.Validate(); err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	if err := checkWritable(dir); err != nil {
		return err
	}
	l, err := Lock(dir)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return l.Write(snap)
}

// Write stores snap in the locked directory, as the package's Write does.
func (l *Locked) Write(snap *Snapshot) (err error) {
	dir := l.dir
	if l.f == nil {
		return fmt.Errorf("snapshot %s: written after Unlock", dir)
	}
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
	// Files this writer adds are removed again if it fails before the new
	// manifest is in place; files that were there already are left alone.
	var created []string
	defer func() {
		if err != nil {
			for _, p := range created {
				os.Remove(p)
			}
			removeEmptyServiceDirs(dir)
		}
	}()
	keep := map[string]bool{}
	for _, se := range snap.Series {
		data, err := encodeSeries(se)
		if err != nil {
			return fmt.Errorf("snapshot %s: series %s %s: %w", dir, se.Service, se.ProfileType, err)
		}
		sum := sha256.Sum256(data)
		hexsum := hex.EncodeToString(sum[:])
		svcDir := filepath.Join("series", safeName(se.Service))
		rel := filepath.ToSlash(filepath.Join(svcDir, safeName(profiletype.MustAlias(se.ProfileType))+"-"+hexsum[:12]+".json.gz"))
		if err := checkPlainDirs(dir, "series", svcDir); err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			created = append(created, path)
		}
		if err := writeFileAtomic(path, data); err != nil {
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
	l.created = false // dir holds a snapshot now: Unlock must not remove it
	removeUnreferenced(dir, keep)
	return nil
}

// checkPlainDirs refuses to write when any of dir's subdirectories rels
// (relative to dir, outermost first) exists as something other than a plain
// directory: writing through a symbolic link would put the baseline's files
// outside it, and a pull request can commit such a link.
func checkPlainDirs(dir string, rels ...string) error {
	for _, rel := range rels {
		fi, err := os.Lstat(filepath.Join(dir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", dir, err)
		}
		if !fi.IsDir() {
			what := "not a directory"
			if fi.Mode()&fs.ModeSymlink != 0 {
				what = "a symbolic link"
			}
			return fmt.Errorf("snapshot %s: %s is %s; refusing to write through it (replace it with a plain directory)", dir, filepath.ToSlash(rel), what)
		}
	}
	return nil
}

// checkWritable refuses to write into a directory that exists, is not empty,
// and holds no snapshot manifest: that is somebody else's data. What a killed
// writer leaves in a new directory (its lock file, temporary files, series
// files under profdiff's own names) does not count.
func checkWritable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ManifestFile)); err == nil {
		return checkPlainDirs(dir, "series")
	}
	for _, e := range entries {
		if !ownLeftover(dir, e) {
			return fmt.Errorf("snapshot %s: directory is not empty and is not a profdiff snapshot; refusing to write into it", dir)
		}
	}
	return nil
}

// seriesFileName matches the names Write gives series files.
var seriesFileName = regexp.MustCompile(`^[A-Za-z0-9._-]+-[0-9a-f]{12}\.json\.gz$`)

// ownLeftover reports whether e, an entry of dir, is something only a
// profdiff writer makes: its lock file, a temporary file, or a series/ tree
// of nothing but series files and temporary files.
func ownLeftover(dir string, e fs.DirEntry) bool {
	name := e.Name()
	switch {
	case name == LockFile, strings.HasPrefix(name, ".tmp-") && e.Type().IsRegular():
		return true
	case name != "series" || !e.IsDir():
		return false
	}
	services, err := os.ReadDir(filepath.Join(dir, "series"))
	if err != nil {
		return false
	}
	for _, s := range services {
		if !s.IsDir() {
			return false
		}
		files, err := os.ReadDir(filepath.Join(dir, "series", s.Name()))
		if err != nil {
			return false
		}
		for _, f := range files {
			if !f.Type().IsRegular() || !(seriesFileName.MatchString(f.Name()) || strings.HasPrefix(f.Name(), ".tmp-")) {
				return false
			}
		}
	}
	return true
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
// the manifest just written does not name. It runs under the writer lock, so
// nothing it removes can belong to a writer still at work: what it finds
// unreferenced is the previous snapshot's or a killed writer's. Failures are
// harmless (the files are simply unused) and so are ignored.
func removeUnreferenced(dir string, keep map[string]bool) {
	root := filepath.Join(dir, "series")
	if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
		return
	}
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
	removeEmptyServiceDirs(dir)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, l := range leftovers {
		os.Remove(l)
	}
}

// removeEmptyServiceDirs removes the service directories under series/ that
// are empty, and series/ itself when it is.
func removeEmptyServiceDirs(dir string) {
	root := filepath.Join(dir, "series")
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(root, e.Name())) // fails, harmlessly, when not empty
		}
	}
	if fi, err := os.Lstat(root); err == nil && fi.IsDir() {
		os.Remove(root) // likewise
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
//
// Load takes no lock: a writer replaces the manifest atomically, but then
// removes the series files only the old manifest named, so a Load that read
// the old manifest may find one of them gone. Load then reads the manifest
// again and, when it has changed, starts over on the new snapshot.
func Load(dir string) (*Snapshot, error) {
	for try := 0; ; try++ {
		snap, mdata, err := loadOnce(dir)
		if err == nil || try == 3 || !errors.Is(err, fs.ErrNotExist) || mdata == nil {
			return snap, err
		}
		now, rerr := inputfile.ReadIn(dir, ManifestFile, manifestLimit, inputfile.Options{})
		if rerr != nil || bytes.Equal(now, mdata) {
			return nil, err
		}
	}
}

// loadOnce is one attempt of Load; it also returns the manifest it read.
func loadOnce(dir string) (*Snapshot, []byte, error) {
	mpath := filepath.Join(dir, ManifestFile)
	data, err := inputfile.ReadIn(dir, ManifestFile, manifestLimit, inputfile.Options{})
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, nil, fmt.Errorf("snapshot %s: %w", dir, serr)
		}
		return nil, nil, fmt.Errorf("snapshot %s: %w", dir, ErrNotSnapshot)
	}
	if err != nil {
		return nil, nil, err // names the manifest
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", mpath, err)
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
				if e.File == "" || strings.Contains(e.File, "..") || !filepath.IsLocal(filepath.FromSlash(e.File)) {
					results[i].err = fmt.Errorf("%s: series %d: bad file name %q", mpath, i, e.File)
					continue
				}
				if e.SHA256 == "" {
					results[i].err = fmt.Errorf("%s: series %d (%s): no sha256; every series file needs its checksum (write the snapshot again with profdiff)", mpath, i, e.File)
					continue
				}
				spath := filepath.Join(dir, filepath.FromSlash(e.File))
				se, err := loadSeries(dir, e.File, e.SHA256)
				if err == nil && (se.Service != e.Service || se.ProfileType != e.ProfileType) {
					err = fmt.Errorf("holds %s %s but the manifest lists it as %s %s", se.Service, se.ProfileType, e.Service, e.ProfileType)
				}
				if err == nil && len(se.Windows) != e.Windows {
					err = fmt.Errorf("holds %d windows but the manifest lists %d", len(se.Windows), e.Windows)
				}
				if err == nil {
					err = se.Validate()
				}
				var named errNamed
				if err != nil && !errors.As(err, &named) {
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
			return nil, data, r.err
		}
		if snap.Lookup(r.se.Service, r.se.ProfileType) != nil {
			return nil, data, fmt.Errorf("%s: series %s %s listed twice", mpath, r.se.Service, r.se.ProfileType)
		}
		snap.Series = append(snap.Series, r.se)
	}
	return snap, data, nil
}

func decodeManifest(data []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not a valid manifest: %w", jsonError(err))
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

// loadSeries reads, checks and decodes the series file rel of the snapshot
// in dir. Errors from reading name the file; the others do not (Load adds
// the name).
func loadSeries(dir, rel, wantSum string) (*Series, error) {
	raw, err := inputfile.ReadIn(dir, rel, seriesLimit, inputfile.Options{})
	if err != nil {
		return nil, errNamed{err}
	}
	sum := sha256.Sum256(raw)
	if hex.EncodeToString(sum[:]) != wantSum {
		return nil, fmt.Errorf("checksum mismatch: the file was changed or truncated after it was written")
	}
	data, err := gunzip(raw)
	if err != nil {
		return nil, err
	}
	se, err := decodeSeries(data)
	if err != nil {
		return nil, fmt.Errorf("corrupt series file: %w", jsonError(err))
	}
	return se, nil
}

// decodeSeries decodes a series file's JSON. encoding/json is the format's
// only decoder: a hand-written one for the series file's fixed shape loaded
// a large series about twice as fast, which saved a fraction of a second of
// CPU in a gate that spends minutes collecting, not worth a second codec to
// keep in agreement with the first (bench/README.md has the figures).
func decodeSeries(data []byte) (*Series, error) {
	var se Series
	if err := json.Unmarshal(data, &se); err != nil {
		return nil, err
	}
	return &se, nil
}

// errNamed marks an error that already names its file.
type errNamed struct{ error }

func (e errNamed) Unwrap() error { return e.error }

// gunzip decompresses a series file, refusing more than seriesLimit of
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
	if _, err := buf.ReadFrom(io.LimitReader(zr, seriesLimit.Max+1)); err != nil {
		return nil, fmt.Errorf("corrupt series file: %w", jsonError(err))
	}
	if int64(buf.Len()) > seriesLimit.Max {
		return nil, fmt.Errorf("decompresses to more than %s, the limit for %s", inputfile.Size(seriesLimit.Max), seriesLimit.What)
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
	return min(n, int(seriesLimit.Max)) + slack
}
