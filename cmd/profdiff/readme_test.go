package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/strict"
)

// The README's shell blocks are the first thing a newcomer runs, so they are
// tested: every command line of a ```sh block either invokes profdiff on
// shipped data and ends in "# exit N" (the status the README promises), or
// starts with one of the prefixes below, which name the commands too long or
// too far outside a unit test to run here. A line that is neither fails the
// test, so a command added to the README is either checked or named.
var readmeSkipped = []struct{ prefix, why string }{
	{"go run ./testenv/cmd/bankstack demo", "the demo: two duets of the bank stack, about 5 minutes"},
	{"go run ./testenv/cmd/bankstack ", "starts or gates the bank stack"},
	{"go test ", "the test suite"},
	{"go install ", "installs into GOBIN (and @latest needs the network)"},
}

// readmeCommand is one command line of a README shell block.
type readmeCommand struct {
	line int    // 1-based line of the README where the command starts
	text string // continuation lines joined, trailing comment kept
	exit int    // the promised exit status; -1 when skipped
	skip string // why it is not run, for a skipped command
}

var (
	exitComment = regexp.MustCompile(`\s#\s*exit ([0-9]+)\b`)
	goRunCLI    = regexp.MustCompile(`^go run \./cmd/profdiff(\s|$)`)
)

// isProfdiff reports whether a command line runs profdiff: the installed
// binary or the package in this repository.
func isProfdiff(cmd string) bool {
	return cmd == "profdiff" || strings.HasPrefix(cmd, "profdiff ") || goRunCLI.MatchString(cmd)
}

// readmeCommands returns the command lines of the ```sh (and ```bash,
// ```shell) blocks of a Markdown text, classified, or an error naming the
// first line that is neither a fast profdiff command nor a named one.
func readmeCommands(md string) ([]readmeCommand, error) {
	var cmds []readmeCommand
	inSh, inOther := false, false
	var cur *readmeCommand
	for i, raw := range strings.Split(md, "\n") {
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			switch {
			case inSh || inOther:
				if cur != nil {
					return nil, fmt.Errorf("README line %d: a shell block ends inside a continued command", i+1)
				}
				inSh, inOther = false, false
			case trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell":
				inSh = true
			default:
				inOther = true
			}
			continue
		}
		if !inSh {
			continue
		}
		if cur == nil {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			cur = &readmeCommand{line: i + 1}
		}
		if body, more := strings.CutSuffix(trimmed, `\`); more {
			cur.text += strings.TrimSpace(body) + " "
			continue
		}
		cur.text += trimmed
		c, err := classify(*cur)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
		cur = nil
	}
	if inSh {
		return nil, fmt.Errorf("README: a shell block is not closed")
	}
	return cmds, nil
}

// classify reads a command's promised exit status, or its reason to be
// skipped.
func classify(c readmeCommand) (readmeCommand, error) {
	c.exit = -1
	if isProfdiff(c.text) {
		m := exitComment.FindStringSubmatch(c.text)
		if m == nil {
			return c, fmt.Errorf("README line %d: %q runs profdiff but does not say its exit status; end it with a comment \"# exit 0\", \"# exit 1\" or \"# exit 2\"", c.line, c.text)
		}
		c.exit, _ = strconv.Atoi(m[1])
		if c.exit > 2 {
			return c, fmt.Errorf("README line %d: exit %d promised; profdiff exits 0, 1 or 2", c.line, c.exit)
		}
		return c, nil
	}
	for _, s := range readmeSkipped {
		if strings.HasPrefix(c.text, s.prefix) {
			c.skip = s.why
			return c, nil
		}
	}
	return c, fmt.Errorf("README line %d: %q is neither a profdiff command ending in \"# exit N\" nor one of the commands readme_test.go names as long (readmeSkipped)", c.line, c.text)
}

func TestReadmeCommandsParse(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		want    []readmeCommand
		wantErr string
	}{
		{
			name: "fast, skipped and other blocks",
			md: "# t\n```sh\n# a comment line\nprofdiff compare --baseline a --current b   # exit 1: a regression\n\n" +
				"go test ./...       # the tests\n```\n```console\n$ profdiff compare\n```\n```yaml\nuses: x\n```\n",
			want: []readmeCommand{
				{line: 4, text: "profdiff compare --baseline a --current b   # exit 1: a regression", exit: 1},
				{line: 6, text: "go test ./...       # the tests", exit: -1, skip: "the test suite"},
			},
		},
		{
			name: "continued lines and go run",
			md:   "```bash\ngo run ./cmd/profdiff compare \\\n    --baseline a \\\n    --current b   # exit 0\n```\n",
			want: []readmeCommand{{line: 2, text: "go run ./cmd/profdiff compare --baseline a --current b   # exit 0", exit: 0}},
		},
		{
			name:    "profdiff without an exit status",
			md:      "```sh\nprofdiff compare --baseline a --current b\n```\n",
			wantErr: "line 2: \"profdiff compare --baseline a --current b\" runs profdiff but does not say its exit status",
		},
		{
			name:    "an exit status profdiff never gives",
			md:      "```sh\nprofdiff version   # exit 3\n```\n",
			wantErr: "exit 3 promised",
		},
		{
			name:    "a command the test does not know",
			md:      "```sh\ncurl -s http://localhost:4040\n```\n",
			wantErr: "line 2: \"curl -s http://localhost:4040\" is neither a profdiff command",
		},
		{
			name:    "a profdiff-like name is not profdiff",
			md:      "```sh\nprofdiffx compare\n```\n",
			wantErr: "is neither a profdiff command",
		},
		{
			name:    "an unclosed block",
			md:      "```sh\nprofdiff version   # exit 0\n",
			wantErr: "not closed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmeCommands(tt.md)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestREADMECommands builds profdiff once and runs the README's fast
// commands with it, from a directory that sees the repository's top level
// (so "testdata/sample/..." resolves) but keeps any file a command writes
// there out of the repository.
func TestREADMECommands(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeCommands(string(md))
	if err != nil {
		t.Fatal(err)
	}
	fast := 0
	for _, c := range cmds {
		if c.exit >= 0 {
			fast++
		}
	}
	if fast == 0 {
		t.Fatal("README has no fast profdiff command (a ```sh line ending in \"# exit N\"); the first compare on the sample data should be one")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		strict.SkipOrFail(t, "no sh to run the README's commands with: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build profdiff with: %v", err)
	}

	binDir := t.TempDir()
	bin := filepath.Join(binDir, "profdiff")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/profdiff: %v\n%s", err, out)
	}

	work := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	for _, c := range cmds {
		if c.skip != "" {
			t.Logf("README line %d: skipped (%s): %s", c.line, c.skip, c.text)
			continue
		}
		// The same program the README's "go run ./cmd/profdiff" builds, run
		// directly: go run reports every failure as exit status 1.
		script := goRunCLI.ReplaceAllString(c.text, "profdiff$1")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, sh, "-c", script)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		took, timedOut := time.Since(start), ctx.Err() != nil
		cancel()
		code := 0
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) || timedOut {
				t.Errorf("README line %d: %s: %v (after %v)", c.line, c.text, err, took.Round(time.Millisecond))
				continue
			}
			code = ee.ExitCode()
		}
		if code != c.exit {
			t.Errorf("README line %d: %s\nexit %d, the README says %d\nstdout:\n%s\nstderr:\n%s", c.line, c.text, code, c.exit, stdout.String(), stderr.String())
			continue
		}
		t.Logf("README line %d: exit %d as promised, in %v: %s", c.line, code, took.Round(time.Millisecond), c.text)
	}
}
