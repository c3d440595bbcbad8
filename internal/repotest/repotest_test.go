package repotest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoot(t *testing.T) {
	root := Root(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(data), "module github.com/profdiff/profdiff\n") {
		t.Fatalf("%s is not this repository's root: %v", root, err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("internal", "repotest") {
		t.Errorf("the test runs in %s, %q below the root found", wd, rel)
	}
}
