package profstore

import (
	"cmp"
	"log/slog"
	"time"
)

// Defaults chosen for a test stack on a small machine: an hour is what the
// profdiff benchmark and a CI run look back over, and 512 MiB holds an hour of
// seven services uploading every profile type with room to spare.
const (
	DefaultAddr           = "127.0.0.1:0"
	DefaultRetention      = time.Hour
	DefaultMaxBytes       = 512 << 20
	DefaultMaxUploadBytes = 16 << 20
	// DefaultMaxDecompressedBytes bounds the size of a pprof after gunzip,
	// so a small "zip bomb" upload cannot exhaust memory.
	DefaultMaxDecompressedBytes = 64 << 20
)

// Options configure a Server. The zero value is usable: every field has a
// default suited to tests.
type Options struct {
	// Addr is the listen address for Run. It defaults to a random port on
	// the loopback interface, never to all interfaces, because the server
	// has no authentication by default.
	Addr string

	// Retention is how long an upload stays queryable, counted from the
	// moment it was received (not from the profile's own timestamp, so that
	// replayed old profiles stay visible for a test's lifetime).
	Retention time.Duration

	// MaxBytes caps the memory held by stored uploads. When an upload would
	// exceed it, the oldest uploads are evicted first.
	MaxBytes int64

	// MaxUploadBytes is the largest request body accepted by /ingest and
	// Push. Larger bodies get 413, as on the real server.
	MaxUploadBytes int64

	// MaxDecompressedBytes bounds one profile after decompression.
	MaxDecompressedBytes int64

	// QueryDelay hides an upload from queries until it is this old. The real
	// server makes data queryable about two seconds after upload; setting
	// this lets a client's wait-and-retry logic be tested.
	QueryDelay time.Duration

	// BasicAuthUser and BasicAuthPassword, when both are set, make every
	// endpoint except /ready require HTTP basic auth (401 otherwise).
	BasicAuthUser     string
	BasicAuthPassword string
	// BearerToken, when set, is accepted as "Authorization: Bearer <token>".
	// If both basic auth and a token are configured, either one passes.
	BearerToken string
	// RequireTenant makes requests without an X-Scope-OrgID header fail with
	// 401 "no org id", as a multi-tenant Pyroscope does. Data is not
	// partitioned by tenant.
	RequireTenant bool

	// Label and series limits (see DefaultMaxLabelNameLength and the
	// others); zero means the default.
	MaxLabelNameLength     int
	MaxLabelValueLength    int
	MaxLabelNamesPerSeries int
	MaxSeries              int
	// MaxQueryLength is the longest time range a query may span.
	MaxQueryLength time.Duration

	// IngestionRateMB and IngestionBurstSizeMB rate-limit uploads per
	// tenant (X-Scope-OrgID; "anonymous" without one) as real Pyroscope
	// does: a token bucket refilled at IngestionRateMB MiB a second and
	// holding at most IngestionBurstSizeMB MiB, each profile costing its
	// decompressed size plus its labels' bytes. An upload over it gets 429,
	// "push rate limit (4.0 MiB) exceeded while adding 2.1 MiB". Zero means
	// real Pyroscope's defaults, DefaultIngestionRateMB and
	// DefaultIngestionBurstSizeMB; a negative IngestionRateMB turns the
	// limit off.
	IngestionRateMB, IngestionBurstSizeMB float64
	// ReadTimeout bounds reading one request, IdleTimeout an idle
	// keep-alive connection.
	ReadTimeout, IdleTimeout time.Duration

	// Logger receives one line per rejected request and the start line of
	// the command. Nil discards.
	Logger *slog.Logger

	// Now is the clock; tests and benchmarks replace it. Nil means time.Now.
	Now func() time.Time
}

