package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
)

// cli runs the program and returns its exit status and outputs.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeProfiles writes n pprof CPU profiles drawn from m into dir and
// returns their paths.
func writeProfiles(t *testing.T, dir, prefix string, m *gen.Model, n int, seed uint64) []string {
	t.Helper()
	files, err := m.WriteWindows(rand.New(rand.NewPCG(seed, 7)), dir, gen.Windows{
		N: n, Samples: 3000,
		Start: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed) * time.Hour),
		Name:  func(i int) string { return prefix + "-" + string(rune('a'+i)) + ".pb.gz" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func writeProfile(t *testing.T, path string, p *profile.Profile) string {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tree returns every file under dir with its contents, to prove a failed
// command changed nothing.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(b) + "|" + info.Mode().String() + "|" + info.ModTime().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, a, b map[string]string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("baseline directory changed: %d files before, %d after", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("baseline file %s changed", k)
		}
	}
}

const fraudFn = "github.com/profdiff/profdiff/services/bank.matchFraudRules"

// fraudShort is fraudFn as the text report names it when the full name
// would not fit 160 columns.
const fraudShort = "bank.matchFraudRules"

// fixture builds a baseline, a regressed and an A/A snapshot through the CLI.
type fixture struct {
	dir, base, regressed, aa string
	model                    *gen.Model
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	m := gen.NewModel(21, 120)
	hot := m.Closest(0.06)
	m.Rename(hot, fraudFn, "fraud.go")
	f := &fixture{dir: dir, base: filepath.Join(dir, "base"), regressed: filepath.Join(dir, "reg"), aa: filepath.Join(dir, "aa"), model: m}
	for _, x := range []struct {
		out   string
		model *gen.Model
		seed  uint64
	}{{f.base, m, 1}, {f.regressed, m.Scale(hot, 1.5), 2}, {f.aa, m, 3}} {
		files := writeProfiles(t, filepath.Join(dir, "pprof"), filepath.Base(x.out), x.model, 6, x.seed)
		args := append([]string{"snapshot", "--service", "bank-fraud-service", "--type", "cpu", "--out", x.out}, files...)
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("snapshot: exit %d: %s", code, stderr)
		}
	}
	return f
}

func TestExitCodes(t *testing.T) {
	f := newFixture(t)
	// A snapshot with another service only: the baseline's service is missing.
	other := filepath.Join(f.dir, "other")
	files := writeProfiles(t, filepath.Join(f.dir, "pprof"), "other", f.model, 6, 4)
	if code, _, stderr := cli(t, append([]string{"snapshot", "--service", "bank-loan-service", "--type", "cpu", "--out", other}, files...)...); code != 0 {
		t.Fatal(stderr)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
	}{
		{"a/a passes", []string{"--current", f.aa}, 0, "PASS"},
		{"regression", []string{"--current", f.regressed}, 1, fraudShort},
		{"missing data is inconclusive", []string{"--current", other}, 2, "no data in the current run for bank-fraud-service cpu"},
		{"inconclusive=pass", []string{"--current", other, "--inconclusive=pass"}, 0, "INCONCLUSIVE"},
		{"inconclusive=pass keeps a regression", []string{"--current", f.regressed, "--inconclusive", "pass"}, 1, "REGRESSION"},
		{"rate normalization", []string{"--current", f.regressed, "--normalize", "rate"}, 1, fraudShort},
		{"huge threshold", []string{"--current", f.regressed, "--threshold", "500%"}, 0, "PASS"},
		{"config", []string{"--current", f.regressed, "--config", "../../testdata/sample/profdiff.yaml"}, 1, fraudShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"compare", "--baseline", f.base}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.inStdout) {
				t.Fatalf("exit %d, want %d; stdout lacks %q?\n%s\nstderr: %s", code, tt.code, tt.inStdout, stdout, stderr)
			}
		})
	}
}

