// Package pyroscope pulls profiles from Grafana Pyroscope into profdiff
// snapshots.
//
// It is a thin layer over Pyroscope's own generated Connect client
// (querier.v1.QuerierService from github.com/grafana/pyroscope/api): it lists
// services (LabelValues of service_name) and profile types (ProfileTypes),
// and fetches one merged profile per (service, profile type, time window)
// with SelectMergeProfile, turning each into a window of a baseline.Series.
// Per-window profiles, not one merged over the whole range, are what lets the
// comparison tell a regression from window-to-window noise.
//
// What the layer adds is what a CI gate needs from a remote server:
//
//   - Bounded concurrency (WithConcurrency), a timeout per attempt
//     (WithCallTimeout), and retries with exponential backoff and jitter on
//     transient failures only: no response, HTTP 429, 5xx, or Connect codes
//     unavailable, resource_exhausted, aborted and deadline_exceeded. A
//     request the server refused (400, 401, 403, 404) is never repeated.
//   - Authentication: basic auth, a bearer token and a tenant
//     (X-Scope-OrgID), from options or the environment (WithAuthFromEnv:
//     PROFDIFF_PYROSCOPE_BASIC_AUTH_USER, _BASIC_AUTH_PASSWORD,
//     _BEARER_TOKEN, _TENANT_ID, each falling back to the same name without
//     the PROFDIFF_ prefix). Credentials never appear in an error or a log
//     line: URLs are printed without them and server text is redacted.
//   - Typed errors: *Error with its Connect code and HTTP status (and
//     errors.Is for ErrUnreachable, ErrUnauthorized, ErrTimeout),
//     *UnknownProfileTypeError listing the types the server has, and
//     *WaitError. No data for a (service, type) is not an error: Collect
//     leaves the series out and lists it in Result.Missing, and a comparison
//     against a baseline that has it is inconclusive.
//   - Waiting for data (WaitForData, WaitForRange): Pyroscope makes uploads
//     queryable only a moment after they arrive.
//
// It works unchanged against Grafana Pyroscope v1.x and v2.x and profdiff's
// embedded server: it uses only Connect calls whose shapes are the same in
// all of them (see shared/pyroscope-samples), always sends a time range
// (label queries without one are refused), never uses the HTTP
// /pyroscope/label-values endpoint (unusable for labels other than __name__
// on v1.21 and v2.2), and selects only by service_name and the user's own
// labels (v1 renames the SDK's dotted labels, v2 hides them).
//
// The wire format is Connect with binary protobuf by default, or Connect-JSON
// with WithConnectJSON; real servers accept both.
package pyroscope
