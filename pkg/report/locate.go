package report

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Locator maps the source file names a profile records to paths relative to
// a repository root, so code scanning alerts and workflow annotations land on
// the file in the pull request rather than on a path from the build machine.
//
// Go records file names in one of two shapes: the absolute path the package
// was compiled from (a CI checkout, "/src" in a container build, a GOPATH
// tree), or, with -trimpath, the module path followed by the path inside the
// module ("github.com/org/repo/pkg/x.go"). Root handles the first when the
// build ran in the same checkout; Module handles the second, and also the
// first when the checkout sat under a GOPATH-like tree
// ("/build/src/github.com/org/repo/pkg/x.go").
type Locator struct {
	// Root is the absolute path of the repository checkout, e.g.
	// $GITHUB_WORKSPACE. Files below it map to the path below it.
	Root string
	// Module is the Go module path of the repository's main module (its
	// go.mod's module line), or empty to skip module-path mapping. A module
	// that is not at the repository root is not supported: its files would
	// map to paths relative to the module, not the repository.
	Module string
}

// Rel returns file relative to the repository root, with forward slashes,
// and whether it could be mapped. A file that cannot be mapped (the Go
// runtime, a dependency, another build machine's path) is returned cleaned
// but unchanged, with false.
func (l Locator) Rel(file string) (string, bool) {
	if file == "" {
		return "", false
	}
	f := path.Clean(strings.ReplaceAll(file, `\`, "/"))
	if l.Root != "" {
		root := path.Clean(strings.ReplaceAll(l.Root, `\`, "/"))
		if rel, ok := strings.CutPrefix(f, root+"/"); ok && rel != "" && !strings.HasPrefix(rel, "../") {
			return rel, true
		}
	}
	if mod := strings.Trim(l.Module, "/"); mod != "" {
		// "-trimpath" form: the file name starts with the module path.
		if rel, ok := strings.CutPrefix(f, mod+"/"); ok && rel != "" {
			return rel, true
		}
		// GOPATH-like form: the module path is a run of directories inside
		// an absolute path. The last occurrence wins, so a repository that
		// is checked out under a directory named like itself still maps.
		if i := strings.LastIndex(f, "/"+mod+"/"); i >= 0 {
			if rel := f[i+len(mod)+2:]; rel != "" {
				return rel, true
			}
		}
	}
	return f, false
}

// FindLocator returns a Locator for the repository that contains dir: Root
// is the nearest ancestor (or dir itself) holding a .git entry, else the one
// holding go.mod; Module is read from go.mod in Root. It never fails: what it
// cannot find is left empty and Rel then maps less.
func FindLocator(dir string) Locator {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Locator{}
	}
	var root, modRoot string
	for d := abs; ; d = filepath.Dir(d) {
		if root == "" && exists(filepath.Join(d, ".git")) {
			root = d
		}
		if modRoot == "" && exists(filepath.Join(d, "go.mod")) {
			modRoot = d
		}
		if root != "" || filepath.Dir(d) == d {
			break
		}
	}
	if root == "" {
		root = modRoot
	}
	if root == "" {
		return Locator{}
	}
	return Locator{Root: filepath.ToSlash(root), Module: modulePath(filepath.Join(root, "go.mod"))}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// modulePath reads the module directive of a go.mod file, or returns "".
// A full go.mod parser is not needed for one directive, and the directive is
// always written "module path" (optionally quoted) on its own line.
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '"') {
			return strings.Trim(strings.TrimSpace(rest), "\"`")
		}
	}
	return ""
}
