// Package timeparse reads the points in time profdiff's command line accepts
// for --from and --until: RFC 3339 ("2026-11-26T16:00:00Z"), Unix seconds
// ("1795710470"), "now", and "now" plus or minus a duration ("now-5m",
// "now-1h30m", "now-2d").
//
// These are the forms Grafana and Pyroscope's own UI accept, so a time range
// can be copied from a dashboard URL or typed by hand. Parsing is separate
// from the clock: every relative form is resolved against the now the caller
// passes, so the two ends of one range are resolved against the same instant
// and tests are deterministic.
package timeparse

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// maxUnixSeconds is the largest Unix time accepted (year 5138). Larger
// integers are almost certainly milliseconds or nanoseconds pasted from a
// Pyroscope or Grafana URL, and are refused with that hint rather than read
// as a date thousands of years away.
const maxUnixSeconds = 1e11

// Forms lists the accepted forms, for help texts and error messages.
const Forms = `RFC 3339 (2026-11-26T16:00:00Z), Unix seconds (1795710470), "now", or "now-5m" / "now-1h30m" / "now-2d"`

// Parse resolves s to a point in time, reading relative forms against now.
// The result keeps now's location for relative forms and UTC otherwise.
func Parse(s string, now time.Time) (time.Time, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return time.Time{}, fmt.Errorf("empty time: want %s", Forms)
	}
	if rest, ok := strings.CutPrefix(t, "now"); ok {
		if rest == "" {
			return now, nil
		}
		sign := rest[0]
		if sign != '-' && sign != '+' {
			return time.Time{}, fmt.Errorf("time %q: after \"now\" want + or - and a duration, e.g. now-5m", s)
		}
		d, err := ParseDuration(rest[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %v", s, err)
		}
		if sign == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if isNumber(t) {
		return parseUnix(s, t)
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if v, err := time.Parse(layout, t); err == nil {
			return v.UTC(), nil
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05", t); err == nil {
		return time.Time{}, fmt.Errorf("time %q has no time zone: add Z or an offset such as +01:00", s)
	}
	return time.Time{}, fmt.Errorf("time %q: want %s", s, Forms)
}

// ParseDuration reads a positive duration in Go syntax ("1h30m", "1.5s",
// "500ms") or Prometheus syntax, which adds days, weeks and years ("2d",
// "1w", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("missing duration")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return d, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 30s, 5m, 1h30m or 2d", s)
	}
	return time.Duration(d), nil
}

func isNumber(s string) bool {
	dot := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return true
}

func parseUnix(orig, t string) (time.Time, error) {
	sec, frac, _ := strings.Cut(t, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n >= maxUnixSeconds {
		return time.Time{}, fmt.Errorf("time %q is too large for Unix seconds (milliseconds or nanoseconds?): give seconds, e.g. %d", orig, time.Now().Unix())
	}
	var nsec int64
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: bad fraction", orig)
		}
		nsec = int64(math.Round(f * 1e9))
	}
	return time.Unix(n, nsec).UTC(), nil
}
