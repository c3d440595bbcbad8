package configtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profdiff/profdiff/internal/childproc"
	"github.com/profdiff/profdiff/internal/repotest"
	"github.com/profdiff/profdiff/internal/strict"
)

// tool finds an outside tool on PATH, or skips (fails in strict mode).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		strict.SkipOrFail(t, "%s not found on PATH (Debian: apt-get install prometheus)", name)
	}
	t.Logf("real tool: %s", p)
	return p
}

// repo returns the repository root (the folder holding go.mod).
func repo(t testing.TB) string { return repotest.Root(t) }

func repoPath(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{repo(t)}, parts...)...)
}

func readRepoFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(repoPath(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repo(t)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	bankOnce sync.Once
	bankBin  string
	bankDir  string // temporary build folder, removed by TestMain
	bankErr  error
	bankSkip string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bankDir != "" {
		os.RemoveAll(bankDir)
	}
	os.Exit(code)
}

// bankBinary returns the path of a bank service binary: $PROFDIFF_BANK_BIN
// when set, else ./services/cmd/bank built once per test binary.
func bankBinary(t *testing.T) string {
	t.Helper()
	bankOnce.Do(func() {
		if p := os.Getenv("PROFDIFF_BANK_BIN"); p != "" {
			bankBin = p
			return
		}
		root := repo(t)
		if _, err := os.Stat(filepath.Join(root, "services", "cmd", "bank")); err != nil {
			bankSkip = "services/cmd/bank does not exist yet"
			return
		}
		dir, err := os.MkdirTemp("", "profdiff-configtest-bank-")
		if err != nil {
			bankErr = err
			return
		}
		bankDir = dir
		bankBin = filepath.Join(dir, "bank")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bankBin, "./services/cmd/bank")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bankErr = fmt.Errorf("go build ./services/cmd/bank: %v\n%s", err, out)
		}
	})
	if bankSkip != "" {
		strict.SkipOrFail(t, "%s", bankSkip)
	}
	if bankErr != nil {
		t.Fatal(bankErr)
	}
	t.Logf("real service binary: %s", bankBin)
	return bankBin
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// proc is a child process owned by a test, in its own process group
// (childproc), with its output kept in memory.
type proc struct {
	*childproc.Process
	out *childproc.Buffer
}

// start starts bin; the test's cleanup stops it (SIGTERM to its process
// group, SIGKILL after a grace period) and, if the test failed, logs the
// end of its output.
func start(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	out := &childproc.Buffer{Max: 1 << 20}
	cp, err := childproc.Start(name, out, env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{Process: cp, out: out}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, tail(p.out.String(), 3000))
		}
	})
	return p
}

// stop ends the process; it is safe to call twice.
func (p *proc) stop() { _ = p.Stop(5 * time.Second) }

func (p *proc) exited() bool {
	done, _ := p.Exited()
	return done
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

var client = &http.Client{Timeout: 3 * time.Second}

// get fetches a URL and returns the body of a 200 answer.
func get(url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(tail(string(body), 300)))
	}
	return body, nil
}

func getJSON(url string, v any) error {
	body, err := get(url)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// waitFor polls cond every interval until it returns nil or the deadline
// passes; it returns the last error.
func waitFor(timeout, interval time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}

// startBank starts one bank service on a free loopback port and waits for
// its /health. Profiling is off (no Pyroscope address) so that nothing
// leaves the machine.
func startBank(t *testing.T, bin, service string) (*proc, string) {
	t.Helper()
	addr := freeAddr(t)
	p := start(t, service, []string{"PYROSCOPE_SERVER_ADDRESS="}, bin, "--service", service, "--addr", addr)
	err := waitFor(20*time.Second, 100*time.Millisecond, func() error {
		if p.exited() {
			return fmt.Errorf("%s exited: %s", service, tail(p.out.String(), 500))
		}
		_, err := get("http://" + addr + "/health")
		return err
	})
	if err != nil {
		t.Fatalf("%s did not become healthy on %s: %v", service, addr, err)
	}
	return p, addr
}

var (
	exportedOnce sync.Once
	exported     Exported
	exportedErr  error
)

// bankExported scrapes a running bank service once per test binary and
// returns the series names it exports. It sends a few requests first so
// that the HTTP metric families have series (a labelled family with no
// series is not exposed at all).
func bankExported(t *testing.T) Exported {
	t.Helper()
	bin := bankBinary(t)
	exportedOnce.Do(func() {
		// A separate process owned by this helper, stopped before returning:
		// t.Cleanup of the first caller would be too early for later tests.
		addr := freeAddr(t)
		out := &childproc.Buffer{Max: 1 << 20}
		p, err := childproc.Start("bank-account-service", out, []string{"PYROSCOPE_SERVER_ADDRESS="}, bin, "--service", "bank-account-service", "--addr", addr)
		if err != nil {
			exportedErr = err
			return
		}
		defer p.Stop(5 * time.Second)
		base := "http://" + addr
		if err := waitFor(20*time.Second, 100*time.Millisecond, func() error { _, err := get(base + "/health"); return err }); err != nil {
			exportedErr = fmt.Errorf("bank service not healthy: %v\n%s", err, tail(out.String(), 500))
			return
		}
		_, _ = get(base + "/no-such-route")
		_, _ = get(base + "/metrics")
		body, err := get(base + "/metrics")
		if err != nil {
			exportedErr = err
			return
		}
		exported, exportedErr = ParseExposition(bytes.NewReader(body))
	})
	if exportedErr != nil {
		t.Fatal(exportedErr)
	}
	return exported
}
