package report

import (
	"encoding/json"
	"io"

	"github.com/profdiff/profdiff/pkg/diff"
)

// JSON writes the result as indented JSON, following the versioned schema in
// docs/json-schema.md (schema_version, currently diff.ResultSchemaVersion).
// Non-finite numbers are written as null (see diff.Finding.MarshalJSON).
func JSON(w io.Writer, r *diff.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
