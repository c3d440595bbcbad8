package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the command when re-executed, so the
// real signal handling can be tested without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("PROFSTORE_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCommandLifecycle starts the command, checks its one log line and that
// it serves, then stops it with each of SIGINT and SIGTERM.
func TestCommandLifecycle(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			// The child runs main() (see TestMain), which parses only these flags.
			cmd, line, err := startMain(t, "--addr", "127.0.0.1:0", "--retention", "5m", "--max-bytes", "1000000")
			defer func() { _ = cmd.Process.Kill() }()
			if err != nil {
				t.Fatalf("reading log line: %v", err)
			}
			_, rest, ok := strings.Cut(line, "listening on ")
			if !ok {
				t.Fatalf("unexpected log line %q", line)
			}
			url, _, _ := strings.Cut(rest, " ")
			if !strings.HasPrefix(url, "http://127.0.0.1:") {
				t.Fatalf("not on loopback: %q", url)
			}
			resp, err := http.Get(url + "/ready")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("ready: %v %v", err, resp)
			}
			resp.Body.Close()
			// The container health check's mode: 200 passes, a closed
			// port or another status fails.
			if err := run([]string{"--healthcheck", url + "/ready"}); err != nil {
				t.Errorf("--healthcheck on a serving store: %v", err)
			}
			if err := run([]string{"--healthcheck", url + "/no-such-path"}); err == nil {
				t.Error("--healthcheck on a 404 path succeeded")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after %v: %v", sig, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no exit after %v", sig)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--addr", "256.0.0.1:99999"}, {"--healthcheck", "http://127.0.0.1:1/ready"}} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestIngestionLimitFlags: a rate of zero or a burst that holds nothing is
// refused with a message naming the flag; the start line states the limit
// the server runs with.
func TestIngestionLimitFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ingestion-rate-mb", "0"}, "--ingestion-rate-mb 0"},
		{[]string{"--ingestion-burst-size-mb", "0"}, "--ingestion-burst-size-mb 0"},
		{[]string{"--ingestion-burst-size-mb", "-1"}, "--ingestion-burst-size-mb -1"},
	} {
		if err := run(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error naming %q", c.args, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "ingestion 4 MiB/s, burst 2 MiB"},
		{[]string{"--ingestion-rate-mb", "16", "--ingestion-burst-size-mb", "8"}, "ingestion 16 MiB/s, burst 8 MiB"},
		{[]string{"--ingestion-rate-mb", "-1"}, "no ingestion rate limit"},
	} {
		cmd, line, err := startMain(t, append([]string{"--addr", "127.0.0.1:0"}, c.args...)...)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if err != nil || !strings.Contains(line, c.want) {
			t.Errorf("%q: start line %q (%v), want it to say %q", c.args, line, err, c.want)
		}
	}
}

// startMain starts the command in a child process (TestMain runs main()
// there) with args and returns it with its first log line, or the error
// reading it.
func startMain(t *testing.T, args ...string) (*exec.Cmd, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PROFSTORE_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stderr).ReadString('\n')
	return cmd, line, err
}
