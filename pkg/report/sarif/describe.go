package sarif

import (
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/report"
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

// Describe is the account of a cause that SARIF results and workflow
// annotations carry, so that an alert and its annotation read the same (see
// report.CauseSentence).
func Describe(r *diff.Result, c *diff.Cause) string { return report.CauseSentence(r, c) }
