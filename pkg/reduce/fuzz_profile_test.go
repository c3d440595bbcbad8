package reduce_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/profdiff/profdiff/internal/fuzzfile"
	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/reduce"
)

// FuzzSnapshotProfile feeds arbitrary bytes to the snapshot command's
// profile path (AddProfileFiles: read within a limit, parse, reduce to a
// window): it must fail with an error naming the file, never panic, and
// what it accepts must validate. It lives here, beside the code it
// fuzzes, so that -fuzz instruments this package's small test binary and
// not the whole CLI's.
//
// The seeds are small profiles of each kind the path reads (a CPU and an
// allocation profile, gzipped and not, and a legacy text one), under 200
// bytes each. Size matters more than it seems: each input
// that reaches new code is minimized before fuzzing goes on, for up to
// -fuzzminimizetime (60 s by default), and minimizing tries every
// sub-slice of the input, so its cost grows with the square of the
// length. Seeded with generated 1–4 KB profiles, and writing its input
// with os.WriteFile (about 1 ms a time here; see internal/fuzzfile), the
// minimizations took the whole run: 9 to 12 executions counted in 60 s.
func FuzzSnapshotProfile(f *testing.F) {
	for _, p := range []*profile.Profile{tinyCPUProfile(time.Unix(1e9, 0), 3, 1), tinyAllocProfile()} {
		var gz, raw bytes.Buffer
		if err := p.Write(&gz); err != nil {
			f.Fatal(err)
		}
		if err := p.WriteUncompressed(&raw); err != nil {
			f.Fatal(err)
		}
		f.Add(gz.Bytes())
		f.Add(raw.Bytes())
	}
	f.Add([]byte{})
	f.Add([]byte("--- contention:\ncycles/second=1000\n"))
	dir := f.TempDir()
	ids, err := profiletype.ParseList([]string{"cpu", "alloc"})
	if err != nil {
		f.Fatal(err)
	}
	// A small decompression limit keeps each execution fast: a mutated
	// gzip header or trailer can make the input inflate to the limit, or
	// size the buffer at it; the limit's value is tested with the command.
	limit := inputfile.Limit{What: "a fuzzed profile", Max: 64 << 10}
	file := filepath.Join(dir, "in.pb")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := fuzzfile.Write(file, data); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			snap := &baseline.Snapshot{}
			_, err := reduce.AddProfileFiles(snap, "s", []profiletype.ID{id}, []string{file}, limit)
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

// tinyAllocProfile is a one-sample heap profile with the four sample
// types runtime/pprof writes.
func tinyAllocProfile() *profile.Profile {
	fn := &profile.Function{ID: 1, Name: "main.alloc"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	return &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     512 * 1024,
		TimeNanos:  time.Unix(1e9, 0).UnixNano(),
		Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{2, 2048, 1, 1024}}},
		Location:   []*profile.Location{loc},
		Function:   []*profile.Function{fn},
	}
}
