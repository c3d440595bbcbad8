package baseline_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// FuzzSnapshotProfile feeds arbitrary bytes to the snapshot command's
// profile path (AddProfileFiles: read within a limit, parse, reduce to a
// window): it must fail with an error naming the file, never panic, and
// what it accepts must validate. It lives here, beside the code it
// fuzzes, so that -fuzz instruments this package's small test binary and
// not the whole CLI's.
func FuzzSnapshotProfile(f *testing.F) {
	m := gen.NewModel(1, 20)
	rng := rand.New(rand.NewPCG(1, 1))
	var buf bytes.Buffer
	m.Profile(m.Sample(rng, 100, 0), time.Unix(1e9, 0), time.Second).Write(&buf)
	f.Add(buf.Bytes())
	var raw bytes.Buffer
	m.Profile(m.Sample(rng, 100, 0), time.Unix(1e9, 0), time.Second).WriteUncompressed(&raw)
	f.Add(raw.Bytes())
	f.Add([]byte{})
	f.Add([]byte("--- contention:\ncycles/second=1000\n"))
	dir := f.TempDir()
	ids, _ := profiletype.ParseList([]string{"cpu", "alloc"})
	// A small decompression limit keeps each execution fast: a mutated
	// gzip header can make the input inflate to the limit, whose value is
	// tested with the command.
	limit := inputfile.Limit{What: "a fuzzed profile", Max: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "in.pb")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			snap := &baseline.Snapshot{}
			_, err := baseline.AddProfileFiles(snap, "s", []profiletype.ID{id}, []string{file}, limit)
			if err != nil {
				if !strings.Contains(err.Error(), "in.pb") {
					t.Fatalf("error does not name the file: %v", err)
				}
				continue
			}
			if err := snap.Validate(); err != nil {
				t.Fatalf("accepted a profile that gives an invalid snapshot: %v", err)
			}
		}
	})
}
