package configtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/config/dashboards/boards"
	"github.com/profdiff/profdiff/internal/strict"
)

// runbook is docs/runbook.md split into prose lines and command lines (the
// lines of ```bash blocks).
type runbook struct {
	text     string
	prose    []string
	commands []string
	anchors  map[string]bool
}

var headingRE = regexp.MustCompile(`^#{1,6}\s+(.*)$`)

func loadRunbook(t *testing.T) runbook {
	t.Helper()
	rb := runbook{text: string(readRepoFile(t, "docs", "runbook.md")), anchors: map[string]bool{}}
	inCode := false
	for _, line := range strings.Split(rb.text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				rb.commands = append(rb.commands, trimmed)
			}
			continue
		}
		rb.prose = append(rb.prose, line)
		if m := headingRE.FindStringSubmatch(line); m != nil {
			rb.anchors[anchor(m[1])] = true
		}
	}
	return rb
}

// anchor is GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestRunbookAnchors(t *testing.T) {
	rb := loadRunbook(t)
	// Every alert's runbook annotation lands on a heading.
	rf := loadRules(t)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			a := strings.TrimPrefix(r.Annotations["runbook"], "docs/runbook.md#")
			if !rb.anchors[a] {
				t.Errorf("alert %s points to #%s, which is not a heading of docs/runbook.md", r.Alert, a)
			}
		}
	}
	// Every in-page link resolves.
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(rb.text, -1) {
		if !rb.anchors[m[1]] {
			t.Errorf("link to #%s has no heading", m[1])
		}
	}
}

func TestRunbookNamesTheStack(t *testing.T) {
	rb := loadRunbook(t)
	var want []string
	for name, port := range wantPorts() {
		want = append(want, "`"+name+"`", fmt.Sprint(port))
	}
	want = append(want, "`"+boards.UIDPyroscopeOverview+"`", "`"+boards.UIDGoRuntime+"`",
		"`"+boards.UIDHTTPPerformance+"`", "`"+boards.UIDServiceComparison+"`",
		"`"+boards.PyroscopeUID+"`", "`"+boards.PrometheusUID+"`")
	for _, a := range config.Alerts {
		want = append(want, "`"+a+"`")
	}
	for _, w := range want {
		if !strings.Contains(rb.text, w) {
			t.Errorf("runbook does not mention %s", w)
		}
	}
}

// TestRunbookPathsExist checks the repository paths the runbook names: files
// under config/ and docs/, and every package in a `go run ./...` command.
// Packages other engineers are still building (the bankstack command, the
// profdiff CLI, the load generator) are reported as skips until they land,
// and fail under PROFDIFF_STRICT=1.
func TestRunbookPathsExist(t *testing.T) {
	rb := loadRunbook(t)
	pathRE := regexp.MustCompile("`((?:config|docs|services|testenv|cmd)/[A-Za-z0-9_./*-]+|docker-compose\\.yml)`")
	var pending []string
	for _, m := range pathRE.FindAllStringSubmatch(rb.text, -1) {
		p := strings.TrimSuffix(m[1], "/")
		matches, _ := filepath.Glob(repoPath(t, filepath.FromSlash(p)))
		switch {
		case len(matches) > 0:
		case strings.HasPrefix(p, "config/") || strings.HasPrefix(p, "docs/") || p == "docker-compose.yml":
			t.Errorf("runbook names %s, which does not exist", m[1])
		default:
			pending = append(pending, p)
		}
	}
	goRunRE := regexp.MustCompile(`go (?:run|build) (\./[A-Za-z0-9_/.-]+)`)
	seen := map[string]bool{}
	for _, c := range append(rb.commands, rb.prose...) {
		for _, m := range goRunRE.FindAllStringSubmatch(c, -1) {
			pkg := m[1]
			if seen[pkg] || strings.Contains(pkg, "...") {
				continue
			}
			seen[pkg] = true
			gofiles, _ := filepath.Glob(repoPath(t, filepath.FromSlash(pkg), "*.go"))
			if len(gofiles) == 0 {
				pending = append(pending, pkg)
			}
		}
	}
	if len(seen) < 4 {
		t.Errorf("only %d go commands found in the runbook: %v", len(seen), seen)
	}
	if len(pending) > 0 {
		strict.SkipOrFail(t, "runbook names files and packages not in the repository yet: %v", pending)
	}
}

// TestRunbookPromtoolCommands runs the promtool commands the runbook gives
// for checking the configuration, exactly as written.
func TestRunbookPromtoolCommands(t *testing.T) {
	rb := loadRunbook(t)
	promtool := tool(t, "promtool")
	n := 0
	for _, c := range rb.commands {
		if !strings.HasPrefix(c, "promtool check ") && !strings.HasPrefix(c, "promtool test ") {
			continue
		}
		// Only the offline commands: "promtool query" needs a running stack.
		fields := strings.Fields(strings.Split(c, "&&")[0])
		n++
		out, err := run(t, time.Minute, promtool, fields[1:]...)
		if err != nil {
			t.Errorf("%s: %v\n%s", c, err, out)
		}
	}
	if n < 3 {
		t.Errorf("found %d promtool check/test commands in the runbook, want 3", n)
	}
	t.Logf("ran %d promtool commands from docs/runbook.md", n)
}

// TestRunbookOwnWords keeps the runbook our own: no run of eight words in its
// prose may repeat the seed runbook (the Java stack's) that it grew from.
func TestRunbookOwnWords(t *testing.T) {
	seedPath := filepath.Join(repo(t), "..", "shared", "seed-runbook.md")
	seed, err := os.ReadFile(seedPath)
	if err != nil {
		t.Skipf("seed runbook not beside the repository (%v); nothing to compare", err)
	}
	const n = 8
	shingles := func(text string) map[string]bool {
		words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		})
		out := map[string]bool{}
		for i := 0; i+n <= len(words); i++ {
			out[strings.Join(words[i:i+n], " ")] = true
		}
		return out
	}
	seedSh := shingles(string(seed))
	rb := loadRunbook(t)
	for s := range shingles(strings.Join(rb.prose, "\n")) {
		if seedSh[s] {
			t.Errorf("runbook prose repeats the seed runbook: %q", s)
		}
	}
}
