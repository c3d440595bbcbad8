// Package sarif writes a profdiff comparison as a SARIF 2.1.0 log, the format
// GitHub code scanning (and most code-review tools) ingest, so that a hot
// function that regressed shows up as an alert on its source line in the pull
// request.
//
// Each failing cause (see diff.Cause) is one result at level "error": the
// function whose own cost grew, with the callers it raises and the callees
// that grew with it named in the message rather than alerted on. Its rule
// says what kind of cost grew (profdiff/cpu-regression,
// profdiff/alloc-regression, profdiff/lock-regression, ...,
// profdiff/new-hot-path). Its location is always inside the repository: the
// function's file and line when the profile's path maps into it (see
// Locator), else the nearest caller on its heaviest call path that does,
// else none (only the function's logical location). Its fingerprint is the
// cause's ID, so code scanning follows a cause across runs. Inconclusive
// series are reported as tool execution notifications: they are not
// findings about code, but a reader of the log must see them.
//
// The data model is github.com/owenrumney/go-sarif/v2, whose types follow
// the 2.1.0 schema field for field and omit what is unset.
package sarif

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/profdiff/profdiff/internal/buildinfo"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/report"
)

// InformationURI is where the tool's documentation lives.
const InformationURI = "https://github.com/profdiff/profdiff"

// FingerprintKey names profdiff's entry in result.partialFingerprints.
const FingerprintKey = "profdiffCause/v1"

// Options tune the SARIF log. The zero value is usable.
type Options struct {
	// ToolVersion is written as tool.driver.version; empty means the
	// running build's version.
	ToolVersion string
	// RepoRoot and ModulePath map profile file names to repository paths;
	// see Locator. Leave both empty to keep file names as the profile has
	// them (then code scanning cannot place the alerts on files).
	RepoRoot   string
	ModulePath string
}

func (o Options) locator() Locator { return Locator{Root: o.RepoRoot, Module: o.ModulePath} }

// A rule is one kind of finding. The list is fixed, not derived from the
// findings, so a rule's index and id never move between runs.
type rule struct {
	id, name, short, full string
	kind                  profiletype.Kind // "" for the new-hot-path rule
}

var rules = []rule{
	{"profdiff/cpu-regression", "CPURegression", "A hot function uses more CPU than in the baseline.",
		"The function's share of CPU time (self or cumulative) grew by more than the configured threshold, credibly across the profile windows, and it is above the floor.", profiletype.KindCPU},
	{"profdiff/alloc-regression", "AllocRegression", "A hot function allocates more than in the baseline.",
		"The function's share of allocated bytes or objects grew by more than the configured threshold, credibly across the profile windows, and it is above the floor. More allocation means more GC work for every request.", profiletype.KindAlloc},
	{"profdiff/inuse-regression", "InuseRegression", "A function holds more live heap than in the baseline.",
		"The function's share of in-use heap (bytes or objects) grew by more than the configured threshold, credibly across the profile windows, and it is above the floor.", profiletype.KindInuse},
	{"profdiff/lock-regression", "LockRegression", "A function waits longer or more often on mutexes than in the baseline.",
		"The function's share of mutex contention (delay or count) grew by more than the configured threshold, credibly across the profile windows, and it is above the floor. Contention grows faster than load: what is a small change here can be a latency cliff in production.", profiletype.KindLock},
	{"profdiff/block-regression", "BlockRegression", "A function blocks longer or more often than in the baseline.",
		"The function's share of blocking (channel, select, sync primitives; delay or count) grew by more than the configured threshold, credibly across the profile windows, and it is above the floor.", profiletype.KindBlock},
	{"profdiff/goroutine-regression", "GoroutineRegression", "A function accounts for more goroutines than in the baseline.",
		"The function's share of goroutines grew by more than the configured threshold, credibly across the profile windows, and it is above the floor. A steady climb is how goroutine leaks look.", profiletype.KindGoroutine},
	{"profdiff/other-regression", "ProfileRegression", "A hot function costs more than in the baseline.",
		"The function's share of a profile type profdiff has no specific rule for grew by more than the configured threshold, credibly across the profile windows, and it is above the floor.", profiletype.KindOther},
	{"profdiff/new-hot-path", "NewHotPath", "A function absent from the baseline is now above the floor.",
		"The function did not appear in the baseline profile (or was below measurement) and now costs more than the floor: new code on a hot path, or existing code newly called from one.", ""},
}

