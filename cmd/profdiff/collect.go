package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/pyroscope"
	"github.com/profdiff/profdiff/pkg/timeparse"
)

func init() {
	register(&command{name: "collect", summary: "pull profiles from Pyroscope into a snapshot directory", run: runCollect})
}

// pyroscopeFlags are the flags of the commands that read from Pyroscope:
// collect, and compare when it collects a side on the fly.
type pyroscopeFlags struct {
	url                    string
	services, types        []string
	from, until            string
	baseFrom, baseUntil    string // compare only
	window                 time.Duration
	selector, baseSelector string
	user, password, token  string
	tenant                 string
	timeout, wait          time.Duration
	concurrency            int
	allocRate              string
	fs                     *pflag.FlagSet
	now                    time.Time // one instant for every relative time
}

// profilecliNames are Grafana profilecli's names for settings profdiff
// already has (profilecli's client flags and its query command's), taken
// as synonyms so that a command line written for one works with the
// other: the profdiff name first.
var profilecliNames = []struct{ name, alias string }{
	{"pyroscope", "url"},
	{"until", "to"},
	{"selector", "query"},
	{"basic-auth-user", "username"},
	{"basic-auth-password", "password"},
	{"bearer-token", "token"},
	{"tenant", "tenant-id"},
}

// envURL is profilecli's environment variable for the server's URL; the
// credentials' (PROFILECLI_USERNAME, _PASSWORD, _TOKEN, _TENANT_ID) are
// read with the others by pyroscope.WithAuthFromEnv.
const envURL = "PROFILECLI_URL"

const pyroscopeUsage = `
Times (--from, --until): ` + timeparse.Forms + `.
Grafana profilecli's names work too: --url for --pyroscope, --query for
--selector, --to for --until, --tenant-id, --token, --username and --password,
and the environment variable PROFILECLI_URL when no URL flag is given.
Credentials: prefer the environment to flags, which other users of the machine
can see: PROFDIFF_PYROSCOPE_BASIC_AUTH_USER, PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD,
PROFDIFF_PYROSCOPE_BEARER_TOKEN, PROFDIFF_PYROSCOPE_TENANT_ID (each falls back to
the same name without PROFDIFF_, then to profilecli's PROFILECLI_USERNAME,
PROFILECLI_PASSWORD, PROFILECLI_TOKEN, PROFILECLI_TENANT_ID). Flags override the
environment.
Window: one window per upload of the services; when --window is not given it
is the baseline's, or the upload interval measured from the data, or 15s
(pyroscope-go's default) when the data cannot tell. The report says which.
`

// addPyroscopeFlags registers the Pyroscope flags on fs; compare also gets
// the --baseline-* flags that collect the baseline side.
func addPyroscopeFlags(fs *pflag.FlagSet, compare bool) *pyroscopeFlags {
	p := &pyroscopeFlags{fs: fs}
	// profilecli's names have storage of their own, read back by resolveNames.
	fs.StringVar(&p.url, "pyroscope", "", "Pyroscope base URL, e.g. http://127.0.0.1:4040 (profilecli: --url; env PROFILECLI_URL)")
	fs.String("url", "", "the same as --pyroscope, under profilecli's name")
	fs.StringArrayVar(&p.services, "service", nil, "service to collect (repeatable; default: every service with data in the range)")
	fs.StringArrayVar(&p.types, "type", nil, "profile type: alias, group or full ID (repeatable; default cpu, alloc, lock)")
	fs.StringVar(&p.from, "from", "", "start of the range")
	fs.StringVar(&p.until, "until", "now", "end of the range (profilecli: --to)")
	fs.String("to", "now", "the same as --until, under profilecli's name")
	if compare {
		fs.StringVar(&p.baseFrom, "baseline-from", "", "collect the baseline from Pyroscope too, starting here (default with --baseline-selector: --from)")
		fs.StringVar(&p.baseUntil, "baseline-until", "", "end of the baseline range (default: --baseline-from plus the length of the current range)")
		fs.StringVar(&p.baseSelector, "baseline-selector", "", "label selector of the baseline side (default: --selector); without --baseline-from, over the current range: a duet by label")
	}
	fs.DurationVar(&p.window, "window", 0, "window length, the services' upload interval or a multiple of it (default: the baseline's, else measured from the data, else 15s)")
	fs.StringVar(&p.selector, "selector", "", `extra label matchers, e.g. '{version="v2",env=~"prod|staging"}' (profilecli: --query)`)
	fs.String("query", "", "the same as --selector, under profilecli's name")
	fs.StringVar(&p.user, "basic-auth-user", "", "basic auth user (prefer the environment; profilecli: --username)")
	fs.String("username", "", "the same as --basic-auth-user, under profilecli's name")
	fs.StringVar(&p.password, "basic-auth-password", "", "basic auth password (prefer the environment; profilecli: --password)")
	fs.String("password", "", "the same as --basic-auth-password, under profilecli's name")
	fs.StringVar(&p.token, "bearer-token", "", "bearer token (prefer the environment; profilecli: --token)")
	fs.String("token", "", "the same as --bearer-token, under profilecli's name")
	fs.StringVar(&p.tenant, "tenant", "", "tenant ID, sent as X-Scope-OrgID (profilecli: --tenant-id)")
	fs.String("tenant-id", "", "the same as --tenant, under profilecli's name")
	fs.DurationVar(&p.wait, "wait", 0, "wait up to this long for the last window's data to arrive before collecting")
	fs.DurationVar(&p.timeout, "timeout", 5*time.Minute, "give up on Pyroscope after this long")
	fs.IntVar(&p.concurrency, "concurrency", pyroscope.DefaultConcurrency, "queries in flight")
	fs.StringVar(&p.allocRate, "alloc-sample-rate", "", "the services' allocation sampling rate (Go's MemProfileRate, pyroscope-go's), e.g. 512k or 64k: how many objects a sampled allocation stands for (default: the merged profile's period)")
	return p
}

