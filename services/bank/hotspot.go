package bank

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// Hotspot describes one deliberate hot spot of a service: the injection name
// that scales it, the service it lives in, the function as a pprof profile names
// it, and the profile in which it shows best. The harness and calibration tools
// use this table to check that a gate names the right function.
type Hotspot struct {
	// Inject is the name used in --inject / BANK_INJECT, e.g. "fraud.rules".
	Inject string
	// Service is the service that runs the hot spot, e.g. "bank-fraud-service".
	Service string
	// Function is the full function name exactly as pprof reports it.
	Function string
	// Profile is the profile type alias (docs/cli.md, "Profile types") in
	// which the hot spot is meant to be judged: "cpu", "alloc_space" or
	// "mutex_delay".
	Profile string
	// Description says in a few words what the function does.
	Description string
	// KnockOn names functions whose cost the hot spot's extra work raises
	// without calling them: the garbage collector's workers for a hot spot
	// that allocates, the other holders of a lock it holds. A regression
	// of one of them in an injected run is a true effect, not a false
	// alarm. A trailing "*" matches any suffix.
	KnockOn []string
}

// gcWorkers are the runtime's garbage collection functions, which grow with
// any hot spot that allocates, and its scavenger, which returns the larger
// heap's freed pages to the OS (madvise).
var gcWorkers = []string{"runtime.gcBgMarkWorker*", "runtime.gcDrain*", "runtime.scanobject", "runtime.greyobject",
	"runtime.findObject", "runtime.markBits*", "runtime.(*gcWork)*", "runtime.bgsweep", "runtime.sweepone",
	"runtime.(*mspan).sweep", "runtime.(*mheap).alloc*", "runtime.gcMarkDone*", "runtime.markroot*", "runtime.scanblock", "runtime.scanstack",
	"runtime.bgscavenge", "runtime.(*pageAlloc).scavenge*", "runtime.(*scavengerState)*", "runtime.sysUnused*", "runtime.madvise"}

// KnockOnOf reports whether fn is one of the hot spot's knock-on functions.
func (h Hotspot) KnockOnOf(fn string) bool {
	for _, p := range h.KnockOn {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(fn, prefix) || p == fn {
			return true
		}
	}
	return false
}

const pkgPath = "github.com/profdiff/profdiff/services/bank"

// Hotspots lists every hot spot, one entry per injection name. The function
// names are proven against real in-process profiles by the package tests.
var Hotspots = []Hotspot{
	{Inject: "gateway.json", Service: ServiceGateway, Function: pkgPath + ".encodeAggregate", Profile: "cpu",
		Description: "JSON decoding of downstream responses and encoding of the aggregated response"},
	{Inject: "order.batch", Service: ServiceOrder, Function: pkgPath + ".(*orderBook).processOrders", Profile: "mutex_delay",
		Description: "order batch pricing done under one coarse lock",
		// The demand-decay job takes the same lock and waits longer.
		KnockOn: []string{pkgPath + ".(*orderBook).decayDemand", pkgPath + ".(*Server).startJobs.func*"}},
	{Inject: "payment.state", Service: ServicePayment, Function: pkgPath + ".(*paymentLedger).settle", Profile: "mutex_delay",
		Description: "settlement against the shared payment ledger under its lock"},
	{Inject: "fraud.rules", Service: ServiceFraud, Function: pkgPath + ".matchFraudRules", Profile: "cpu",
		Description: "fraud rules matched with regular expressions compiled inside the loop", KnockOn: gcWorkers},
	{Inject: "fraud.score", Service: ServiceFraud, Function: pkgPath + ".scoreStructuring", Profile: "cpu",
		Description: "recursive search for structured (split) payments"},
	{Inject: "account.balance", Service: ServiceAccount, Function: pkgPath + ".(*accountStore).applyBalanceChange", Profile: "mutex_delay",
		Description: "balance update, history and interest accrual under the store lock"},
	{Inject: "loan.amortize", Service: ServiceLoan, Function: pkgPath + ".amortizationSchedule", Profile: "cpu",
		Description: "amortization schedules for the quoted rate and the stress scenarios"},
	{Inject: "notification.template", Service: ServiceNotification, Function: pkgPath + ".renderNotification", Profile: "alloc_space",
		Description: "template rendering of every locale variant, allocating heavily", KnockOn: gcWorkers},
}

// HotspotByInject returns the hot spot with the given injection name.
func HotspotByInject(name string) (Hotspot, bool) {
	for _, h := range Hotspots {
		if h.Inject == name {
			return h, true
		}
	}
	return Hotspot{}, false
}

// MaxInjectFactor bounds an injection factor. A factor is a demo knob, not a
// way to make a service unusable: 20x the work of one hot spot is plenty.
const MaxInjectFactor = 20

// ParseInject parses an injection list "name=factor,..." such as
// "fraud.rules=1.3,loan.amortize=2". An empty string means no injection.
//
// Names must be hot spot names from [Hotspots]; each may appear once. A factor
// must be a finite number in (0, MaxInjectFactor]: 1.3 makes the hot spot do 30%
// more of its work, 1 changes nothing, and a factor below 1 removes work, which
// lets a demo show an improvement. Anything else is an error, so a typo in a
// deployment fails at start-up instead of silently measuring nothing.
func ParseInject(s string) (map[string]float64, error) {
	out := map[string]float64{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("inject %q: empty item", s)
		}
		name, val, ok := strings.Cut(item, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("inject %q: want name=factor", item)
		}
		if _, known := HotspotByInject(name); !known {
			return nil, fmt.Errorf("inject %q: unknown hot spot %q (known: %s)", item, name, strings.Join(InjectNames(), ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("inject %q: hot spot %q given twice", s, name)
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("inject %q: factor %q is not a number", item, val)
		}
		if f <= 0 || f > MaxInjectFactor {
			return nil, fmt.Errorf("inject %q: factor %v out of range (0, %d]", item, f, MaxInjectFactor)
		}
		out[name] = f
	}
	return out, nil
}

// FormatInject renders an injection map in the canonical "name=factor,..." form
// (sorted by name), the inverse of [ParseInject].
func FormatInject(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strconv.FormatFloat(m[n], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// InjectNames returns every valid injection name.
func InjectNames() []string {
	names := make([]string, len(Hotspots))
	for i, h := range Hotspots {
		names[i] = h.Inject
	}
	return names
}

// workScale turns a hot spot's base amount of work into the injected amount.
// Work is counted in whole units (a rule compiled, a schedule computed, a
// template rendered). Fractional factors are honoured exactly on average and
// deterministically: call k does floor((k+1)·n·f) − floor(k·n·f) units, so
// factor 1.3 with n=10 alternates 13 and 13 and factor 1.25 with n=2 gives
// 2,3,2,3. A nil *workScale means factor 1.
type workScale struct {
	factor float64
	calls  atomic.Uint64
}

func newWorkScale(f float64) *workScale {
	if f == 1 {
		return nil
	}
	return &workScale{factor: f}
}

// units returns how many units of work to do for a base of n units.
func (s *workScale) units(n int) int {
	if s == nil || n <= 0 {
		return n
	}
	k := float64(s.calls.Add(1) - 1)
	nf := float64(n) * s.factor
	u := int(math.Floor((k+1)*nf) - math.Floor(k*nf))
	if u < 1 {
		// Keep at least one unit so a factor below 1 still does the work that
		// gives the response its meaning.
		u = 1
	}
	return u
}
