package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportFromJSON: profdiff report renders a saved JSON result as
// compare rendered the comparison itself — the HTML report, flame graphs
// included, byte for byte — and exits with the result's verdict.
func TestReportFromJSON(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	j, direct, later := filepath.Join(dir, "r.json"), filepath.Join(dir, "direct.html"), filepath.Join(dir, "later.html")
	dmd, lmd := filepath.Join(dir, "direct.md"), filepath.Join(dir, "later.md")
	if code, _, stderr := cli(t, "compare", "--baseline", f.base, "--current", f.regressed, "--format", "json="+j, "--format", "html="+direct, "--format", "markdown="+dmd); code != 1 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "report", "--from", j, "--output", later, "--format", "markdown="+lmd, "--baseline", f.base, "--current", f.regressed)
	if code != 1 || stdout != "" {
		t.Fatalf("report: exit %d (want 1, the result's), stdout %.100q, stderr %s", code, stdout, stderr)
	}
	for _, p := range [][2]string{{direct, later}, {dmd, lmd}} {
		a, errA := os.ReadFile(p[0])
		b, errB := os.ReadFile(p[1])
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s drawn from the JSON result differs from %s drawn at compare time (%v, %v)", filepath.Base(p[1]), filepath.Base(p[0]), errA, errB)
		}
	}
	html, _ := os.ReadFile(later)
	if !bytes.Contains(html, []byte(`id="flame-1"`)) {
		t.Error("the HTML report from JSON has no flame graph")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema_version":"2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no --from", []string{"report"}, "--from is required"},
		{"missing file", []string{"report", "--from", filepath.Join(dir, "nope.json")}, "no such file"},
		{"not JSON", []string{"report", "--from", direct}, "reading a JSON result"},
		{"other major schema", []string{"report", "--from", bad}, `schema version "2.0"`},
		{"stray argument", []string{"report", j}, "name the result with --from"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.args...)
			if code != exitError || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line with %q", code, stderr, exitError, tt.want)
			}
		})
	}
}
