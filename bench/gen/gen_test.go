package gen

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// TestWriteWindows: the files hold the windows in order, each of the asked
// length and sample count, named by default or by Name.
func TestWriteWindows(t *testing.T) {
	m := NewModel(3, 50)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		w      Windows
		want   []string
		length time.Duration
	}{
		{"defaults", Windows{N: 3, Samples: 400, Start: start}, []string{"w00.pb.gz", "w01.pb.gz", "w02.pb.gz"}, 10 * time.Second},
		{"named", Windows{N: 2, Samples: 250, Jitter: 0.1, Start: start, Length: time.Minute,
			Name: func(i int) string { return string(rune('a'+i)) + ".pb.gz" }}, []string{"a.pb.gz", "b.pb.gz"}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new")
			files, err := m.WriteWindows(rand.New(rand.NewPCG(1, 2)), dir, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != len(tt.want) {
				t.Fatalf("%d files, want %d", len(files), len(tt.want))
			}
			for i, f := range files {
				if f != filepath.Join(dir, tt.want[i]) {
					t.Errorf("file %d is %s, want %s", i, f, tt.want[i])
				}
				r, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				p, err := profile.Parse(r)
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				for _, s := range p.Sample {
					n += s.Value[0]
				}
				if want := start.Add(time.Duration(i) * tt.length); p.TimeNanos != want.UnixNano() || p.DurationNanos != int64(tt.length) || n != int64(tt.w.Samples) {
					t.Errorf("window %d: starts %v, lasts %v, %d samples; want %v, %v, %d", i,
						time.Unix(0, p.TimeNanos).UTC(), time.Duration(p.DurationNanos), n, want, tt.length, tt.w.Samples)
				}
			}
		})
	}
}
