package report

import (
	"encoding/json"
	"io"

	"github.com/profdiff/profdiff/pkg/diff"
)

// JSON writes the result as indented JSON, following the versioned schema in
// docs/json-schema.md (schema_version, currently diff.ResultSchemaVersion).
// Non-finite numbers are written as null (see diff.Finding.MarshalJSON).
// Every listed finding is in its series and, again, nested under its cause
// (causes[].series[].findings); a result built without causes gets them.
func JSON(w io.Writer, r *diff.Result) error {
	if r.Causes == nil {
		c := *r
		c.Causes = diff.CausesOf(r)
		c.Summary.Causes = diff.CountCauses(c.Causes)
		r = &c
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