// resolveNames folds profilecli's names into profdiff's after parsing: a
// synonym given alone sets the setting; both names given with different
// values is an error rather than a silent choice.
func (p *pyroscopeFlags) resolveNames() error {
	for _, n := range profilecliNames {
		a := p.fs.Lookup(n.alias)
		if a == nil || !a.Changed {
			continue
		}
		m := p.fs.Lookup(n.name)
		if m.Changed && m.Value.String() != a.Value.String() {
			return fmt.Errorf("--%s and --%s are one setting (--%s is profilecli's name for it) and were given different values; give one", n.name, n.alias, n.alias)
		}
		if err := p.fs.Set(n.name, a.Value.String()); err != nil {
			return fmt.Errorf("--%s: %w", n.alias, err)
		}
	}
	if p.window < 0 {
		return fmt.Errorf("--window %s: want a positive duration such as 15s", p.window)
	}
	return nil
}

// urlFromEnv fills in the URL from PROFILECLI_URL when no flag gave one;
// it is called only where a URL is needed, so that a compare of two
// directories does not turn into a collection because the variable is set.
func (p *pyroscopeFlags) urlFromEnv() {
	if p.url == "" {
		p.url = os.Getenv(envURL)
	}
}

// client builds the Pyroscope client: environment first, flags over it.
func (p *pyroscopeFlags) client() (*pyroscope.Client, error) {
	opts := []pyroscope.Option{pyroscope.WithAuthFromEnv(), pyroscope.WithConcurrency(p.concurrency)}
	switch {
	case p.token != "" && (p.user != "" || p.password != ""):
		return nil, errors.New("a bearer token (--bearer-token, --token) and basic auth (--basic-auth-user, --username, --basic-auth-password, --password) exclude each other; give one")
	case p.token != "":
		opts = append(opts, pyroscope.WithBearerToken(p.token))
	case p.user != "" || p.password != "":
		user, pass := p.user, p.password
		// A user on the command line with the password in the environment.
		if pass == "" {
			for _, n := range pyroscope.EnvBasicAuthPassword {
				if pass = os.Getenv(n); pass != "" {
					break
				}
			}
		}
		opts = append(opts, pyroscope.WithBasicAuth(user, pass))
	}
	if p.tenant != "" {
		opts = append(opts, pyroscope.WithTenant(p.tenant))
	}
	if p.allocRate != "" {
		n, err := parseBytes(p.allocRate)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--alloc-sample-rate %q: want a byte count like 512k, 64k or 65536", p.allocRate)
		}
		opts = append(opts, pyroscope.WithAllocSampleRate(n))
	}
	return pyroscope.New(p.url, opts...)
}

