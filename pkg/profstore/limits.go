package profstore

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Limits modelled on real Pyroscope's per-tenant defaults
// (validation.max_label_name_length, max_label_value_length,
// max_label_names_per_series), answered with its status codes: 400 for a
// profile whose labels break them. A series cap and a maximum query length
// keep the server's memory and a query's work bounded.
const (
	DefaultMaxLabelNameLength     = 1024
	DefaultMaxLabelValueLength    = 2048
	DefaultMaxLabelNamesPerSeries = 30
	// DefaultMaxSeries bounds the label sets held at once. Seven services
	// with a dozen profile types and a few label values each use a few
	// hundred.
	DefaultMaxSeries = 10000
	// DefaultMaxQueryLength is the longest time range one query may span.
	// profdiff queries one upload window at a time; a day is far more than
	// the default retention keeps.
	DefaultMaxQueryLength = 24 * time.Hour
	// DefaultReadTimeout and DefaultIdleTimeout bound how long a slow or
	// idle connection is held.
	DefaultReadTimeout = 30 * time.Second
	DefaultIdleTimeout = 60 * time.Second
)

// maxStatsEntries bounds the per-service, per-type upload counters, which
// outlive the uploads they count: past it, the counters of a service with
// no data left are dropped, oldest first.
const maxStatsEntries = 4096

// statsEntryBytes approximates the memory of one counter beyond its names.
const statsEntryBytes = 96

// labelsBytes is the memory a label set is charged: its strings and a
// fixed cost per label.
func labelsBytes(ls labels.Labels) int64 {
	var n int64
	ls.Range(func(l labels.Label) { n += int64(len(l.Name)+len(l.Value)) + 32 })
	return n
}

// validLabelName is Pyroscope's rule: a letter or '_' first, then letters,
// digits, '_' or '.' (the SDK's otel.* labels have dots).
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && (c >= '0' && c <= '9' || c == '.'))
		if !ok {
			return false
		}
	}
	return true
}

// checkLabels applies the label limits to the labels a client gave (before
// the server adds its own), with the real server's wording.
func (o Options) checkLabels(base map[string]string) error {
	if len(base) > o.MaxLabelNamesPerSeries {
		return fmt.Errorf("profile series '%s' has %d label names; limit %d", shortLabels(base), len(base), o.MaxLabelNamesPerSeries)
	}
	for k, v := range base {
		switch {
		case !validLabelName(k) && k != labelName:
			return fmt.Errorf("profile with labels '%s' has invalid label name: '%s'", shortLabels(base), clip(k))
		case len(k) > o.MaxLabelNameLength:
			return fmt.Errorf("profile with labels '%s' has label name too long: '%s'", shortLabels(base), clip(k))
		case len(v) > o.MaxLabelValueLength:
			return fmt.Errorf("profile with labels '%s' has label value too long: '%s'", shortLabels(base), clip(v))
		}
	}
	return nil
}

// errTooManySeries answers an upload that would create a series past the
// cap; like the real server's per-tenant series limit it is 429.
type errTooManySeries struct{ max int }

func (e errTooManySeries) Error() string {
	return fmt.Sprintf("per-tenant series limit of %d exceeded; drop labels with many values or wait for old series to expire", e.max)
}

func (errTooManySeries) status() int { return http.StatusTooManyRequests }

// checkQueryLength refuses a time range (Unix ms) longer than the limit.
func checkQueryLength(startMs, endMs int64, limit time.Duration) error {
	if limit <= 0 || endMs-startMs <= limit.Milliseconds() {
		return nil
	}
	return invalid(fmt.Errorf("the query time range exceeds the limit (query length: %s, limit: %s)", time.Duration(endMs-startMs)*time.Millisecond, limit))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func shortLabels(m map[string]string) string {
	return clip(fmt.Sprint(m))
}
