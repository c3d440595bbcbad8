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

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// cpuProfile builds a CPU profile whose samples are the given stacks (leaf
// first, as pprof stores them) with the given sample counts at 100 Hz.
func cpuProfile(start time.Time, stacks map[string]int64) *profile.Profile {
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        10_000_000,
		TimeNanos:     start.UnixNano(),
		DurationNanos: int64(10 * time.Second),
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for stack, n := range stacks {
		var sl []*profile.Location
		for _, name := range strings.Split(stack, ";") {
			loc, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, Filename: "/src/app/" + strings.SplitN(name, ".", 2)[0] + ".go", StartLine: 10}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
				loc = &profile.Location{ID: uint64(len(locs) + 1), Line: []profile.Line{{Function: fn, Line: 12}}}
				locs[name] = loc
				p.Location = append(p.Location, loc)
			}
			sl = append(sl, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: sl, Value: []int64{n, n * 10_000_000}})
	}
	return p
}

func cpuID(t testing.TB) profiletype.ID {
	ids, err := profiletype.Parse("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func TestAddProfileSelfAndCum(t *testing.T) {
	se := NewSeries("svc", cpuID(t))
	start := time.Unix(1_700_000_000, 0).UTC()
	// leaf first: rec is recursive and must count once in its cumulative.
	err := se.AddProfile(cpuProfile(start, map[string]int64{
		"main.work;main.rec;main.rec;main.main": 30,
		"main.other;main.main":                  10,
		"main.main.func2;main.main":             5,
		"pkg.Map[go.shape.int];main.main.func1": 5,
	}), WindowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := se.Windows[0]
	if w.Total != 50*10_000_000 {
		t.Errorf("total = %d", w.Total)
	}
	if w.Samples != 50 {
		t.Errorf("samples = %d, want 50", w.Samples)
	}
	if !w.Start.Equal(start) || w.Seconds() != 10 {
		t.Errorf("window = %v..%v", w.Start, w.End)
	}
	get := func(vs Values, name string) int64 {
		for i, f := range se.Functions {
			if f.Name == name {
				return vs.Get(int32(i)) / 10_000_000
			}
		}
		t.Fatalf("no function %q in %v", name, se.Functions)
		return 0
	}
	tests := []struct {
		name      string
		self, cum int64
	}{
		{"main.work", 30, 30},
		{"main.rec", 0, 30},
		{"main.main", 0, 45},
		{"main.main.func*", 5, 10}, // func1 and func2 share one identity
		{"pkg.Map[...]", 5, 5},
	}
	for _, tt := range tests {
		if got := get(w.Self, tt.name); got != tt.self {
			t.Errorf("self(%s) = %d, want %d", tt.name, got, tt.self)
		}
		if got := get(w.Cum, tt.name); got != tt.cum {
			t.Errorf("cum(%s) = %d, want %d", tt.name, got, tt.cum)
		}
	}
	if err := se.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAddProfileWrongSampleType(t *testing.T) {
	ids, _ := profiletype.Parse("alloc_space")
	se := NewSeries("svc", ids[0])
	err := se.AddProfile(cpuProfile(time.Now(), map[string]int64{"a": 1}), WindowOptions{})
	if err == nil || !strings.Contains(err.Error(), "no alloc_space/bytes samples") {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeFunctionName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"main.main", "main.main"},
		{"main.main.func1", "main.main.func*"},
		{"main.(*T).Run.func12.3", "main.(*T).Run.func*.*"},
		{"net/http.(*conn).serve.gowrap1", "net/http.(*conn).serve.gowrap*"},
		{"main.f.deferwrap2", "main.f.deferwrap*"},
		{"slices.Sort[go.shape.[]int,go.shape.int]", "slices.Sort[...]"},
		{"pkg.Map[pkg.Pair[int]].Get", "pkg.Map[...].Get"},
		{"github.com/x/func1pkg.Foo", "github.com/x/func1pkg.Foo"},
	}
	for _, tt := range tests {
		if got := NormalizeFunctionName(tt.in); got != tt.want {
			t.Errorf("NormalizeFunctionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func sampleSnapshot(t testing.TB, windows int, scale int64) *Snapshot {
	snap := &Snapshot{Meta: Meta{Source: "test", Window: Duration(10 * time.Second), Labels: map[string]string{"env": "ci"}}}
	for _, svc := range []string{"svc-a", "svc-b"} {
		se := NewSeries(svc, cpuID(t))
		for i := 0; i < windows; i++ {
			start := time.Unix(1_700_000_000+int64(i*10), 0).UTC()
			if err := se.AddProfile(cpuProfile(start, map[string]int64{
				"main.hot;main.main": 40 * scale, "main.cold;main.main": 10 + int64(i),
			}), WindowOptions{}); err != nil {
				t.Fatal(err)
			}
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
		if err := se.AddProfile(cpuProfile(timeZero, map[string]int64{"main.hot;main.main": 40}), WindowOptions{}); err != nil {
			t.Fatal(err)
		}
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

// TestNamelessFunction: pprof allows a function with an empty name; the
// series names its frame by the location's address instead, and validates.
func TestNamelessFunction(t *testing.T) {
	for _, c := range []struct {
		name string
		addr uint64
		want string
	}{
		{"", 0x4010, "0x4010"},
		{"", 0, "0x0"},
		{"main.f", 0x4010, "main.f"},
	} {
		fn := &profile.Function{ID: 1, Name: c.name}
		loc := &profile.Location{ID: 1, Address: c.addr, Line: []profile.Line{{Function: fn}}}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10_000_000,
			TimeNanos: timeZero.UnixNano(), DurationNanos: int64(time.Second),
			Sample:   []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{1, 10_000_000}}},
			Location: []*profile.Location{loc}, Function: []*profile.Function{fn},
		}
		se := NewSeries("s", cpuID(t))
		if err := se.AddProfile(p, WindowOptions{}); err != nil {
			t.Fatalf("%q: %v", c.name, err)
		}
		if err := se.Validate(); err != nil {
			t.Errorf("%q at %#x: invalid series: %v", c.name, c.addr, err)
		}
		if len(se.Functions) != 1 || se.Functions[0].Name != c.want {
			t.Errorf("%q at %#x: functions %+v, want one named %q", c.name, c.addr, se.Functions, c.want)
		}
	}
}
