package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestErrorsNameNoGoType: bad flag values, unknown flags, a rules-file typo
// and a snapshot field of the wrong kind are answered in the user's terms,
// with the fix, never with a Go type or function name.
func TestErrorsNameNoGoType(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rulesFile, []byte("version: 1\ndefaults:\n  treshold: 10%\n"), 0o644)
	badKind := filepath.Join(dir, "kind.yaml")
	os.WriteFile(badKind, []byte("defaults:\n  min_windows: four\n"), 0o644)
	brokenSnap := filepath.Join(dir, "snap")
	os.MkdirAll(brokenSnap, 0o755)
	os.WriteFile(filepath.Join(brokenSnap, "manifest.json"), []byte(`{"kind": "profdiff-snapshot", "schema_version": "1.1", "series": {}}`), 0o644)
	cmp := []string{"compare", "--baseline", f.base, "--current", f.aa}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"float flag", append(cmp, "--alpha", "abc"), `--alpha "abc": want a number, e.g. 0.05`},
		{"duration flag", append(cmp, "--window", "soon"), `--window "soon": want a duration such as 15s, 2m or 1h30m`},
		{"int flag", append(cmp, "--concurrency", "many"), `--concurrency "many": want a whole number`},
		{"bool flag", append(cmp, "--full-names=maybe"), `--full-names "maybe": want true or false`},
		{"flag typo", append(cmp, "--treshold", "10%"), "unknown flag --treshold (did you mean --threshold?)"},
		{"profilecli flag typo", append(cmp, "--tenantid", "x"), "unknown flag --tenantid (did you mean --tenant-id?)"},
		{"rules typo", append(cmp, "--config", rulesFile), rulesFile + `:3: unknown key "treshold" (did you mean "threshold"?)`},
		{"rules value of the wrong kind", append(cmp, "--config", badKind), badKind + `:2: min_windows: want a whole number, not text "four"`},
		{"snapshot field of the wrong kind", []string{"compare", "--baseline", brokenSnap, "--current", f.aa}, "field series: want a list, not object"},
	}
	goName := regexp.MustCompile(`strconv\.|\brules\.[a-z]*[A-Z]|\bbaseline\.[A-Z]|Go struct|Go value|\[\][a-z]+\.[A-Za-z]`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.args...)
			if code != exitError || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, stderr, tt.want)
			}
			if goName.MatchString(stderr) {
				t.Errorf("stderr names a Go type or function: %q", stderr)
			}
		})
	}
}
