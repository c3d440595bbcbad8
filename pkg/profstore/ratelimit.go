package profstore

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Real Pyroscope's per-tenant ingestion limits (its
// distributor.ingestion-rate-limit-mb and distributor.ingestion-burst-size-mb
// flags, ingestion_rate_mb and ingestion_burst_size_mb in its limits
// config): 4 MB/s, bursts of 2 MB, an MB being 1,048,576 bytes. A profile
// larger than the burst is refused however idle the tenant has been, so the
// burst must hold the largest single upload.
const (
	DefaultIngestionRateMB      = 4
	DefaultIngestionBurstSizeMB = 2
	bytesInMB                   = 1 << 20
)

// defaultTenant is the tenant of a request without X-Scope-OrgID, as on a
// Pyroscope without multi-tenancy.
const defaultTenant = "anonymous"

// maxRateTenants bounds the per-tenant limiters held at once; see allow.
const maxRateTenants = 1024

// ingestLimiter is the per-tenant token bucket: refilled at limit bytes a
// second, holding at most burst bytes. An upload costs what real
// Pyroscope charges a profile: its decompressed size plus the bytes of its
// series' label names and values. A refused upload costs nothing, so a
// client that waits and sends again gets through.
type ingestLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	tenants map[string]*rate.Limiter
}

// newIngestLimiter returns nil (no limit) for a negative rate.
func newIngestLimiter(rateMB, burstMB float64) *ingestLimiter {
	if rateMB < 0 {
		return nil
	}
	return &ingestLimiter{
		limit:   rate.Limit(rateMB * bytesInMB),
		burst:   int(burstMB * bytesInMB),
		tenants: make(map[string]*rate.Limiter),
	}
}

// allow takes cost bytes from tenant's bucket at now, or answers the real
// server's error (a 429) when there are not enough.
func (l *ingestLimiter) allow(tenant string, cost int64, now time.Time) error {
	if l == nil || cost <= 0 {
		return nil
	}
	if tenant == "" {
		tenant = defaultTenant
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.tenants[tenant]
	if lim == nil {
		if len(l.tenants) >= maxRateTenants {
			l.forget(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.tenants[tenant] = lim
	}
	if cost > math.MaxInt32 || !lim.AllowN(now, int(cost)) {
		return errRateLimited{limit: float64(l.limit), cost: cost}
	}
	return nil
}

// forget drops the limiters whose bucket is full again — a full bucket is
// what a new tenant gets, so forgetting one changes nothing — and, if
// every tenant has spent tokens recently, one of them, which then starts
// over with a full bucket.
func (l *ingestLimiter) forget(now time.Time) {
	for t, lim := range l.tenants {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.tenants, t)
		}
	}
	for t := range l.tenants {
		if len(l.tenants) < maxRateTenants {
			break
		}
		delete(l.tenants, t)
	}
}

// errRateLimited is real Pyroscope's answer to an upload over the rate:
// resource exhausted, which is HTTP 429, worded as its distributor words it.
type errRateLimited struct {
	limit float64 // bytes a second
	cost  int64
}

func (e errRateLimited) Error() string {
	return fmt.Sprintf("push rate limit (%s) exceeded while adding %s", iBytes(uint64(e.limit)), iBytes(uint64(e.cost)))
}

func (errRateLimited) status() int { return 429 }

// iBytes writes a byte count in binary units as the real server's message
// does (go-humanize's IBytes): "512 B", "2.1 MiB", "16 MiB" — one decimal
// below ten units, none from ten up.
func iBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1024))
	v := math.Floor(float64(n)/math.Pow(1024, e)*10+0.5) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[int(e)])
	}
	return fmt.Sprintf("%.0f %s", v, units[int(e)])
}

// tenantHeader names a request's tenant.
const tenantHeader = "X-Scope-OrgID"

// uploadCost is what one profile is charged against the rate: its
// decompressed (encoded) size and its series' label names and values, the
// profile name among them.
func uploadCost(profileSize int, base map[string]string, name string) int64 {
	n := int64(profileSize) + int64(len(labelName)+len(name))
	for k, v := range base {
		n += int64(len(k) + len(v))
	}
	return n
}