// query builds the Query of one side from its range and selector flags.
func (p *pyroscopeFlags) query(fromFlag, from, untilFlag, until, selFlag, sel string) (pyroscope.Query, error) {
	q := pyroscope.Query{Window: p.window, Services: splitList(p.services)}
	if from == "" {
		return q, fmt.Errorf("--%s is required with --pyroscope", fromFlag)
	}
	var err error
	if q.From, err = timeparse.Parse(from, p.now); err != nil {
		return q, fmt.Errorf("--%s: %w", fromFlag, err)
	}
	if q.Until, err = timeparse.Parse(until, p.now); err != nil {
		return q, fmt.Errorf("--%s: %w", untilFlag, err)
	}
	if q.Selector, err = pyroscope.ParseSelector(sel); err != nil {
		return q, fmt.Errorf("--%s: %w", selFlag, err)
	}
	if len(p.types) > 0 {
		if q.Types, err = profiletype.ParseList(p.types); err != nil {
			return q, fmt.Errorf("--type: %w", err)
		}
	}
	return q, nil
}

// collect runs one query (waiting first if asked), reporting missing
// series on stderr.
func (p *pyroscopeFlags) collect(ctx context.Context, c *pyroscope.Client, q pyroscope.Query, side string, stderr io.Writer) (*pyroscope.Result, error) {
	if p.wait > 0 {
		if err := c.WaitForRange(ctx, q, p.wait); err != nil {
			var we *pyroscope.WaitError
			if !errors.As(err, &we) {
				return nil, err
			}
			// Collect what is there: the missing part shows in the result.
			fmt.Fprintf(stderr, "profdiff: %s: %s\n", side, oneLine(err.Error()))
		}
	}
	res, err := c.Collect(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, m := range res.Missing {
		fmt.Fprintf(stderr, "profdiff: %s: no data for %s: %s\n", side, m.SeriesKey, m.Reason)
	}
	return res, nil
}

// context returns the context of one run: bounded by --timeout and
// cancelled by Ctrl-C.
func (p *pyroscopeFlags) context() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	return ctx, func() { cancel(); stop() }
}

