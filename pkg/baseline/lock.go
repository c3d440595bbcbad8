package baseline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the name of the writer lock inside a snapshot directory. It
// exists only while a writer holds it, so it is never committed with a
// baseline.
const LockFile = ".profdiff-write.lock"

// ErrLocked is returned (wrapped) by Lock and Write when another writer holds
// the directory's lock.
var ErrLocked = errors.New("another profdiff is writing it")

// Locked is a snapshot directory whose writer lock this process holds.
//
// Two writers to one directory would each delete the series files the other
// just wrote (a writer removes what its manifest does not reference) and
// leave a manifest naming files that are gone, while both report success. So
// a writer takes an exclusive lock first, as git and Prometheus's TSDB do, and
// a second writer is refused with a message saying who holds it. The lock is
// an OS file lock (flock(2), LockFileEx on Windows): the kernel releases it
// when its holder dies, so a killed writer never leaves a stale lock, and the
// next writer, which then holds the lock alone, removes the killed one's
// leftover files.
type Locked struct {
	dir     string
	f       *os.File
	created bool // the directory did not exist before Lock
}

// Lock takes the writer lock of the snapshot directory dir, creating dir if
// needed. It does not wait: when another writer holds the lock it returns an
// error wrapping ErrLocked that names the holder. Call Unlock when done.
//
// Use Lock directly to read, change and write a snapshot as one step (as
// `profdiff snapshot` does to add windows); Write alone takes the lock itself.
func Lock(dir string) (*Locked, error) {
	created := false
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	// The holder removes the lock file before releasing the lock, so a
	// writer may lock a file that is already unlinked; it then checks that
	// the path still names the file it locked, and starts over if not.
	for range 100 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: cannot create its writer lock: %w", dir, err)
		}
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("snapshot %s: cannot lock %s: %w", dir, path, err)
		}
		if !ok {
			holder := readHolder(f)
			f.Close()
			return nil, fmt.Errorf("snapshot %s: %w%s; try again when it has finished", dir, ErrLocked, holder)
		}
		fi, ferr := f.Stat()
		pi, perr := os.Stat(path)
		if ferr != nil || perr != nil || !os.SameFile(fi, pi) {
			f.Close()
			continue
		}
		host, _ := os.Hostname()
		f.Truncate(0)
		fmt.Fprintf(f, "pid=%d host=%s since=%s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
		return &Locked{dir: dir, f: f, created: created}, nil
	}
	return nil, fmt.Errorf("snapshot %s: %w (its lock file keeps being replaced)", dir, ErrLocked)
}

// readHolder describes the lock's holder from what it wrote into the file,
// or returns "" when that cannot be read (Windows forbids reading a locked
// range).
func readHolder(f *os.File) string {
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return ""
	}
	var pid, host, since string
	for _, kv := range strings.Fields(string(b)) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "pid":
			if _, err := strconv.Atoi(v); err == nil {
				pid = v
			}
		case "host":
			host = v
		case "since":
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				since = t.Format("15:04:05 UTC")
			}
		}
	}
	if pid == "" {
		return ""
	}
	s := " (pid " + pid
	if host != "" {
		s += " on " + host
	}
	if since != "" {
		s += ", since " + since
	}
	return s + ")"
}

// Dir is the locked directory.
func (l *Locked) Dir() string { return l.dir }

// Unlock removes the lock file and releases the lock. When Lock created the
// directory and nothing was written into it, the directory is removed again.
func (l *Locked) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	os.Remove(filepath.Join(l.dir, LockFile)) // while still held: see Lock
	err := l.f.Close()                        // closing releases the lock
	l.f = nil
	if l.created {
		os.Remove(l.dir) // fails, harmlessly, unless it is empty
	}
	return err
}
