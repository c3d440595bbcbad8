package main

import (
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

type baselineValueType = baseline.ValueType

// pprofPair is a baseline and a regressed build of one model, as pprof
// files: each side as one merged profile and as a directory of six window
// profiles, plus an A/A side (same model, fresh samples).
type pprofPair struct {
	dir                    string
	baseOne, regOne, aaOne string // one profile a side, 18,000 samples
	baseDir, regDir, aaDir string // six profiles a side, 3,000 samples each
	heapOne                string // a heap profile
	snapshot               string // the base directory as a snapshot
}

func newPprofPair(t *testing.T) *pprofPair {
	t.Helper()
	dir := t.TempDir()
	m := gen.NewModel(21, 120)
	hot := m.Closest(0.06)
	m.Rename(hot, fraudFn, "fraud.go")
	reg := m.Scale(hot, 1.5)
	p := &pprofPair{dir: dir}
	one := func(name string, model *gen.Model, seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 11))
		start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		return writeProfile(t, filepath.Join(dir, name), model.Profile(model.Sample(rng, 18000, 0), start, time.Minute))
	}
	p.baseOne, p.regOne, p.aaOne = one("base.pb.gz", m, 1), one("current.pb.gz", reg, 2), one("aa.pb.gz", m, 3)
	p.baseDir, p.regDir, p.aaDir = filepath.Join(dir, "base"), filepath.Join(dir, "reg"), filepath.Join(dir, "aa")
	writeProfiles(t, p.baseDir, "w", m, 6, 4)
	writeProfiles(t, p.regDir, "w", reg, 6, 5)
	writeProfiles(t, p.aaDir, "w", m, 6, 6)
	// A file in a pprof directory that is not a profile is left alone.
	if err := os.WriteFile(filepath.Join(p.baseDir, "README"), []byte("windows of the base build\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	heap := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"}, Period: 524288,
		Function: []*profile.Function{{ID: 1, Name: "main.alloc"}},
	}
	heap.Location = []*profile.Location{{ID: 1, Line: []profile.Line{{Function: heap.Function[0]}}}}
	heap.Sample = []*profile.Sample{{Location: heap.Location, Value: []int64{3000, 3000 * 1024}}}
	p.heapOne = writeProfile(t, filepath.Join(dir, "heap.pb.gz"), heap)
	p.snapshot = filepath.Join(dir, "snap")
	files, _ := filepath.Glob(filepath.Join(p.baseDir, "*.pb.gz"))
	if code, _, stderr := cli(t, append([]string{"snapshot", "--service", "bank-fraud-service", "--type", "cpu", "--out", p.snapshot}, files...)...); code != 0 {
		t.Fatal(stderr)
	}
	return p
}

const (
	oneEachWarning = "one profile each: with no window-to-window variance to measure, each function is judged on sampling noise alone"
	oneSideWarning = "is one profile: its window-to-window variance is unknown"
)

// TestCompareProfilesDirectly: BASE CURRENT as pprof files, directories of
// them and snapshots, without a snapshot step; a single profile a side is
// judged on sampling noise alone and says so.
func TestCompareProfilesDirectly(t *testing.T) {
	p := newPprofPair(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
		notOut   string
	}{
		{"one file a side, regressed", []string{p.baseOne, p.regOne}, 1, []string{fraudShort, "regression", "warning: the baseline and the current side are " + oneEachWarning}, ""},
		{"one file a side, A/A", []string{p.baseOne, p.aaOne}, 0, []string{"PASS", oneEachWarning}, fraudShort + " "},
		{"directories, regressed", []string{p.baseDir, p.regDir}, 1, []string{fraudShort, "n=6+6"}, "warning:"},
		{"directories, A/A", []string{p.baseDir, p.aaDir}, 0, []string{"PASS"}, "warning:"},
		{"one file against a directory", []string{p.baseOne, p.regDir}, 1, []string{fraudShort, "the baseline " + oneSideWarning, "n=1+6"}, ""},
		{"snapshot against a directory of profiles", []string{p.snapshot, p.regDir}, 1, []string{"bank-fraud-service", fraudShort}, ""},
		{"--service names the series", []string{p.baseDir, p.regDir, "--service", "checkout"}, 1, []string{"checkout", fraudShort}, ""},
		{"--type names the type", []string{p.baseDir, p.aaDir, "--type", "cpu"}, 0, []string{"cpu", "PASS"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"compare"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, want := range tt.inStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tt.notOut != "" && strings.Contains(stdout, tt.notOut) {
				t.Errorf("stdout has %q:\n%s", tt.notOut, stdout)
			}
		})
	}
}

