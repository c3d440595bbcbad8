// Package sarif writes a profdiff comparison as a SARIF 2.1.0 log, the format
// GitHub code scanning (and most code-review tools) ingest, so that a hot
// function that regressed shows up as an alert on its source line in the pull
// request.
//
// Each regressed function and each new hot path is one result. Its rule says
// what kind of cost grew (profdiff/cpu-regression, profdiff/alloc-regression,
// profdiff/lock-regression, ..., profdiff/new-hot-path), its level says how
// much, and its location is the function's file and line from the profile,
// made relative to the repository root where the path can be mapped (see
// Locator). Inconclusive series are reported as tool execution notifications:
// they are not findings about code, but a reader of the log must see them.
//
// The data model is github.com/owenrumney/go-sarif/v2, whose types follow
// the 2.1.0 schema field for field and omit what is unset.
package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/profdiff/profdiff/internal/buildinfo"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// DefaultErrorChange is the relative increase at and above which a
// regression is reported at level "error" rather than "warning": +50%.
// Every reported regression fails the gate either way; the level only ranks
// them, and a function that got half again as expensive is the kind of change
// a reviewer should not be able to miss in a list of alerts.
const DefaultErrorChange = 0.5

// InformationURI is where the tool's documentation lives.
const InformationURI = "https://github.com/profdiff/profdiff"

// FingerprintKey names profdiff's entry in result.partialFingerprints.
const FingerprintKey = "profdiffFunction/v1"

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
	// ErrorChange is the relative increase at and above which a regression
	// is an "error" (below: "warning"); 0 means DefaultErrorChange. New hot
	// paths are always errors: they have no baseline to be a fraction of.
	ErrorChange float64
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

func ruleFor(s *diff.SeriesResult, f diff.Finding) int {
	if f.Kind == diff.KindNewHotPath {
		return len(rules) - 1
	}
	k := TypeKind(s)
	for i, r := range rules {
		if r.kind == k {
			return i
		}
	}
	return len(rules) - 2 // other
}

// Level returns the SARIF level of a failing finding: "error" for a new hot
// path or a change of at least errorChange, else "warning".
func Level(f diff.Finding, errorChange float64) string {
	if errorChange <= 0 {
		errorChange = DefaultErrorChange
	}
	if f.Kind == diff.KindNewHotPath || math.IsInf(f.Change, 1) || f.Change >= errorChange {
		return "error"
	}
	return "warning"
}

// Fingerprint identifies a finding across runs by (service, profile type,
// function, measure) — never by line, so that an alert survives the function
// moving within its file, and a fix closes it. The measure is part of it
// because a function's self and cumulative findings are two separate facts.
func Fingerprint(s *diff.SeriesResult, f diff.Finding) string {
	h := sha256.Sum256([]byte(s.Service + "\x00" + s.ProfileType + "\x00" + f.Function + "\x00" + string(f.Measure)))
	return hex.EncodeToString(h[:16])
}

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
	var outside bool // some location is not in the repository
	for _, s := range r.Series {
		for _, f := range s.Findings {
			if !Failing(f) || s.Folded(f) {
				continue // a folded caller is named in its cause's message
			}
			ri := ruleFor(s, f)
			res := gosarif.NewRuleResult(rules[ri].id).
				WithRuleIndex(ri).
				WithLevel(Level(f, opts.ErrorChange)).
				WithMessage(gosarif.NewTextMessage(Describe(r, s, f))).
				WithPartialFingerPrints(map[string]interface{}{FingerprintKey: Fingerprint(s, f)})
			l, out := location(loc, f)
			outside = outside || out
			res.AddLocation(l)
			res.AttachPropertyBag(findingProperties(s, f))
			run.AddResult(res)
		}
	}
	if outside {
		run.OriginalUriBaseIDs = map[string]*gosarif.ArtifactLocation{
			buildRootBase: {Description: gosarif.NewTextMessage(
				"Where the profiled binary was built from: the file names below it are as the profile recorded them (e.g. -trimpath import paths of the Go runtime or a dependency), and are not in this repository.")},
		}
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
	run.Invocations = []*gosarif.Invocation{inv}
	run.Properties = gosarif.Properties{
		"verdict":       string(r.Verdict),
		"normalization": r.Normalization,
		"summary":       r.Summary,
	}
	log.AddRun(run)
	return log, nil
}

// buildRootBase is the uriBaseId of file names that are not in the
// repository and not absolute: import-path-relative names from -trimpath
// builds of the Go runtime or of dependencies.
const buildRootBase = "BUILDROOT"

// location places a finding: its physical location (file and line) when the
// profile had a file name, and always its logical location, the function. It
// reports whether the file is outside the repository.
//
// A file that maps into the repository gets a relative URI, which code
// scanning resolves against the checkout. One that does not keeps its name:
// an absolute path becomes a file:// URI, a relative one is given the
// BUILDROOT base so that no reader mistakes it for a repository path.
func location(loc Locator, f diff.Finding) (*gosarif.Location, bool) {
	l := gosarif.NewLocation()
	name := f.Function
	if f.RawName != "" {
		name = f.RawName
	}
	l.AddLogicalLocations(gosarif.NewLogicalLocation().
		WithName(shortName(f.Function)).
		WithFullyQualifiedName(name).
		WithKind("function"))
	if f.File == "" {
		return l, false
	}
	rel, ok := loc.Rel(f.File)
	al := gosarif.NewArtifactLocation()
	outside := false
	switch {
	case ok:
		al.WithUri(uriPath(rel))
	case path.IsAbs(rel):
		al.WithUri("file://" + uriPath(rel))
	default:
		al.WithUri(uriPath(rel)).WithUriBaseId(buildRootBase)
		outside = true
	}
	pl := gosarif.NewPhysicalLocation().WithArtifactLocation(al)
	if f.Line >= 1 {
		pl.WithRegion(gosarif.NewSimpleRegion(int(f.Line), int(f.Line)))
	}
	l.WithPhysicalLocation(pl)
	return l, outside
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

// shortName drops the package path from a Go function name:
// "github.com/org/repo/pkg.(*T).M" → "pkg.(*T).M".
func shortName(fn string) string {
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// findingProperties carries the numbers behind the message, for tools that
// post-process the log. Infinite or undefined values (a new hot path's
// change) are left out: JSON cannot hold them.
func findingProperties(s *diff.SeriesResult, f diff.Finding) *gosarif.PropertyBag {
	pb := gosarif.NewPropertyBag()
	pb.Add("service", s.Service)
	pb.Add("profileType", s.ProfileType)
	pb.Add("function", f.Function)
	pb.Add("measure", string(f.Measure))
	for _, kv := range []struct {
		k string
		v float64
	}{{"baseline", f.Baseline}, {"current", f.Current}, {"change", f.Change},
		{"changeLow", f.ChangeLow}, {"changeHigh", f.ChangeHigh}, {"p", f.P}, {"q", f.Q}} {
		if finite(kv.v) {
			pb.Add(kv.k, kv.v)
		}
	}
	return pb
}
