// Package childproc runs child processes that their starter owns: each in a
// process group of its own, so that stopping it also stops whatever it
// started (a shell's children, a server's workers), and killed by the
// kernel if the starter dies first, so that no stray process outlives a
// harness or a test. The bank stack's harness (testenv) and the config
// tests run their services and Prometheus through it.
//
// It uses Linux's process groups and parent-death signal.
package childproc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a running or ended child process.
type Process struct {
	// Name names the process in errors and logs.
	Name string

	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	exitErr error
}

// Start starts bin with args, env added to this process's environment, and
// its standard output and error written to out (nil discards them), in a
// new process group.
func Start(name string, out io.Writer, env []string, bin string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's ID, which is also its process group's.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended, and how (exec.Cmd.Wait's
// error).
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.exitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, waits up to grace for the
// process to drain and exit, then kills the group. It returns how the
// process ended, and is safe to call again.
func (p *Process) Stop(grace time.Duration) error {
	if done, err := p.Exited(); done {
		return err
	}
	pgid := p.Pid()
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	_, err := p.Exited()
	return err
}

// Kill ends the process group at once, as a crash would.
func (p *Process) Kill() {
	if done, _ := p.Exited(); done {
		return
	}
	syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// SyncWriter serializes writes to a writer that several goroutines share:
// the output of processes started at once and their starter's own progress
// lines, one whole write at a time. A Buffer is the in-memory one.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter returns a SyncWriter writing to w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

// Write writes p to the underlying writer, after any write in progress.
func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Buffer collects a process's output in memory, safe for concurrent
// writes. Once it holds more than Max bytes (when Max is not 0) it drops
// what follows, so that a chatty process cannot grow it without bound.
type Buffer struct {
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps p, or drops it when the buffer is full; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() > b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns what was kept.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