// compareSides loads or collects the two sides of a comparison. With
// --pyroscope the current side is collected over --from/--until; the
// baseline side is the --baseline directory or collected too: over
// --baseline-from/--baseline-until (before and after a deploy), or, with
// only --baseline-selector, over the current range (a duet by label: the
// two versions measured over the same windows). A side collected against a
// baseline directory asks for the baseline's services and types, so that
// what the baseline has and the current run lacks is named as
// inconclusive. notes say which window was used and why.
func (p *pyroscopeFlags) compareSides(basePath, curPath string, stderr io.Writer) (base, cur *baseline.Snapshot, notes []string, err error) {
	if p.url == "" && curPath == "" && (p.from != "" || p.baseFrom != "") {
		p.urlFromEnv() // a collecting form without a URL flag
	}
	collecting := p.url != ""
	byLabel := p.fs.Changed("baseline-selector") && p.baseFrom == "" && basePath == ""
	switch {
	case !collecting && curPath == "" && p.from != "":
		return nil, nil, nil, errors.New("--from collects from Pyroscope: give its URL with --pyroscope (or --url, or PROFILECLI_URL in the environment)")
	case !collecting && (p.baseFrom != "" || p.fs.Changed("baseline-selector")):
		return nil, nil, nil, errors.New("--baseline-from and --baseline-selector need --pyroscope (or --url, or PROFILECLI_URL)")
	case !collecting && (basePath == "" || curPath == ""):
		return nil, nil, nil, errors.New("--baseline and --current are required (or --pyroscope with --from to collect the current side)")
	case collecting && curPath != "":
		return nil, nil, nil, errors.New("--current and --pyroscope exclude each other: the current side is either a directory or collected")
	case collecting && basePath != "" && (p.baseFrom != "" || p.fs.Changed("baseline-selector")):
		return nil, nil, nil, errors.New("with --pyroscope give either --baseline DIR or the baseline's range or selector (--baseline-from, --baseline-selector), not both")
	case collecting && basePath == "" && p.baseFrom == "" && !byLabel:
		return nil, nil, nil, errors.New("with --pyroscope give --baseline DIR, or --baseline-selector (the same range, another version), or --baseline-from (an earlier range)")
	}
	if !collecting {
		base, cur, err := loadSnapshots(basePath, curPath)
		return base, cur, nil, err
	}

	p.now = time.Now()
	curQ, err := p.query("from", p.from, "until", p.until, "selector", p.selector)
	if err != nil {
		return nil, nil, nil, err
	}
	var baseQ pyroscope.Query
	if basePath != "" {
		if base, err = baseline.Load(basePath); err != nil {
			return nil, nil, nil, fmt.Errorf("baseline: %w", err)
		}
		if len(curQ.Services) == 0 {
			curQ.Services = base.Services()
		}
		if len(curQ.Types) == 0 {
			curQ.Types = seriesTypes(base)
		}
	} else {
		baseSel := p.baseSelector
		if !p.fs.Changed("baseline-selector") {
			baseSel = p.selector
		}
		baseFrom, baseUntil := p.baseFrom, p.baseUntil
		fromFlag, untilFlag := "baseline-from", "baseline-until"
		switch {
		case byLabel:
			// The same windows as the current side: only the selector differs.
			baseFrom, baseUntil = p.from, p.until
			fromFlag, untilFlag = "from", "until"
		case baseUntil == "":
			from, _ := timeparse.Parse(p.baseFrom, p.now)
			baseUntil = from.Add(curQ.Until.Sub(curQ.From)).Format(time.RFC3339Nano)
		}
		if baseQ, err = p.query(fromFlag, baseFrom, untilFlag, baseUntil, "baseline-selector", baseSel); err != nil {
			return nil, nil, nil, err
		}
		if byLabel && baseQ.Selector.String() == curQ.Selector.String() {
			return nil, nil, nil, fmt.Errorf("--baseline-selector %q is the same as --selector over the same range: both sides would be the same profiles; select the base version, e.g. --baseline-selector '{version=\"base\"}'", baseSel)
		}
	}

	c, err := p.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := p.context()
	defer cancel()
	var baseWindow time.Duration
	if base != nil {
		baseWindow = time.Duration(base.Meta.Window)
	}
	detectQ := curQ
	if base == nil {
		detectQ = baseQ // the baseline side's services and types are what both sides ask
	}
	w, why, err := p.resolveWindow(ctx, c, detectQ, baseWindow)
	if err != nil {
		return nil, nil, nil, err
	}
	curQ.Window, baseQ.Window = w, w
	notes = append(notes, why)
	if base == nil {
		res, err := p.collect(ctx, c, baseQ, "baseline", stderr)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("baseline: %w", err)
		}
		base = res.Snapshot
		if len(base.Series) == 0 {
			return nil, nil, nil, fmt.Errorf("baseline: Pyroscope at %s has no profiles in %s .. %s for the services, types and selector given",
				c.URL(), baseQ.From.Format(time.RFC3339), baseQ.Until.Format(time.RFC3339))
		}
		// The current side asks for what the baseline side found.
		if len(curQ.Services) == 0 {
			curQ.Services = res.Services
		}
	}
	res, err := p.collect(ctx, c, curQ, "current", stderr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("current: %w", err)
	}
	cur = res.Snapshot
	if byLabel {
		notes = append(notes, fmt.Sprintf("duet by label: both sides collected over the same %d windows, the baseline with %s and the current side with %s; "+
			"compared unpaired (the gate pairs runs, and each side is one run of its own processes)", res.Windows, orAll(baseQ.Selector.String()), orAll(curQ.Selector.String())))
	}
	return base, cur, notes, nil
}

// orAll writes an empty selector as "every profile".
func orAll(sel string) string {
	if sel == "" || sel == "{}" {
		return "every profile"
	}
	return sel
}

// resolveWindow decides the window length of a collection, and says why in
// a sentence for the report: --window when given; else the baseline's,
// which the current side must match to be comparable; else the upload
// interval measured from the data; else pyroscope-go's default.
func (p *pyroscopeFlags) resolveWindow(ctx context.Context, c *pyroscope.Client, q pyroscope.Query, baseWindow time.Duration) (time.Duration, string, error) {
	switch {
	case p.window > 0:
		return p.window, fmt.Sprintf("window %s, set with --window", p.window), nil
	case baseWindow > 0:
		return baseWindow, fmt.Sprintf("window %s, the baseline's (set --window to change it)", baseWindow), nil
	}
	d, reason, err := c.UploadInterval(ctx, q)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", err
		}
		// The collection that follows meets the same server and reports
		// a real failure itself; a server that cannot answer series
		// queries can still be collected from.
		reason = "its series query failed: " + oneLine(err.Error())
	}
	if d > 0 {
		return d, fmt.Sprintf("window %s, detected: the services' profiles arrive every %s (set --window to change it)", d, d), nil
	}
	return pyroscope.DefaultUploadInterval, fmt.Sprintf("window %s, pyroscope-go's default upload interval: the data could not tell (%s); if the services upload at another interval, set --window to it",
		pyroscope.DefaultUploadInterval, reason), nil
}

