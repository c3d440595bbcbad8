package baseline

import (
	"strings"
	"testing"
)

// TestJSONErrorsNameNoGoType: a manifest or series field of the wrong kind
// is named by its path in the file, with what it should hold, never by the
// Go type it decodes into.
func TestJSONErrorsNameNoGoType(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"schema version a number", `{"kind": "profdiff-snapshot", "schema_version": 1}`, "field schema_version: want a string, not number"},
		{"series an object", `{"kind": "profdiff-snapshot", "schema_version": "1.1", "series": {}}`, "field series: want a list, not object"},
		{"windows a string", `{"kind": "profdiff-snapshot", "schema_version": "1.1", "series": [{"windows": "8"}]}`, "field series.windows: want a whole number, not string"},
		{"labels a list", `{"kind": "profdiff-snapshot", "schema_version": "1.1", "meta": {"labels": []}}`, "field meta.labels: want an object, not array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeManifest([]byte(tt.manifest))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "baseline.") {
				t.Errorf("error %v, want one naming %q and no Go type", err, tt.want)
			}
		})
	}
	_, err := decodeSeries([]byte(`{"service": "s", "windows": [{"total": "x"}]}`))
	if err = jsonError(err); err == nil || !strings.Contains(err.Error(), "field windows.total: want a whole number, not string") {
		t.Errorf("series error %v", err)
	}
}
