package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestLockRefusesSecondWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "baseline")
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: err = %v, want ErrLocked", err)
	}
	err = Write(dir, sampleSnapshot(t, 1, 1))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Write under another's lock: err = %v, want ErrLocked", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, dir) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("refusal %q: want one line naming the directory and the holder's pid", msg)
	}
	if err := l.Write(sampleSnapshot(t, 2, 1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind after Unlock: %v", err)
	}
	if err := Write(dir, sampleSnapshot(t, 3, 1)); err != nil {
		t.Fatalf("Write after Unlock: %v", err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
}

func TestLockUnusedDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock and Unlock with no write left %s behind: %v", dir, err)
	}
}

// TestConcurrentWritersInProcess: writers in one process, each with its own
// file handle, exclude each other as separate processes do.
func TestConcurrentWritersInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "baseline")
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, other := 0, []error{}
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				err := Write(dir, sampleSnapshot(t, 2+w, int64(1+i)))
				mu.Lock()
				switch {
				case errors.Is(err, ErrLocked):
					refused++
				case err != nil:
					other = append(other, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("writers failed other than by being refused: %v", other)
	}
	if _, err := Load(dir); err != nil {
		t.Fatalf("baseline does not load after concurrent writes: %v", err)
	}
	t.Logf("%d of 40 writes refused", refused)
}

// TestConcurrentWriterProcesses is the regression test for two writer
// processes to one baseline: before the lock, both reported success and the
// baseline often no longer loaded. Each round starts two processes that each
// write the baseline several times; every write either succeeds or is
// refused with the lock's message, the baseline always loads afterwards as
// one of the two snapshots, whole, and some writes are refused.
func TestConcurrentWriterProcesses(t *testing.T) {
	if os.Getenv("PROFDIFF_WRITER_DIR") != "" {
		return
	}
	dir := filepath.Join(t.TempDir(), "baseline")
	refused := 0
	for round := range 5 {
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for w := range 2 {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRacingWriter$")
			cmd.Env = append(os.Environ(), "PROFDIFF_WRITER_DIR="+dir, fmt.Sprintf("PROFDIFF_WRITER_WINDOWS=%d", 5+w))
			out := new(bytes.Buffer)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		for w, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("round %d writer %d: %v\n%s", round, w, err, outs[w])
			}
			var ok, locked int
			if _, err := fmt.Sscanf(lastLine(outs[w].String()), "ok=%d locked=%d", &ok, &locked); err != nil {
				t.Fatalf("round %d writer %d: unexpected output:\n%s", round, w, outs[w])
			}
			refused += locked
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("round %d: baseline does not load after two writers: %v", round, err)
		}
		if n := len(got.Series[0].Windows); n != 5 && n != 6 {
			t.Fatalf("round %d: baseline has %d windows, want 5 or 6 (one writer's, whole)", round, n)
		}
		for _, se := range got.Series {
			if len(se.Windows) != len(got.Series[0].Windows) {
				t.Fatalf("round %d: series from different writers mixed in one baseline", round)
			}
		}
		if leftovers := nonSnapshotFiles(t, dir); len(leftovers) > 0 {
			t.Fatalf("round %d: files left that the manifest does not reference: %v", round, leftovers)
		}
	}
	if refused == 0 {
		t.Error("no write was refused: the writers never overlapped, so the lock was not tested")
	}
	t.Logf("%d writes refused over 5 rounds of two writer processes", refused)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "ok=") {
			return lines[i]
		}
	}
	return ""
}

// TestHelperRacingWriter is a child process of TestConcurrentWriterProcesses.
func TestHelperRacingWriter(t *testing.T) {
	dir := os.Getenv("PROFDIFF_WRITER_DIR")
	windows, _ := strconv.Atoi(os.Getenv("PROFDIFF_WRITER_WINDOWS"))
	if dir == "" || windows == 0 {
		t.Skip("only runs as a child of TestConcurrentWriterProcesses")
	}
	snap := sampleSnapshot(t, windows, int64(windows))
	ok, locked := 0, 0
	for range 6 {
		err := Write(dir, snap)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrLocked):
			locked++
		default:
			fmt.Println(err)
			os.Exit(1)
		}
		runtime.Gosched()
	}
	fmt.Printf("ok=%d locked=%d\n", ok, locked)
}

// nonSnapshotFiles lists the files in dir that are neither its manifest nor
// a series file it references.
func nonSnapshotFiles(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]bool{ManifestFile: true}
	for _, e := range m.Series {
		ref[e.File] = true
	}
	var extra []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			if !ref[filepath.ToSlash(rel)] {
				extra = append(extra, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	return extra
}

// TestWriteCleansKilledWritersLeftovers: a writer killed mid-write leaves
// temporary files and series files no manifest references; the next write
// removes them, and also succeeds into a new directory that holds nothing
// else.
func TestWriteCleansKilledWritersLeftovers(t *testing.T) {
	for _, existing := range []bool{true, false} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "baseline")
			if existing {
				if err := Write(dir, sampleSnapshot(t, 2, 1)); err != nil {
					t.Fatal(err)
				}
			}
			os.MkdirAll(filepath.Join(dir, "series", "svc-z"), 0o755)
			for _, p := range []string{
				".tmp-manifest.json-123",
				"series/svc-z/cpu-0123456789ab.json.gz",
				"series/svc-a/.tmp-cpu-0123456789ab.json.gz-456",
				LockFile,
			} {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(dir, sampleSnapshot(t, 3, 1)); err != nil {
				t.Fatal(err)
			}
			if extra := nonSnapshotFiles(t, dir); len(extra) > 0 {
				t.Errorf("leftovers not removed: %v", extra)
			}
		})
	}
}

// TestWriteRefusesSeriesLink: a series/ directory (or a service directory
// in it) that is a symbolic link is refused, and nothing is written through
// it or removed.
func TestWriteRefusesSeriesLink(t *testing.T) {
	for _, link := range []string{"series", "series/svc-a"} {
		t.Run(link, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "baseline")
			if err := Write(dir, sampleSnapshot(t, 2, 1)); err != nil {
				t.Fatal(err)
			}
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("not yours"), 0o644)
			real := filepath.Join(dir, filepath.FromSlash(link))
			moved := filepath.Join(t.TempDir(), "moved")
			if err := os.Rename(real, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, real); err != nil {
				t.Fatal(err)
			}
			err := Write(dir, sampleSnapshot(t, 3, 2))
			if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), link) {
				t.Fatalf("Write through a %s link: err = %v", link, err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("files written outside the baseline: %v", entries)
			}
			if fi, err := os.Lstat(real); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was removed or replaced: %v", err)
			}
		})
	}
}
