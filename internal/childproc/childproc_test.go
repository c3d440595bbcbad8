package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// alive reports whether a process with this pid still exists (and is not a
// zombie waiting to be reaped).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && !strings.HasPrefix(strings.TrimSpace(string(out)), "Z")
}

// grandchild starts a shell that starts a sleep of its own and prints its
// pid, and returns both.
func grandchild(t *testing.T, script string) (*Process, int) {
	t.Helper()
	out := &Buffer{}
	p, err := Start("sh", out, nil, "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := strings.TrimSpace(out.String()); s != "" {
			pid, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("output %q", s)
			}
			return p, pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the shell printed no pid")
	return nil, 0
}

// TestStopEndsTheGroup: Stop ends what the process started too, whether it
// exits on SIGTERM or has to be killed after the grace period.
func TestStopEndsTheGroup(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		grace      time.Duration
		wantKilled bool
	}{
		{"exits on SIGTERM", `sleep 300 & echo $!; wait`, 10 * time.Second, false},
		{"ignores SIGTERM", `trap "" TERM; sleep 300 & echo $!; wait`, 300 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, pid := grandchild(t, tt.script)
			if !alive(pid) {
				t.Fatalf("the shell's sleep %d is not running", pid)
			}
			began := time.Now()
			err := p.Stop(tt.grace)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("Stop: %v, want the exit error of a signalled process", err)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if killed := ws.Signaled() && ws.Signal() == syscall.SIGKILL; killed != tt.wantKilled {
				t.Errorf("ended by %v; want killed %v", err, tt.wantKilled)
			}
			if tt.wantKilled && time.Since(began) < tt.grace {
				t.Errorf("killed after %v, before the %v grace period", time.Since(began), tt.grace)
			}
			for deadline := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if alive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the shell's sleep %d outlived Stop", pid)
			}
			if again := p.Stop(tt.grace); again == nil || again.Error() != err.Error() {
				t.Errorf("Stop again: %v, want %v", again, err)
			}
		})
	}
}

func TestKillAndExited(t *testing.T) {
	p, pid := grandchild(t, `sleep 300 & echo $!; wait`)
	if done, _ := p.Exited(); done {
		t.Fatal("exited before Kill")
	}
	p.Kill()
	if done, err := p.Exited(); !done || err == nil {
		t.Fatalf("after Kill: exited %v, %v", done, err)
	}
	for deadline := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the shell's sleep %d outlived Kill", pid)
	}

	q, err := Start("exit3", nil, []string{"CHILDPROC_CODE=3"}, "sh", "-c", `exit $CHILDPROC_CODE`)
	if err != nil {
		t.Fatal(err)
	}
	<-q.Done()
	var ee *exec.ExitError
	if _, err := q.Exited(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit status %v, want 3 (from the environment given)", err)
	}
	if _, err := Start("missing", nil, nil, "/no/such/binary"); err == nil || !strings.Contains(err.Error(), "start missing") {
		t.Errorf("starting a missing binary: %v", err)
	}
}

func TestBuffer(t *testing.T) {
	tests := []struct {
		max    int
		writes []string
		want   string
	}{
		{0, []string{"ab", "cd"}, "abcd"},
		{3, []string{"ab", "cd", "ef"}, "abcd"}, // full after the write that passes Max
		{3, []string{"abcd", "e"}, "abcd"},
	}
	for _, tt := range tests {
		b := &Buffer{Max: tt.max}
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Errorf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := b.String(); got != tt.want {
			t.Errorf("Max %d, writes %q: %q, want %q", tt.max, tt.writes, got, tt.want)
		}
	}
}

// TestSyncWriter: writes from many goroutines reach the writer whole, one
// at a time (the race detector checks the rest).
func TestSyncWriter(t *testing.T) {
	var out strings.Builder
	w := NewSyncWriter(&out)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(w, "writer %d\n", i)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "writer ") || len(l) != len("writer 0") {
			t.Fatalf("line %q: writes interleaved", l)
		}
	}
}

func ExampleSyncWriter() {
	w := NewSyncWriter(os.Stdout)
	fmt.Fprintln(w, "one whole line, whatever else writes to w at the same time")
	// Output: one whole line, whatever else writes to w at the same time
}