// seriesTypes lists the profile types a snapshot has, in first-seen order.
func seriesTypes(s *baseline.Snapshot) []profiletype.ID {
	var out []profiletype.ID
	seen := map[string]bool{}
	for _, se := range s.Series {
		if id, err := profiletype.ParseID(se.ProfileType); err == nil && !seen[se.ProfileType] {
			seen[se.ProfileType] = true
			out = append(out, id)
		}
	}
	return out
}

// splitList splits repeated and comma-separated flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func runCollect(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("collect", `
Usage: profdiff collect --pyroscope URL --from T [--until T] [--service NAME]... [--type TYPE]...
                        [--window 15s] [--selector S] --out DIR

Pulls profiles from Grafana Pyroscope (v1 or v2, or profdiff's embedded
server) into a snapshot: for every service and profile type, one merged
profile per window of the range. A service or type with no data in the range
is reported on standard error and left out; the snapshot in DIR is replaced
atomically, and only when at least one series has data.
`+pyroscopeUsage+`
Example:
  profdiff collect --pyroscope http://127.0.0.1:4040 --from now-70s --until now-10s \
      --service bank-fraud-service --type cpu --type alloc --selector '{env="ci"}' --out baseline/
`, stdout)
	p := addPyroscopeFlags(fs, false)
	out := fs.String("out", "", "snapshot directory to write (required)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	const cmd = "collect"
	if err := p.resolveNames(); err != nil {
		return fail(stderr, cmd, err)
	}
	p.urlFromEnv()
	switch {
	case fs.NArg() > 0:
		return fail(stderr, cmd, fmt.Errorf("unexpected argument %q (flags take --name value)", fs.Arg(0)))
	case p.url == "":
		return fail(stderr, cmd, errors.New("--pyroscope is required (or --url, or PROFILECLI_URL in the environment)"))
	case *out == "":
		return fail(stderr, cmd, errors.New("--out is required"))
	}
	p.now = time.Now()
	q, err := p.query("from", p.from, "until", p.until, "selector", p.selector)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	c, err := p.client()
	if err != nil {
		return fail(stderr, cmd, err)
	}
	ctx, cancel := p.context()
	defer cancel()
	w, why, err := p.resolveWindow(ctx, c, q, 0)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	q.Window = w
	res, err := p.collect(ctx, c, q, "collect", stderr)
	if err != nil {
		return fail(stderr, cmd, err)
	}
	snap := res.Snapshot
	if len(snap.Series) == 0 {
		return fail(stderr, cmd, fmt.Errorf("Pyroscope at %s has no profiles in %s .. %s for the services, types and selector given; nothing written",
			c.URL(), q.From.Format(time.RFC3339), q.Until.Format(time.RFC3339)))
	}
	if err := baseline.Write(*out, snap); err != nil {
		return fail(stderr, cmd, err)
	}
	fmt.Fprintf(stdout, "collected %d series (%d services, %d windows of %s from %s) into %s\n",
		len(snap.Series), len(snap.Services()), res.Windows, time.Duration(snap.Meta.Window), snap.Meta.From.Format(time.RFC3339), *out)
	fmt.Fprintf(stdout, "%s\n", why)
	if len(res.Missing) > 0 {
		fmt.Fprintf(stdout, "%d series had no data (see above); comparing against a baseline that has them is inconclusive\n", len(res.Missing))
	}
	return exitOK
}

// parseBytes reads a byte count with an optional k or m suffix (binary:
// 512k is 524,288), as pyroscope-go's and the services' settings write it.
func parseBytes(s string) (int, error) {
	mult := 1
	switch t := strings.ToLower(strings.TrimSpace(s)); {
	case strings.HasSuffix(t, "k"):
		mult, s = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, s = 1<<20, strings.TrimSuffix(t, "m")
	default:
		s = t
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > math.MaxInt32/mult {
		return 0, fmt.Errorf("not a byte count")
	}
	return n * mult, nil
}