const ruleHelp = `profdiff compared this pull request's continuous profiles with the committed baseline and found the function above costlier, by more than sampling noise can explain.

What to do:
- Open the HTML report artifact of the workflow run: its differential flame graph shows which callers and callees grew (red) or shrank (blue).
- If the change is a mistake, fix it; the alert closes when the next run no longer finds it.
- If the cost is intended (a new feature, a deliberate trade-off), accept it: record a new baseline with "profdiff baseline accept --from SNAPSHOT_DIR --to BASELINE_DIR" and commit it in this pull request (see docs/ci-gate.md), or add an ignore rule with a reason and an expiry to the rules file.`

func ruleFor(r *diff.Result, c *diff.Cause) int {
	if c.Kind == diff.KindNewHotPath {
		return len(rules) - 1
	}
	k := profiletype.KindOther
	if s := r.SeriesOf(c, c.Series[0]); s != nil {
		k = TypeKind(s)
	}
	for i, ru := range rules {
		if ru.kind == k {
			return i
		}
	}
	return len(rules) - 2 // other
}

// Level is the SARIF level of a cause: "error" when it fails the run,
// "note" otherwise.
func Level(c *diff.Cause) string {
	if c.Failing {
		return "error"
	}
	return "note"
}

// Fingerprint identifies a cause across runs: its ID, a hash of service,
// function and direction — never of a line or a number, so that an alert
// survives the function moving within its file, and a fix closes it.
func Fingerprint(c *diff.Cause) string { return c.ID }

// Write writes r to w as an indented SARIF 2.1.0 log with one run.
func Write(w io.Writer, r *diff.Result, opts Options) error {
	if r == nil {
		return fmt.Errorf("sarif: nil result")
	}
	log, err := build(r, opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Function names such as "pkg.F[...]" or messages with "→" read better
	// unescaped, and SARIF is never embedded in HTML by this tool.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("sarif: %w", err)
	}
	return nil
}

// Renderer returns Write bound to opts, in the shape of a report format.
func Renderer(opts Options) func(io.Writer, *diff.Result) error {
	return func(w io.Writer, r *diff.Result) error { return Write(w, r, opts) }
}

func build(r *diff.Result, opts Options) (*gosarif.Report, error) {
	log, err := gosarif.New(gosarif.Version210)
	if err != nil {
		return nil, err
	}
	version := opts.ToolVersion
	if version == "" {
		version = buildinfo.Version()
	}
	driver := gosarif.NewVersionedDriver("profdiff", version).WithInformationURI(InformationURI)
	driver.Rules = make([]*gosarif.ReportingDescriptor, 0, len(rules))
	for _, ru := range rules {
		tags := []string{"performance", "profdiff"}
		if ru.kind != "" {
			tags = append(tags, string(ru.kind))
		}
		d := gosarif.NewRule(ru.id).
			WithName(ru.name).
			WithShortDescription(gosarif.NewMultiformatMessageString(ru.short)).
			WithFullDescription(gosarif.NewMultiformatMessageString(ru.full)).
			WithHelp(gosarif.NewMultiformatMessageString(ru.full + "\n\n" + ruleHelp).WithMarkdown(ru.full + "\n\n" + ruleHelp)).
			WithHelpURI(InformationURI + "/blob/main/docs/ci-gate.md").
			WithDefaultConfiguration(&gosarif.ReportingConfiguration{Level: "warning"}).
			WithProperties(gosarif.Properties{"tags": tags})
		driver.Rules = append(driver.Rules, d)
	}
	run := gosarif.NewRun(*gosarif.NewTool(driver))
	run.ColumnKind = "unicodeCodePoints"

	loc := opts.locator()
	for _, c := range report.Causes(r) {
		if !c.Failing {
			continue // improvements and ignored causes are for the readable reports
		}
		ri := ruleFor(r, c)
		msg := Describe(r, c)
		l, at := Place(loc, c)
		if at != "" && at != c.Function {
			msg += "; placed at its nearest caller in this repository, " + at
		}
		res := gosarif.NewRuleResult(rules[ri].id).
			WithRuleIndex(ri).
			WithLevel(Level(c)).
			WithMessage(gosarif.NewTextMessage(msg)).
			WithPartialFingerPrints(map[string]interface{}{FingerprintKey: Fingerprint(c)})
		res.AddLocation(l)
		res.AttachPropertyBag(causeProperties(r, c))
		run.AddResult(res)
	}

	inv := gosarif.NewInvocation().WithExecutionSuccess(true)
	for _, s := range r.Series {
		if s.Verdict != diff.Inconclusive {
			continue
		}
		reason := s.Reason
		if reason == "" {
			reason = "no reason given"
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &gosarif.Notification{
			Level:   "warning",
			Message: gosarif.NewTextMessage(fmt.Sprintf("%s %s is inconclusive: %s", s.Service, TypeName(s), reason)),
		})
	}
	for _, w := range r.Warnings {
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications, &gosarif.Notification{
			Level:   "warning",
			Message: gosarif.NewTextMessage(w),
		})
	}
	for _, n := range r.Notes {
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications, &gosarif.Notification{
			Level:   "note",
			Message: gosarif.NewTextMessage(n),
		})
	}
	run.Invocations = []*gosarif.Invocation{inv}
	run.Properties = gosarif.Properties{
		"verdict":       string(r.Verdict),
		"normalization": r.Normalization,
		"summary":       r.Summary,
		"causes":        report.Counts(r),
	}
	log.AddRun(run)
	return log, nil
}

