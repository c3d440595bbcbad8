package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostilePatterns: patterns that are huge, or compile to a regexp past
// RE2's limits, are refused with a short one-line error instead of a panic
// or a message that quotes megabytes.
func TestHostilePatterns(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"huge glob", "overrides:\n  - function: '" + strings.Repeat("*a", 1<<17) + "'\n    floor: 1%\n", "function \"*a*a"},
		{"huge glob length", "overrides:\n  - function: '" + strings.Repeat("*a", 1<<17) + "'\n    floor: 1%\n", "bytes long; the limit is 4096"},
		{"huge service glob", "ignore:\n  - service: '" + strings.Repeat("?", 1<<17) + "'\n    reason: x\n", "service"},
		{"huge regexp", "overrides:\n  - function_regexp: '" + strings.Repeat("(a|b)", 1<<15) + "'\n    floor: 1%\n", "the limit is 4096"},
		{"regexp past RE2's repeat limit", "overrides:\n  - function_regexp: '((((a{100}){100}){100}){100})'\n    floor: 1%\n", "invalid repeat count"},
		{"glob at the size limit", "overrides:\n  - function: '" + strings.Repeat("?", 4000) + "'\n    floor: 1%\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "r.yaml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("a pattern within the limit was refused: %.200q", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || len(msg) > 700 {
				t.Fatalf("error %.300q (%d bytes): want one short line containing %q", msg, len(msg), tt.want)
			}
		})
	}
}

func TestRulesFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o644)
	zero := filepath.Join(dir, "zero.yaml")
	os.Symlink("/dev/zero", zero)
	for file, want := range map[string]string{
		big:  "big.yaml: is larger than 1 MiB, the limit for a rules file",
		zero: "zero.yaml: a device, not a regular file",
	} {
		_, err := Load(file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): %v, want %q", filepath.Base(file), err, want)
		}
	}
}
