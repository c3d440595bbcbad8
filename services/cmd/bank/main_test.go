package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStartupErrors runs the command's entry point with bad settings: each is
// refused before anything listens, with exit status 2 and a message saying why.
func TestStartupErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no service", nil, nil, "--service (or BANK_SERVICE) is required"},
		{"unknown service", []string{"--service", "bank-atm-service"}, nil, "unknown service"},
		{"unknown hot spot", []string{"--service", "fraud", "--inject", "fraud.rulez=1.3"}, nil, "unknown hot spot"},
		{"factor zero", []string{"--service", "fraud", "--inject", "fraud.rules=0"}, nil, "out of range"},
		{"factor not a number", []string{"--service", "fraud", "--inject", "fraud.rules=lots"}, nil, "not a number"},
		{"factor missing", []string{"--service", "fraud", "--inject", "fraud.rules"}, nil, "want name=factor"},
		{"bad inject from env", nil, map[string]string{"BANK_SERVICE": "loan", "BANK_INJECT": "loan.amortize=-2"}, "out of range"},
		{"bad profiler event", []string{"--service", "loan"}, map[string]string{"PYROSCOPE_PROFILER_EVENT": "cpu,wall"}, "unknown event"},
		{"bad addr", []string{"--service", "loan", "--addr", "8085"}, nil, "addr"},
		{"bad downstream", []string{"--service", "gateway", "--fraud-url", "fraud:8083"}, nil, "downstream URL"},
		{"stray argument", []string{"--service", "loan", "extra"}, nil, "unexpected arguments"},
		{"unknown flag", []string{"--servise", "loan"}, nil, "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(c.args, func(k string) string { return c.env[k] }, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), c.want)
			}
		})
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bank")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a started service binary whose stderr is collected.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	addr chan string
}

var listenLine = regexp.MustCompile(`msg=listening .*addr=(\S+)`)

func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), addr: make(chan string, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	// A writer rather than a pipe: Wait then returns only after the last
	// line has been copied, so the logs are complete when the test reads them.
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	select {
	case a := <-p.addr:
		p.addr <- a
	case <-time.After(20 * time.Second):
		t.Fatalf("service did not start; logs:\n%s", p.log())
	}
	return p
}

// Write collects stderr and reports the listen address once it is logged.
func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.logs.Len()
	p.logs.Write(b)
	if before == 0 || !listenLine.Match(p.logs.Bytes()[:before]) {
		if m := listenLine.FindSubmatch(p.logs.Bytes()); m != nil {
			select {
			case p.addr <- string(m[1]):
			default:
			}
		}
	}
	return len(b), nil
}

func (p *proc) url() string { a := <-p.addr; p.addr <- a; return "http://" + a }

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// TestSIGTERMDrains starts the real binary as a gateway whose account service
// is slow, sends SIGTERM while a request is in flight, and expects that
// request to complete and the process to exit 0.
func TestSIGTERMDrains(t *testing.T) {
	bin := buildBinary(t)
	arrived := make(chan struct{}, 1)
	slowAccount := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(800 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"acc-0001","owner":"Ada","currency":"USD","balance":10,"history":[]}`)
	}))
	defer slowAccount.Close()
	p := start(t, bin, []string{"BANK_INJECT=gateway.json=1.5", "PYROSCOPE_SERVER_ADDRESS="},
		"--service", "gateway", "--addr", "127.0.0.1:0", "--account-url", slowAccount.URL, "--downstream-timeout", "5s")
	base := p.url()

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/api/accounts/acc-0001")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the downstream")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: status %d err %v body %s\nlogs:\n%s", r.status, r.err, r.body, p.log())
	}
	var agg map[string]any
	if err := json.Unmarshal([]byte(r.body), &agg); err != nil || agg["kind"] != "account" {
		t.Errorf("body %s", r.body)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- p.cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit: %v\nlogs:\n%s", err, p.log())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("did not exit after SIGTERM\nlogs:\n%s", p.log())
	}
	// After shutdown nothing listens any more.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after exit")
	}
	logs := p.log()
	for _, want := range []string{"profiling off", "inject ON", "hotspot=gateway.json", "draining", "stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestHealthcheckMode(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer bad.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		url  string
		want int
	}{
		{ok.URL + "/health", 0},
		{bad.URL + "/health", 1},
		{closedURL + "/health", 1},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if got := run([]string{"--healthcheck", tt.url}, func(string) string { return "" }, &stderr); got != tt.want {
			t.Errorf("--healthcheck %s = %d, want %d (%s)", tt.url, got, tt.want, stderr.String())
		}
	}
}