// Place locates a cause inside the repository: its function's file and
// line when they map into it, else the nearest caller on the cause's
// heaviest call path whose file does, else nowhere physical. The location
// always names the cause's function logically. at is the function whose
// file and line were used, or "".
func Place(loc Locator, c *diff.Cause) (l *gosarif.Location, at string) {
	l = gosarif.NewLocation()
	name := c.Function
	if c.RawName != "" {
		name = c.RawName
	}
	l.AddLogicalLocations(gosarif.NewLogicalLocation().
		WithName(report.ShortName(c.Function)).
		WithFullyQualifiedName(name).
		WithKind("function"))
	file, line, at := InRepo(loc, c)
	if file == "" {
		return l, ""
	}
	pl := gosarif.NewPhysicalLocation().WithArtifactLocation(gosarif.NewArtifactLocation().WithUri(uriPath(file)))
	if line >= 1 {
		pl.WithRegion(gosarif.NewSimpleRegion(int(line), int(line)))
	}
	l.WithPhysicalLocation(pl)
	return l, at
}

// InRepo returns the repository-relative file and line where a cause is
// placed (see Place and report.InRepo), and the function they belong to.
func InRepo(loc Locator, c *diff.Cause) (file string, line int64, at string) {
	return report.InRepo(loc, c)
}

// uriPath escapes a slash-separated path for use in a URI reference: spaces,
// percent signs and the like, but not the slashes.
func uriPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || c == '-' || c == '.' || c == '_' || c == '~' || c == '@' || c == '+' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// causeProperties carries the numbers behind the message, for tools that
// post-process the log: per profile type, the cause's own finding and the
// functions it folds. Infinite or undefined values (a new hot path's change)
// are left out: JSON cannot hold them.
func causeProperties(r *diff.Result, c *diff.Cause) *gosarif.PropertyBag {
	pb := gosarif.NewPropertyBag()
	pb.Add("service", c.Service)
	pb.Add("function", c.Function)
	pb.Add("causeId", c.ID)
	var series []map[string]any
	for _, cs := range c.Series {
		f := cs.Finding
		m := map[string]any{"profileType": cs.ProfileType, "measure": string(f.Measure), "findings": len(cs.Findings)}
		for _, kv := range []struct {
			k string
			v float64
		}{{"baseline", f.Baseline}, {"current", f.Current}, {"change", f.Change},
			{"changeLow", f.ChangeLow}, {"changeHigh", f.ChangeHigh}, {"p", f.P}, {"q", f.Q}} {
			if !math.IsInf(kv.v, 0) && !math.IsNaN(kv.v) {
				m[kv.k] = kv.v
			}
		}
		if len(cs.Callees) > 0 {
			m["callees"] = cs.Callees
		}
		if len(cs.Callers) > 0 {
			m["callers"] = cs.Callers
		}
		series = append(series, m)
	}
	pb.Add("series", series)
	return pb
}