// withDefaults fills in the defaults. Most settings take theirs when zero
// or negative (positiveOr); Addr and Logger only when unset, and
// IngestionRateMB only when zero, since a negative rate turns the limit
// off (cmp.Or).
func (o Options) withDefaults() Options {
	o.Addr = cmp.Or(o.Addr, DefaultAddr)
	o.Retention = positiveOr(o.Retention, DefaultRetention)
	o.MaxBytes = positiveOr(o.MaxBytes, DefaultMaxBytes)
	o.MaxUploadBytes = positiveOr(o.MaxUploadBytes, DefaultMaxUploadBytes)
	o.MaxDecompressedBytes = positiveOr(o.MaxDecompressedBytes, DefaultMaxDecompressedBytes)
	o.MaxLabelNameLength = positiveOr(o.MaxLabelNameLength, DefaultMaxLabelNameLength)
	o.MaxLabelValueLength = positiveOr(o.MaxLabelValueLength, DefaultMaxLabelValueLength)
	o.MaxLabelNamesPerSeries = positiveOr(o.MaxLabelNamesPerSeries, DefaultMaxLabelNamesPerSeries)
	o.MaxSeries = positiveOr(o.MaxSeries, DefaultMaxSeries)
	o.IngestionRateMB = cmp.Or(o.IngestionRateMB, DefaultIngestionRateMB)
	o.IngestionBurstSizeMB = positiveOr(o.IngestionBurstSizeMB, DefaultIngestionBurstSizeMB)
	o.MaxQueryLength = positiveOr(o.MaxQueryLength, DefaultMaxQueryLength)
	o.ReadTimeout = positiveOr(o.ReadTimeout, DefaultReadTimeout)
	o.IdleTimeout = positiveOr(o.IdleTimeout, DefaultIdleTimeout)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	if o.Now == nil { // a func, which cmp.Or cannot compare
		o.Now = time.Now
	}
	return o
}

// positiveOr is v, or def when v is zero or negative.
func positiveOr[T int | int64 | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Option sets one field of the Options Run starts a server with.
type Option func(*Options)

// WithOptions replaces every setting with o, for a caller that already
// holds a whole Options (limits, timeouts, a clock); options after it
// still apply.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithAddr sets the listen address (Options.Addr); the default is a random
// loopback port.
func WithAddr(addr string) Option { return func(o *Options) { o.Addr = addr } }

// WithRetention sets how long an upload stays queryable (Options.Retention).
func WithRetention(d time.Duration) Option { return func(o *Options) { o.Retention = d } }

// WithMaxBytes caps the memory held by stored uploads (Options.MaxBytes).
func WithMaxBytes(n int64) Option { return func(o *Options) { o.MaxBytes = n } }

// WithMaxUploadBytes sets the largest request body accepted
// (Options.MaxUploadBytes).
func WithMaxUploadBytes(n int64) Option { return func(o *Options) { o.MaxUploadBytes = n } }

// WithQueryDelay hides each upload from queries until it is d old
// (Options.QueryDelay), like the real server's ingestion delay.
func WithQueryDelay(d time.Duration) Option { return func(o *Options) { o.QueryDelay = d } }

// WithBasicAuth requires HTTP basic auth with user and password on every
// endpoint but /ready.
func WithBasicAuth(user, password string) Option {
	return func(o *Options) { o.BasicAuthUser, o.BasicAuthPassword = user, password }
}

// WithBearerToken accepts "Authorization: Bearer <token>"; with
// WithBasicAuth too, either passes.
func WithBearerToken(token string) Option { return func(o *Options) { o.BearerToken = token } }

// WithRequireTenant makes requests without X-Scope-OrgID fail with 401
// (Options.RequireTenant).
func WithRequireTenant() Option { return func(o *Options) { o.RequireTenant = true } }

// WithIngestionLimit sets the per-tenant upload rate limit in MiB a second
// and its burst in MiB (Options.IngestionRateMB, IngestionBurstSizeMB); a
// negative rate turns the limit off.
func WithIngestionLimit(rateMB, burstMB float64) Option {
	return func(o *Options) { o.IngestionRateMB, o.IngestionBurstSizeMB = rateMB, burstMB }
}

// WithLogger receives one line per rejected request (Options.Logger).
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }
