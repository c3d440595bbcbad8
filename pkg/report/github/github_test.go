package github

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/internal/reporttest"
	"github.com/profdiff/profdiff/pkg/diff"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *diff.Result
	}{
		{"regression", reporttest.Result()},
		{"pass", &diff.Result{Verdict: diff.Pass, Normalization: "share", Summary: diff.Summary{Series: 21, Improvements: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.r, Options{RepoRoot: reporttest.Repo, ModulePath: reporttest.Module}); err != nil {
				t.Fatal(err)
			}
			checkCommands(t, buf.String())
			golden := filepath.Join("testdata", tt.name+".txt")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, buf.String())
			}
		})
	}
}

// checkCommands parses every line the way the Actions runner does and checks
// it is a well-formed annotation: a known command, properties that are
// key=value with no unescaped separator, one line each.
func checkCommands(t *testing.T, out string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Error("output does not end with a newline")
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "::")
		if !ok {
			t.Errorf("not a workflow command: %q", line)
			continue
		}
		head, msg, ok := strings.Cut(rest, "::")
		if !ok || msg == "" {
			t.Errorf("no message: %q", line)
			continue
		}
		name, props, _ := strings.Cut(head, " ")
		switch name {
		case "error", "warning", "notice":
		default:
			t.Errorf("command %q in %q", name, line)
		}
		if props == "" {
			continue
		}
		for _, kv := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(kv, "=")
			switch {
			case !ok:
				t.Errorf("property %q is not key=value in %q", kv, line)
			case k != "file" && k != "line" && k != "title" && k != "endLine" && k != "col":
				t.Errorf("unknown property %q in %q", k, line)
			case strings.ContainsAny(v, ":\r\n"):
				t.Errorf("unescaped separator in %s=%q", k, v)
			}
		}
	}
}

func TestWriteContent(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, reporttest.Result(), Options{RepoRoot: reporttest.Repo, ModulePath: reporttest.Module}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"::error file=services/bank/fraud.go,line=142,title=profdiff%3A cpu regression in bank-fraud-service::regression in bank-fraud-service: " + reporttest.RegressedFunction,
		"and 1 callee: regexp.(*Regexp).doExecute", // grew under match: folded, not annotated
		"::error file=services/bank/notification.go,line=47,title=profdiff%3A new hot path in bank-notification-service (alloc_space)::",
		"::error title=profdiff%3A alloc_space regression in bank-notification-service::", // no file, no stacks: not placed
		"::warning title=profdiff%3A bank-payment-service cpu inconclusive::bank-payment-service cpu is inconclusive: no data in the current run",
		`::warning title=profdiff::ignore rule "legacy-json" expired`,
		"::notice title=profdiff%3A ignored regression in bank-order-service::",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "::error "); n != 4 {
		t.Errorf("%d error annotations, want 4 (one per failing cause)", n)
	}
	if strings.Contains(out, "detectCycles") {
		t.Error("an improvement was annotated")
	}
	if err := Write(&buf, nil, Options{}); err == nil {
		t.Error("Write(nil) succeeded")
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in, data, property string
	}{
		{"plain text", "plain text", "plain text"},
		{"50% more", "50%25 more", "50%25 more"},
		{"%0A is not a newline", "%250A is not a newline", "%250A is not a newline"},
		{"two\nlines", "two%0Alines", "two%0Alines"},
		{"crlf\r\nend", "crlf%0D%0Aend", "crlf%0D%0Aend"},
		{"a:b,c", "a:b,c", "a%3Ab%2Cc"},
		{"::error ::injected", "::error ::injected", "%3A%3Aerror %3A%3Ainjected"},
		{`C:\src\x.go`, `C:\src\x.go`, `C%3A\src\x.go`},
		{"pkg.F[go.shape.int,go.shape.string]", "pkg.F[go.shape.int,go.shape.string]", "pkg.F[go.shape.int%2Cgo.shape.string]"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := EscapeProperty(tt.in); got != tt.property {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

// A message that tries to start a second command on a new line stays on one
// line: the runner would otherwise execute it.
func TestNoCommandInjection(t *testing.T) {
	r := reporttest.Result()
	r.Warnings = []string{"bad rule\n::error file=x.go::forged"}
	var buf bytes.Buffer
	if err := Write(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "::error file=x.go") {
			t.Fatalf("forged command on its own line: %q", line)
		}
	}
}
