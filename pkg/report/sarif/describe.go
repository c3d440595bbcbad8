package sarif

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// Failing reports whether a finding fails the run and so becomes a SARIF
// result or an error annotation: regressions and new hot paths. Improvements,
// unchanged and ignored functions are for the human-readable reports.
func Failing(f diff.Finding) bool {
	return f.Kind == diff.KindRegression || f.Kind == diff.KindNewHotPath
}

// TypeKind returns what the series' profile type measures (cpu, alloc, lock,
// ...), which picks the rule a regression falls under.
func TypeKind(s *diff.SeriesResult) profiletype.Kind {
	id, err := profiletype.ParseID(s.ProfileType)
	if err != nil {
		// An alias or a malformed ID: resolve the alias, else "other".
		ids, err := profiletype.Parse(s.Alias)
		if err != nil || len(ids) != 1 {
			return profiletype.KindOther
		}
		id = ids[0]
	}
	return id.Kind()
}

// TypeName is the short name of the series' profile type for messages: its
// alias when it has one.
func TypeName(s *diff.SeriesResult) string {
	if s.Alias != "" {
		return s.Alias
	}
	if id, err := profiletype.ParseID(s.ProfileType); err == nil {
		return id.Alias()
	}
	return s.ProfileType
}

// Describe is the one-line account of a failing finding used by SARIF results
// and GitHub annotations, so that an alert and its annotation read the same:
// the function, the service, the profile type, the size of the change with
// its interval, the test's p and q, and the callers whose cumulative
// regressions it explains (they get no result of their own).
func Describe(r *diff.Result, s *diff.SeriesResult, f diff.Finding) string {
	var b strings.Builder
	name := f.Function
	if f.RawName != "" {
		name = f.RawName
	}
	norm := ""
	if r != nil {
		norm = r.Normalization
	}
	if s != nil && s.Normalization != "" {
		norm = s.Normalization
	}
	switch f.Kind {
	case diff.KindNewHotPath:
		fmt.Fprintf(&b, "new hot path in %s (%s): %s (%s) is %s%s, absent from the baseline",
			s.Service, TypeName(s), name, measureWord(f.Measure), FormatValue(f.Current, norm, s.Unit), ValueSuffix(norm))
		if f.Baseline > 0 {
			fmt.Fprintf(&b, " (was %s)", FormatValue(f.Baseline, norm, s.Unit))
		}
	default:
		fmt.Fprintf(&b, "%s %s in %s: %s (%s) %s %s, %s → %s%s",
			TypeName(s), kindWord(f.Kind), s.Service, name, measureWord(f.Measure),
			verb(f.Change), FormatChange(f.Change),
			FormatValue(f.Baseline, norm, s.Unit), FormatValue(f.Current, norm, s.Unit), ValueSuffix(norm))
		if finite(f.ChangeLow) && finite(f.ChangeHigh) && (f.ChangeLow != 0 || f.ChangeHigh != 0) {
			fmt.Fprintf(&b, " (range %s to %s)", FormatChange(f.ChangeLow), FormatChange(f.ChangeHigh))
		}
	}
	fmt.Fprintf(&b, "; p=%s q=%s", FormatP(f.P), FormatP(f.Q))
	if f.Rule != "" {
		fmt.Fprintf(&b, "; rule: %s", f.Rule)
	}
	if s != nil {
		if names := diff.CallerNames(f, s.Explains(f)); len(names) > 0 {
			const show = 3
			if len(names) > show {
				names = append(names[:show:show], fmt.Sprintf("and %d more", len(names)-show))
			}
			fmt.Fprintf(&b, "; it also raises the cumulative value of its callers %s", strings.Join(names, ", "))
		}
	}
	return b.String()
}

// ValueSuffix is what follows a value, or a pair of values, to say what it
// is a share of: " of the profile" under share normalization, " of the rest
// of the profile" under rest normalization (the window's total less the
// function's own value), nothing for rates, whose unit FormatValue writes.
func ValueSuffix(normalization string) string {
	switch normalization {
	case "rate":
		return ""
	case "rest":
		return " of the rest of the profile"
	}
	return " of the profile"
}

func kindWord(k diff.Kind) string {
	switch k {
	case diff.KindRegression:
		return "regression"
	case diff.KindImprovement:
		return "improvement"
	case diff.KindIgnored:
		return "regression (ignored)"
	}
	return string(k)
}

func measureWord(m diff.Measure) string {
	if m == diff.Cumulative {
		return "cumulative"
	}
	return "self"
}

func verb(change float64) string {
	if change < 0 {
		return "shrank"
	}
	return "grew"
}

func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }

// FormatChange writes a relative change as a signed percentage: +34.2%.
func FormatChange(c float64) string {
	switch {
	case math.IsInf(c, 1):
		return "new"
	case math.IsInf(c, -1):
		return "gone"
	case math.IsNaN(c):
		return "n/a"
	}
	p := c * 100
	switch {
	case math.Abs(p) >= 100:
		return fmt.Sprintf("%+.0f%%", p)
	default:
		return fmt.Sprintf("%+.1f%%", p)
	}
}

// FormatP writes a p- or q-value with two significant digits, as benchstat
// does: precise enough to compare with alpha, no false precision.
func FormatP(p float64) string {
	if math.IsNaN(p) {
		return "n/a"
	}
	if p >= 0.1 {
		return strconv.FormatFloat(p, 'f', 2, 64)
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// FormatValue writes a finding's baseline or current value. Under "share"
// normalization values are fractions of the profile's total (0.031 is
// "3.10%", see ValueSuffix), under "rest" fractions of the rest of it (and
// can exceed 100%); under "rate" they are the sample unit per
// second and are scaled to a readable unit (nanoseconds per second as ms/s,
// bytes per second as KiB/s or MiB/s).
func FormatValue(v float64, normalization, unit string) string {
	if normalization != "rate" {
		return fmt.Sprintf("%.2f%%", v*100)
	}
	switch unit {
	case "nanoseconds":
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.3g s/s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.3g ms/s", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.3g µs/s", v/1e3)
		}
		return fmt.Sprintf("%.3g ns/s", v)
	case "bytes":
		switch {
		case v >= 1<<30:
			return fmt.Sprintf("%.3g GiB/s", v/(1<<30))
		case v >= 1<<20:
			return fmt.Sprintf("%.3g MiB/s", v/(1<<20))
		case v >= 1<<10:
			return fmt.Sprintf("%.3g KiB/s", v/(1<<10))
		}
		return fmt.Sprintf("%.3g B/s", v)
	case "", "count":
		return fmt.Sprintf("%.3g/s", v)
	}
	return fmt.Sprintf("%.3g %s/s", v, unit)
}
