package profstore

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads the time forms the legacy HTTP API (/pyroscope/render,
// /ingest) accepts: "now", "now-1h", "now-5m30s", "now+1d", Unix time as
// digits (10 digits or fewer: seconds, 13: ms, 16: µs, 19: ns), YYYYMMDD,
// and — beyond the real server — RFC 3339. Offsets use s, m/min, h, d, w,
// M/mon (30 days) and y (365 days).
//
// Unlike the real server, which silently reads anything it does not
// understand as "now", ParseTime rejects it: a test server that quietly
// guesses would hide client bugs.
func ParseTime(s string, now time.Time) (time.Time, error) {
	orig := s
	s = strings.NewReplacer("_", "", ",", "", " ", "").Replace(strings.TrimSpace(s))
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if isDigits(s) {
		return parseUnixDigits(s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if !strings.HasPrefix(s, "now") {
		return time.Time{}, fmt.Errorf("cannot parse time %q: want now[-offset], Unix time or RFC 3339", orig)
	}
	rest := s[len("now"):]
	if rest == "" {
		return now, nil
	}
	sign := time.Duration(1)
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return time.Time{}, fmt.Errorf("cannot parse time %q: offset must start with + or -", orig)
	}
	d, err := parseOffset(rest[1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse time %q: %w", orig, err)
	}
	return now.Add(sign * d), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func parseUnixDigits(s string) (time.Time, error) {
	if len(s) == 8 {
		if t, err := time.Parse("20060102", s); err == nil && t.Year() > 1900 {
			return t, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse time %q: %w", s, err)
	}
	switch len(s) {
	case 13:
		return time.UnixMilli(v), nil
	case 16:
		return time.UnixMicro(v), nil
	case 19:
		return time.Unix(0, v), nil
	default:
		if len(s) > 11 {
			return time.Time{}, fmt.Errorf("cannot parse time %q: %d digits is neither s, ms, µs nor ns", s, len(s))
		}
		return time.Unix(v, 0), nil
	}
}

// parseOffset reads a sequence of <number><unit> pairs such as "1h30m".
func parseOffset(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing offset")
	}
	var total time.Duration
	whole := s
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("offset %q: expected a number", s)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > 1e9 {
			return 0, fmt.Errorf("offset %q: number out of range", s)
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		unit, ok := offsetUnit(s[:j])
		if !ok {
			return 0, fmt.Errorf("offset unit %q: want s, m, h, d, w, M or y", s[:j])
		}
		s = s[j:]
		// time.Duration is int64 nanoseconds, about 292 years: a longer
		// offset would wrap around to a time in the wrong century.
		if time.Duration(n) > (math.MaxInt64-total)/unit {
			return 0, fmt.Errorf("offset %q: longer than the %d years a time offset can hold", whole, int64(math.MaxInt64/int64(365*24*time.Hour)))
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

func offsetUnit(u string) (time.Duration, bool) {
	const day = 24 * time.Hour
	switch {
	case u == "":
		return 0, false
	case strings.HasPrefix(u, "s"):
		return time.Second, true
	case strings.HasPrefix(u, "mon") || strings.HasPrefix(u, "M"):
		return 30 * day, true
	case strings.HasPrefix(u, "m"):
		return time.Minute, true
	case strings.HasPrefix(u, "h"):
		return time.Hour, true
	case strings.HasPrefix(u, "d"):
		return day, true
	case strings.HasPrefix(u, "w"):
		return 7 * day, true
	case strings.HasPrefix(u, "y"):
		return 365 * day, true
	}
	return 0, false
}