// TestSingleProfileWarningInEveryFormat: the warning that a single profile
// a side is judged on sampling noise alone is in every report format.
func TestSingleProfileWarningInEveryFormat(t *testing.T) {
	p := newPprofPair(t)
	for _, f := range []string{"text", "markdown", "json", "junit", "sarif", "github", "html"} {
		t.Run(f, func(t *testing.T) {
			code, stdout, stderr := cli(t, "compare", p.baseOne, p.regOne, "--format", f)
			if code != 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "sampling noise alone") {
				t.Errorf("%s report lacks the single-profile warning:\n%.3000s", f, stdout)
			}
		})
	}
}

func TestCompareProfilesErrors(t *testing.T) {
	p := newPprofPair(t)
	empty := filepath.Join(p.dir, "empty")
	os.MkdirAll(empty, 0o755)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"one input", []string{p.baseOne}, "want two inputs, BASE and CURRENT"},
		{"three inputs", []string{p.baseOne, p.regOne, p.aaOne}, "want two inputs, BASE and CURRENT (pprof files, directories of them, or snapshots), not 3"},
		{"inputs and flags", []string{p.baseOne, p.regOne, "--baseline", p.snapshot}, "either as BASE CURRENT or as --baseline and --current"},
		{"inputs and Pyroscope", []string{p.baseOne, p.regOne, "--pyroscope", "http://127.0.0.1:1"}, "BASE CURRENT are files or directories"},
		{"missing file", []string{p.baseOne, filepath.Join(p.dir, "nope.pb.gz")}, "current " + filepath.Join(p.dir, "nope.pb.gz") + ": no such file or directory"},
		{"directory without profiles", []string{empty, p.regOne}, "baseline " + empty + ": a directory with neither a snapshot"},
		{"cpu against heap", []string{p.baseOne, p.heapOne}, "the baseline holds cpu profiles and the current side alloc_objects, alloc_space profiles; compare like with like"},
		{"a type the profile lacks", []string{p.baseOne, p.regOne, "--type", "alloc_space"}, "profile has no alloc_space/bytes samples (it holds samples/count, cpu/nanoseconds)"},
		{"not a profile", []string{p.baseOne, filepath.Join(p.baseDir, "README")}, "README: not a readable pprof profile"},
		{"two services", []string{p.baseOne, p.regOne, "--service", "a", "--service", "b"}, "compare one service"},
		{"too large", []string{p.baseOne, p.regOne, "--max-profile-mib", "0"}, "--max-profile-mib 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"compare"}, tt.args...)...)
			if code != exitError || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, want 2 and one line with %q\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestDetectTypes: the profile type is read from a pprof profile's sample
// and period types.
func TestDetectTypes(t *testing.T) {
	vt := func(s ...string) (out []baselineValueType) {
		for i := 0; i+1 < len(s); i += 2 {
			out = append(out, baselineValueType{Type: s[i], Unit: s[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		sample []baselineValueType
		period baselineValueType
		want   string // aliases, comma-separated; "" for an error
	}{
		{"go cpu", vt("samples", "count", "cpu", "nanoseconds"), baselineValueType{Type: "cpu", Unit: "nanoseconds"}, "cpu"},
		{"go heap", vt("alloc_objects", "count", "alloc_space", "bytes", "inuse_objects", "count", "inuse_space", "bytes"), baselineValueType{Type: "space", Unit: "bytes"}, "alloc_space,alloc_objects"},
		{"inuse only", vt("inuse_objects", "count", "inuse_space", "bytes"), baselineValueType{Type: "space", Unit: "bytes"}, "inuse_space,inuse_objects"},
		{"go mutex", vt("contentions", "count", "delay", "nanoseconds"), baselineValueType{Type: "contentions", Unit: "count"}, "mutex_delay,mutex_count"},
		{"goroutines", vt("goroutine", "count"), baselineValueType{Type: "goroutine", Unit: "count"}, "goroutines"},
		{"no period type", vt("samples", "count", "cpu", "nanoseconds"), baselineValueType{}, "cpu"},
		{"unknown", vt("wall", "seconds"), baselineValueType{}, ""},
		{"cpu with a foreign period", vt("cpu", "nanoseconds"), baselineValueType{Type: "wall", Unit: "seconds"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := detectTypes(tt.sample, tt.period)
			var got []string
			for _, id := range ids {
				got = append(got, id.Alias())
			}
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "--type") {
					t.Fatalf("got %v, %v; want an error naming --type", got, err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Fatalf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// TestDirectCompareJSON: the JSON report of a direct compare carries the
// warning and names the inputs as its sides' sources.
func TestDirectCompareJSON(t *testing.T) {
	p := newPprofPair(t)
	out := filepath.Join(p.dir, "r.json")
	code, stdout, stderr := cli(t, "compare", p.baseOne, p.regOne, "--output", out)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Warnings []string `json:"warnings"`
		Baseline struct {
			Source string `json:"source"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], oneEachWarning) || r.Baseline.Source != "pprof "+p.baseOne {
		t.Errorf("warnings %q, baseline source %q", r.Warnings, r.Baseline.Source)
	}
}