func TestFormatsAndOutputs(t *testing.T) {
	f := newFixture(t)
	jsonOut := filepath.Join(f.dir, "r.json")
	junitOut := filepath.Join(f.dir, "r.xml")
	code, stdout, stderr := cli(t, "compare", "--baseline", f.base, "--current", f.regressed,
		"--format", "json", "--output", jsonOut, "--format", "junit", "--output", junitOut, "--format", "markdown")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "## ❌ profdiff: regression") {
		t.Errorf("markdown not on stdout: %.200s", stdout)
	}
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		SchemaVersion string `json:"schema_version"`
		Verdict       string `json:"verdict"`
	}
	if err := json.Unmarshal(data, &r); err != nil || r.Verdict != "regression" || r.SchemaVersion == "" {
		t.Errorf("json output: %+v %v", r, err)
	}
	x, err := os.ReadFile(junitOut)
	if err != nil || !bytes.Contains(x, []byte(`<failure message="`)) || !bytes.Contains(x, []byte("matchFraudRules")) {
		t.Errorf("junit output: %v\n%s", err, x)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(f.dir, ".*tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestSampleData(t *testing.T) {
	// The README's first command: exit 1, naming the function.
	code, stdout, stderr := cli(t, "compare", "--baseline", "../../testdata/sample/baseline", "--current", "../../testdata/sample/regressed")
	if code != 1 || !strings.Contains(stdout, fraudShort) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, "compare", "--baseline", "../../testdata/sample/baseline", "--current", "../../testdata/sample/aa", "--config", "../../testdata/sample/profdiff.yaml")
	if code != 0 {
		t.Fatalf("A/A sample: exit %d\n%s", code, stdout)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	d := f.dir
	write := func(name string, data []byte) string {
		p := filepath.Join(d, "bad", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := os.ReadFile(writeProfiles(t, filepath.Join(d, "pprof"), "good", f.model, 1, 9)[0])
	raw := gunzip(t, good)
	heap := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"}, Period: 524288,
		Function: []*profile.Function{{ID: 1, Name: "main.alloc"}},
	}
	heap.Location = []*profile.Location{{ID: 1, Line: []profile.Line{{Function: heap.Function[0]}}}}
	heap.Sample = []*profile.Sample{{Location: heap.Location, Value: []int64{3, 3000}}}
	heapFile := writeProfile(t, filepath.Join(d, "bad", "heap.pb.gz"), heap)
	emptyProf := writeProfile(t, filepath.Join(d, "bad", "empty-profile.pb.gz"), &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}}, PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1e7,
	})
	files := map[string]string{
		"corrupt":       write("corrupt.pb.gz", append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xde, 0xad}, 200)...)),
		"truncated":     write("truncated.pb.gz", good[:len(good)/2]),
		"truncated-raw": write("truncated.pb", raw[:len(raw)*2/3]),
		"not pprof":     write("notes.txt", []byte("this is not a profile\nat all\n")),
		"empty file":    write("empty.pb.gz", nil),
	}
	emptyDir := filepath.Join(d, "emptydir")
	os.MkdirAll(emptyDir, 0o755)
	badYAML := write("rules.yaml", []byte("defaults:\n  treshold: 10%\n"))
	blocker := filepath.Join(d, "blocker")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the one-line error
	}{
		{"corrupt gzip", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, files["corrupt"]}, "corrupt.pb.gz"},
		{"truncated gzip", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, files["truncated"]}, "truncated.pb.gz"},
		{"truncated proto", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, files["truncated-raw"]}, "truncated.pb"},
		{"not pprof", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, files["not pprof"]}, "notes.txt"},
		{"empty file", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, files["empty file"]}, "empty.pb.gz: empty file"},
		{"empty profile", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, emptyProf}, "empty-profile.pb.gz: empty profile"},
		{"mixed sample types", []string{"snapshot", "--service", "bank-fraud-service", "--type", "cpu", "--out", f.base, heapFile}, "heap.pb.gz: profile has no cpu/nanoseconds samples"},
		{"good then bad", []string{"snapshot", "--service", "bank-fraud-service", "--type", "cpu", "--out", f.base, filepath.Join(d, "pprof", "good-a.pb.gz"), files["corrupt"]}, "corrupt.pb.gz"},
		{"missing file", []string{"snapshot", "--service", "s", "--type", "cpu", "--out", f.base, filepath.Join(d, "nope.pb")}, "nope.pb"},
		{"bad type", []string{"snapshot", "--service", "s", "--type", "cpux", "--out", f.base, files["corrupt"]}, `profile type "cpux"`},
		{"missing manifest", []string{"compare", "--baseline", f.base, "--current", emptyDir}, "emptydir"},
		{"missing dir", []string{"compare", "--baseline", f.base, "--current", filepath.Join(d, "nodir")}, "nodir"},
		{"bad yaml", []string{"compare", "--baseline", f.base, "--current", f.aa, "--config", badYAML}, `rules.yaml:2: unknown key "treshold" (did you mean "threshold"?)`},
		{"unknown flag", []string{"compare", "--baseline", f.base, "--current", f.aa, "--colour"}, "unknown flag: --colour"},
		{"unknown format", []string{"compare", "--baseline", f.base, "--current", f.aa, "--format", "pdf"}, `unknown format "pdf"`},
		{"an output whose format cannot be told", []string{"compare", "--baseline", f.base, "--current", f.aa, "--output", filepath.Join(d, "x"), "--output", filepath.Join(d, "y")}, "has no --format and its extension names none"},
		{"two formats to standard output", []string{"compare", "--baseline", f.base, "--current", f.aa, "--format", "text", "--format", "json"}, "formats text and json would both go to standard output"},
		{"bad inconclusive", []string{"compare", "--baseline", f.base, "--current", f.aa, "--inconclusive", "maybe"}, "maybe"},
		{"bad normalize", []string{"compare", "--baseline", f.base, "--current", f.aa, "--normalize", "log"}, "log"},
		{"bad threshold", []string{"compare", "--baseline", f.base, "--current", f.aa, "--threshold", "ten"}, "--threshold"},
		{"unwritable output", []string{"compare", "--baseline", f.base, "--current", f.aa, "--format", "json", "--output", filepath.Join(blocker, "r.json")}, "r.json"}, // a file where a directory should be
		{"accept from nowhere", []string{"baseline", "accept", "--from", emptyDir, "--to", f.base}, "emptydir"},
		{"accept into a non-snapshot dir", []string{"baseline", "accept", "--from", f.aa, "--to", filepath.Join(d, "bad")}, "not a profdiff snapshot"},
		{"baseline without subcommand", []string{"baseline"}, "baseline accept"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tree(t, f.base)
			code, _, stderr := cli(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "internal error") {
				t.Errorf("panicked: %s", stderr)
			}
			sameTree(t, before, tree(t, f.base))
		})
	}
	// A corrupted series file in the snapshot being accepted must leave the
	// baseline alone too.
	t.Run("accept a corrupted snapshot", func(t *testing.T) {
		series, _ := filepath.Glob(filepath.Join(f.aa, "series", "*", "*.json.gz"))
		if len(series) == 0 {
			t.Fatal("no series files")
		}
		data, _ := os.ReadFile(series[0])
		os.WriteFile(series[0], data[:len(data)/2], 0o644)
		before := tree(t, f.base)
		code, _, stderr := cli(t, "baseline", "accept", "--from", f.aa, "--to", f.base)
		if code != 2 || !strings.Contains(stderr, filepath.Base(series[0])) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		sameTree(t, before, tree(t, f.base))
	})
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSnapshotExtendsAndAccepts(t *testing.T) {
	f := newFixture(t)
	// Extend the baseline with two more windows, uncompressed this time.
	more := writeProfiles(t, filepath.Join(f.dir, "more"), "more", f.model, 2, 5)
	raw := filepath.Join(f.dir, "more", "raw.pb")
	data, _ := os.ReadFile(more[1])
	os.WriteFile(raw, gunzip(t, data), 0o644)
	code, stdout, stderr := cli(t, "snapshot", "--service", "bank-fraud-service", "--type", "cpu", "--out", f.aa, more[0], raw)
	if code != 0 || !strings.Contains(stdout, "cpu 8 windows (2 added)") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	to := filepath.Join(f.dir, "accepted")
	code, stdout, stderr = cli(t, "baseline", "accept", "--from", f.aa, "--to", to)
	if code != 0 || !strings.Contains(stdout, "1 series, 8 windows") {
		t.Fatalf("accept: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "compare", "--baseline", to, "--current", f.aa); code != 0 {
		t.Fatalf("compare with itself: exit %d: %s", code, stderr)
	}

	// Several runs make one baseline, windows numbered by run.
	multi := filepath.Join(f.dir, "multi")
	code, stdout, stderr = cli(t, "baseline", "accept", "--from", f.aa, "--from", f.base, "--from", to, "--to", multi)
	if code != 0 || !strings.Contains(stdout, "accepted 3 runs") {
		t.Fatalf("accept 3 runs: exit %d: %s %s", code, stdout, stderr)
	}
	snap, err := baseline.Load(multi)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[int32]bool{}
	for _, w := range snap.Series[0].Windows {
		runs[w.Run] = true
	}
	if len(runs) != 3 || snap.Meta.Labels["baseline_runs"] != "3" {
		t.Errorf("merged baseline has windows of %d runs (label %q), want 3", len(runs), snap.Meta.Labels["baseline_runs"])
	}
	// A bad run leaves the baseline untouched.
	code, _, stderr = cli(t, "baseline", "accept", "--from", f.aa, "--from", filepath.Join(f.dir, "nonexistent"), "--to", multi)
	if code != 2 || !strings.Contains(stderr, "nonexistent") {
		t.Errorf("accept with a missing run: exit %d, stderr %q; want 2 naming it", code, stderr)
	}
	if again, err := baseline.Load(multi); err != nil || len(again.Series) != len(snap.Series) {
		t.Errorf("the failed accept touched the baseline: %v", err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help", "compare"}, {"compare", "--help"}, {"snapshot", "-h"}, {"baseline", "--help"}, {"baseline", "accept", "--help"}, {"version", "--help"}} {
		code, stdout, stderr := cli(t, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "profdiff") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if args[0] != "--help" && !strings.Contains(stdout, "Example:") {
			t.Errorf("%v: help has no example:\n%s", args, stdout)
		}
		if first, _, _ := strings.Cut(stdout, "\n"); strings.Count(stdout, first) != 1 {
			t.Errorf("%v: help printed more than once:\n%s", args, stdout)
		}
	}
	if code, _, stderr := cli(t); code != 2 || !strings.Contains(stderr, "Usage") {
		t.Errorf("no arguments: exit %d", code)
	}
	if code, stdout, _ := cli(t, "version"); code != 0 || !strings.HasPrefix(stdout, "profdiff ") {
		t.Errorf("version: %d %q", code, stdout)
	}
}

// TestReportFlags: --full-names writes the text report's names in full (by
// default they are shortened to fit 160 columns); the markdown report's
// accept command names this run's --current and --baseline, and
// --report-url is linked.
func TestReportFlags(t *testing.T) {
	f := newFixture(t)
	_, short, _ := cli(t, "compare", "--baseline", f.base, "--current", f.regressed)
	code, full, stderr := cli(t, "compare", "--baseline", f.base, "--current", f.regressed, "--full-names")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// With its full name the row would not fit 160 columns.
	if strings.Contains(short, fraudFn) || !strings.Contains(short, "  "+fraudShort+"  ") || !strings.Contains(full, "  "+fraudFn+"  ") {
		t.Errorf("--full-names made no difference or lost the full name:\n%s\n%s", short, full)
	}
	for _, line := range strings.Split(short, "\n") {
		if n := len([]rune(line)); n > 160 {
			t.Errorf("default text line of %d columns: %s", n, line)
		}
	}
	_, md, _ := cli(t, "compare", "--baseline", f.base, "--current", f.regressed, "--format", "markdown", "--report-url", "https://ci.example/artifacts/9")
	for _, want := range []string{"profdiff baseline accept --from " + f.regressed + " --to " + f.base, "[HTML report with flame graphs](https://ci.example/artifacts/9)", "function_regexp:"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// The flag does not outlive its run.
	if _, again, _ := cli(t, "compare", "--baseline", f.base, "--current", f.regressed); again != short {
		t.Error("--full-names leaked into the next run")
	}
}
