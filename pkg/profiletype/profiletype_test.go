package profiletype

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "cpu", want: []string{"process_cpu:cpu:nanoseconds:cpu:nanoseconds"}},
		{in: "alloc", want: []string{"memory:alloc_space:bytes:space:bytes", "memory:alloc_objects:count:space:bytes"}},
		{in: "lock", want: []string{"mutex:delay:nanoseconds:contentions:count", "mutex:contentions:count:contentions:count"}},
		{in: "goroutines", want: []string{"goroutine:goroutine:count:goroutine:count"}},
		{in: "memory:inuse_space:bytes:space:bytes", want: []string{"memory:inuse_space:bytes:space:bytes"}},
		{in: "custom:x:y:z:w", want: []string{"custom:x:y:z:w"}},
		{in: "cpux", wantErr: "want an alias"},
		{in: "a::b:c:d", wantErr: "part 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ids, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range ids {
				got = append(got, id.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAliasRoundTrip(t *testing.T) {
	for _, a := range aliases {
		id, err := ParseID(a.id)
		if err != nil {
			t.Fatal(err)
		}
		if id.Alias() != a.alias {
			t.Errorf("Alias(%s) = %s, want %s", a.id, id.Alias(), a.alias)
		}
	}
	id, _ := ParseID("custom:x:y:z:w")
	if id.Alias() != "custom:x:y:z:w" {
		t.Errorf("unaliased ID should print in full, got %s", id.Alias())
	}
}

func TestParseListDedup(t *testing.T) {
	ids, err := ParseList([]string{"cpu,alloc", "alloc_space", "process_cpu:cpu:nanoseconds:cpu:nanoseconds"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("got %d ids, want 3: %v", len(ids), ids)
	}
}

func TestKind(t *testing.T) {
	tests := map[string]Kind{"cpu": KindCPU, "alloc_space": KindAlloc, "mutex_count": KindLock, "block_delay": KindBlock, "inuse_space": KindInuse, "goroutines": KindGoroutine}
	for alias, want := range tests {
		ids, _ := Parse(alias)
		if got := ids[0].Kind(); got != want {
			t.Errorf("%s: Kind = %s, want %s", alias, got, want)
		}
	}
}
