package timeparse

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string // substring of the error; empty means success
	}{
		{in: "now", want: now},
		{in: " now ", want: now},
		{in: "now-5m", want: now.Add(-5 * time.Minute)},
		{in: "now-1h30m", want: now.Add(-90 * time.Minute)},
		{in: "now+30s", want: now.Add(30 * time.Second)},
		{in: "now-2d", want: now.Add(-48 * time.Hour)},
		{in: "now-1.5h", want: now.Add(-90 * time.Minute)},
		{in: "2026-11-26T15:00:00Z", want: now.Add(-time.Hour)},
		{in: "2026-11-26T17:00:00+02:00", want: now.Add(-time.Hour)},
		{in: "2026-11-26T15:00:00.25Z", want: now.Add(-time.Hour + 250*time.Millisecond)},
		{in: "1795710470", want: time.Unix(1795710470, 0).UTC()},
		{in: "1795710470.5", want: time.Unix(1795710470, 5e8).UTC()},
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "", err: "empty time"},
		{in: "now5m", err: "want + or -"},
		{in: "now-", err: "missing duration"},
		{in: "now-5x", err: `duration "5x"`},
		{in: "now--5m", err: "duration"},
		{in: "1795710470000", err: "milliseconds"},
		{in: "2026-11-26T15:00:00", err: "no time zone"},
		{in: "yesterday", err: "want RFC 3339"},
		{in: "-5", err: "want RFC 3339"},
		{in: ".5", err: "want RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10s", 10 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"-5m", 0, false},
		{"", 0, false},
		{"5", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParse checks that Parse never panics, that an accepted relative form
// stays within a plausible distance of now, and that an accepted absolute
// form round-trips through RFC 3339.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"now", "now-5m", "now-1h30m", "now+1d", "1795710470", "1795710470.25",
		"2026-11-26T15:00:00Z", "2026-11-26T15:00:00.123456789+05:30", "now-", "9999999999999999999", "now-1y2w3d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s, now)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if strings.HasPrefix(strings.TrimSpace(s), "now") {
			return
		}
		back, err := Parse(got.Format(time.RFC3339Nano), now)
		if err != nil {
			// Years outside 0000-9999 have no RFC 3339 form; nothing to check.
			if got.Year() < 0 || got.Year() > 9999 {
				return
			}
			t.Fatalf("Parse(%q) = %v, which does not parse back: %v", s, got, err)
		}
		if !back.Equal(got) {
			t.Fatalf("Parse(%q) = %v, round trip gives %v", s, got, back)
		}
	})
}
