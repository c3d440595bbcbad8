// Package rules reads profdiff's rules file: the YAML that tunes the
// regression gate per service, profile type and function, and lists the
// regressions a team has chosen to accept for now.
//
// A rules file looks like this (every key is optional; unknown keys are an
// error, so a typo cannot silently disable a rule):
//
//	version: 1
//	defaults:
//	  threshold: 10%      # smallest relative increase that fails ("10%" or 0.10)
//	  floor: 1%           # smallest share of the profile that can fail
//	  alpha: 0.01         # false-discovery rate per series
//	  min_windows: 4      # fewer windows on a side: inconclusive
//	  min_samples: 1000   # fewer samples on a side: inconclusive
//	  min_run_drift: 10%  # least run-to-run drift of a process's level assumed
//	  normalization: rest # share, rest or rate (see pkg/diff)
//	overrides:
//	  - name: fraud rules are noisy
//	    service: bank-fraud-service   # glob; omitted = every service
//	    type: cpu                     # alias, group (alloc, lock) or full ID
//	    function: "*fraud.(*Engine).*" # glob over the whole name
//	    threshold: 25%
//	ignore:
//	  - function_regexp: 'text/template\..*'
//	    service: bank-notification-service
//	    reason: template rewrite lands next sprint (PAY-123)   # required
//	    expires: 2026-09-30                                    # optional
//	  - function_regexp: 'github\.com/acme/bank/fraud\.matchFraudRules'
//	    service: bank-fraud-service
//	    scope: cause      # this cause, with its callers and callees; default: function
//	    reason: rules engine v2 matches more patterns (FRAUD-88)
//	    expires: 2026-04-30
//
// Patterns. service and function are globs matched against the whole name:
// "*" matches any run of characters (including "/" and "."), "?" one
// character, and everything else itself, so "net/http.*" and
// "*.(*Engine).Score" do what they look like. Go function names are full of
// regexp metacharacters ("(*T)", "."), which is why globs are the default.
// function_regexp takes an RE2 regular expression instead, anchored at both
// ends (write ".*foo.*" to match inside a name). Function names are the
// normalized identities profdiff compares by ("pkg.F.func*", "pkg.M[...]").
//
// Precedence. The file's defaults replace profdiff's. Overrides then apply
// on top, each setting only the fields it names: first those without a
// function pattern (series-wide), then those with one, each group in file
// order, so the more specific and then the later override wins, field by
// field. min_windows, min_samples, min_run_drift and normalization are per
// series, so an override with a function pattern may not set them. A
// normalization set here wins over the command line's.
//
// Ignores. An ignore entry turns a finding that would fail the run (a
// regression or a new hot path) into an "ignored" finding; it never turns an
// inconclusive series into a pass. It must say why. After its expires date
// (the date is the last day it applies, in UTC) it no longer applies and the
// result carries a warning to remove it.
//
// Scope. By default (scope: function) an entry ignores the findings of every
// function it matches, wherever they regress. With scope: cause it accepts a
// cause instead (see diff.Cause): the function pattern names the function a
// cause is named for, and the entry ignores that cause's own findings and
// those folded under it — the callers whose cumulative values it raises and
// the callees that grew with it — and nothing else. Accepting a rule matcher
// that now does more regexp work thus does not accept runtime.memmove: memmove
// regressing under another function still fails. It needs a function
// pattern. The ignore entry the markdown report offers for a failing cause is
// of this form.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/profdiff/profdiff/internal/inputfile"
	"github.com/profdiff/profdiff/pkg/diff"
	"github.com/profdiff/profdiff/pkg/profiletype"
)

// Version is the rules-file version this package reads.
const Version = 1

// Rules is a parsed, validated rules file.
type Rules struct {
	// Source names the file, for messages.
	Source    string
	Defaults  diff.Params
	Overrides []Override
	Ignores   []Ignore
}

// Match selects series and functions. Empty fields match everything.
type Match struct {
	Service  string         // glob
	Types    []string       // full profile type IDs
	Function *regexp.Regexp // compiled glob or regexp; nil matches all
	Pattern  string         // the function pattern as written
}

// Override changes parameters where it matches.
type Override struct {
	Name  string
	Line  int
	Match Match
	// Set holds the fields the override sets; zero fields are not set.
	Set diff.Params
}

// Ignore accepts failing findings where it matches, until it expires.
type Ignore struct {
	Name    string
	Line    int
	Match   Match
	Reason  string
	Expires time.Time // zero: never; else the last day it applies
	// Cause is scope: cause: the entry accepts the cause named for a
	// function it matches (see diff.Cause), with every failing finding
	// folded under it, rather than the matching functions' own findings
	// wherever they are.
	Cause bool
}

// file is the YAML shape.
type file struct {
	Version   int          `yaml:"version"`
	Defaults  paramsYAML   `yaml:"defaults"`
	Overrides []entryYAML  `yaml:"overrides"`
	Ignore    []ignoreYAML `yaml:"ignore"`
}

type paramsYAML struct {
	Threshold  *Fraction `yaml:"threshold"`
	Floor      *Fraction `yaml:"floor"`
	Alpha      *Fraction `yaml:"alpha"`
	MinWindows *int      `yaml:"min_windows"`
	MinSamples *int64    `yaml:"min_samples"`
	// MinRunDrift is diff.Params.MinRunDrift ("10%" or 0.10).
	MinRunDrift *Fraction `yaml:"min_run_drift"`
	// Normalization is diff.Params.Normalization: share, rest or rate.
	Normalization *string `yaml:"normalization"`
}

type matchYAML struct {
	Name           string   `yaml:"name"`
	Service        string   `yaml:"service"`
	Type           typeList `yaml:"type"`
	Function       string   `yaml:"function"`
	FunctionRegexp string   `yaml:"function_regexp"`
}

type entryYAML struct {
	matchYAML  `yaml:",inline"`
	paramsYAML `yaml:",inline"`
}

type ignoreYAML struct {
	matchYAML `yaml:",inline"`
	Reason    string `yaml:"reason"`
	Expires   string `yaml:"expires"`
	// Scope is function (the default) or cause (see Ignore.Cause).
	Scope string `yaml:"scope"`
}

// typeList accepts one profile type or a list of them.
type typeList []string

func (t *typeList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*t = typeList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*t = s
		return nil
	}
	return errAt(n.Line, "type: want a profile type or a list of them, not %s", kindName(n))
}

// Fraction is a proportion written as "10%" or 0.10.
type Fraction float64

// UnmarshalYAML reads "10%", "0.5%", 0.10 or "0.10".
func (f *Fraction) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n.Line, "want a number or a percentage like 10%%, not %s", kindName(n))
	}
	v, err := ParseFraction(n.Value)
	if err != nil {
		return errAt(n.Line, "%v", err)
	}
	*f = Fraction(v)
	return nil
}

// ParseFraction reads "10%" or "0.10" as 0.10.
func ParseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or a percentage like 10%%", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// Load reads and validates a rules file. Errors name the file and, where
// known, the line.
func Load(filename string) (*Rules, error) {
	data, err := inputfile.Read(filename, fileLimit, inputfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return Parse(data, filename)
}

// Limits on a rules file, which may come from a pull request: a real one is
// a few KiB, and a pattern is a function name with wildcards. A pattern
// compiles to a regexp whose size grows with the pattern's, so an unbounded
// one could take the compiler's time and memory (or, past RE2's own limit,
// fail).
var (
	fileLimit = inputfile.Limit{What: "a rules file", Max: 1 << 20}
)

const maxPatternBytes = 4096

// maxErrorBytes bounds an error message, which may quote the file.
const maxErrorBytes = 512

// Parse reads and validates rules from data; name is used in messages.
// An error is one line, "NAME:LINE: what is wrong" where the line is known
// (as compilers write it, so editors and CI logs link it) and "NAME: what is
// wrong" otherwise, in the file's own terms: an unknown key is named with
// the key it probably meant.
func Parse(data []byte, name string) (*Rules, error) {
	r, err := parse(data, name)
	if err != nil {
		where, msg := name, err.Error()
		var le *lineError
		if errors.As(err, &le) {
			msg = le.msg
			if le.line > 0 {
				where = fmt.Sprintf("%s:%d", name, le.line)
			}
		}
		msg = oneLine(msg)
		if len(msg) > maxErrorBytes {
			msg = strings.ToValidUTF8(msg[:maxErrorBytes], "") + "…"
		}
		return nil, fmt.Errorf("%s: %s", where, msg)
	}
	return r, nil
}

func oneLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.Replace(s, "unmarshal errors:\n", "", 1)
	fields := strings.Split(s, "\n")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

func parse(data []byte, name string) (*Rules, error) {
	// The document's shape and keys first, at their lines and in the
	// file's terms (see checkSchema); then the decoder, whose few remaining
	// errors (a word where a number belongs) decodeError rewrites.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, decodeError(err, nil)
	}
	if err := checkSchema(&root); err != nil {
		return nil, err
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(err, &root)
	}
	// Line numbers of list entries, for validation messages.
	lines := entryLines(&root)

	if f.Version != 0 && f.Version != Version {
		return nil, errAt(keyLine(&root, "version"), "version %d is not supported (this profdiff reads version %d)", f.Version, Version)
	}
	r := &Rules{Source: name}
	defLine := keyLine(&root, "defaults")
	def, err := f.Defaults.params(false)
	if err != nil {
		return nil, errAt(paramLine(topValue(&root, "defaults"), err, defLine), "defaults: %v", err)
	}
	r.Defaults = def
	if err := def.Merge(diff.DefaultParams()).Validate(); err != nil {
		return nil, errAt(defLine, "defaults: %v", err)
	}
	for i, e := range f.Overrides {
		line := lineOf(lines, "overrides", i)
		where := fmt.Sprintf("overrides[%d]", i)
		m, err := e.matchYAML.compile()
		if err != nil {
			return nil, errAt(line, "%s: %v", where, err)
		}
		p, err := e.paramsYAML.params(m.Function != nil)
		if err != nil {
			return nil, errAt(paramLine(entryNode(&root, "overrides", i), err, line), "%s: %v", where, err)
		}
		if p == (diff.Params{}) {
			return nil, errAt(line, "%s: sets nothing; give threshold, floor, alpha, min_windows, min_samples, min_run_drift or normalization", where)
		}
		if err := p.Merge(def.Merge(diff.DefaultParams())).Validate(); err != nil {
			return nil, errAt(line, "%s: %v", where, err)
		}
		n := e.Name
		if n == "" {
			n = fmt.Sprintf("overrides[%d]", i)
		}
		r.Overrides = append(r.Overrides, Override{Name: n, Line: lineOf(lines, "overrides", i), Match: m, Set: p})
	}
	for i, e := range f.Ignore {
		line := lineOf(lines, "ignore", i)
		where := fmt.Sprintf("ignore[%d]", i)
		m, err := e.matchYAML.compile()
		if err != nil {
			return nil, errAt(line, "%s: %v", where, err)
		}
		if strings.TrimSpace(e.Reason) == "" {
			return nil, errAt(line, "%s: an ignore needs a reason (reason: WHY, e.g. the ticket that fixes it)", where)
		}
		ig := Ignore{Name: e.Name, Line: lineOf(lines, "ignore", i), Match: m, Reason: strings.TrimSpace(e.Reason)}
		if ig.Name == "" {
			ig.Name = fmt.Sprintf("ignore[%d]", i)
		}
		switch e.Scope {
		case "", "function":
		case "cause":
			if m.Function == nil {
				return nil, fmt.Errorf("%s: scope: cause needs function or function_regexp, naming the function the cause is named for", where)
			}
			ig.Cause = true
		default:
			return nil, fmt.Errorf("%s: scope %s: want function (the default: the matching functions' findings) or cause (the cause named for the matching function, with its callers and callees)", where, shortQuote(e.Scope))
		}
		if e.Expires != "" {
			t, err := time.Parse("2006-01-02", e.Expires)
			if err != nil {
				return nil, errAt(line, "%s: expires %q: want a date YYYY-MM-DD", where, e.Expires)
			}
			ig.Expires = t
		}
		r.Ignores = append(r.Ignores, ig)
	}
	return r, nil
}

// entryLines maps "overrides" and "ignore" to the line of each list entry.
func entryLines(root *yaml.Node) map[string][]int {
	out := map[string][]int{}
	if root == nil || len(root.Content) == 0 {
		return out
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if v.Kind == yaml.SequenceNode {
			for _, item := range v.Content {
				out[k.Value] = append(out[k.Value], item.Line)
			}
		}
	}
	return out
}

// topValue is the value of a top-level key, or nil.
func topValue(root *yaml.Node, key string) *yaml.Node {
	if root == nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i+1]
		}
	}
	return nil
}

// entryNode is entry i of the top-level list key, or nil.
func entryNode(root *yaml.Node, key string, i int) *yaml.Node {
	if v := topValue(root, key); v != nil && v.Kind == yaml.SequenceNode && i < len(v.Content) {
		return v.Content[i]
	}
	return nil
}

// paramLine is the line of the key of mapping m that err is about (its
// message starts with the key's name, as params writes them), else
// fallback.
func paramLine(m *yaml.Node, err error, fallback int) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return fallback
	}
	msg := err.Error()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i].Value
		if strings.HasPrefix(msg, k+" ") || strings.HasPrefix(msg, k+",") {
			return m.Content[i].Line
		}
	}
	return fallback
}

// keyLine is the line of a top-level key, or 0.
func keyLine(root *yaml.Node, key string) int {
	if root == nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return 0
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i].Line
		}
	}
	return 0
}

func lineOf(lines map[string][]int, key string, i int) int {
	if i < len(lines[key]) {
		return lines[key][i]
	}
	return 0
}

func (p paramsYAML) params(perFunction bool) (diff.Params, error) {
	var out diff.Params
	if p.Threshold != nil {
		if !(*p.Threshold > 0 && *p.Threshold <= 10) {
			return out, fmt.Errorf("threshold %s out of range: want more than 0%% and at most 1000%% (write 10%% or 0.10)", pct(float64(*p.Threshold)))
		}
		out.Threshold = float64(*p.Threshold)
	}
	if p.Floor != nil {
		if !(*p.Floor > 0 && *p.Floor < 1) {
			return out, fmt.Errorf("floor %s out of range: want more than 0%% and less than 100%% (write 1%% or 0.01)", pct(float64(*p.Floor)))
		}
		out.Floor = float64(*p.Floor)
	}
	if p.Alpha != nil {
		if !(*p.Alpha > 0 && *p.Alpha <= 0.2) {
			return out, fmt.Errorf("alpha %g out of range: want more than 0 and at most 0.2", float64(*p.Alpha))
		}
		out.Alpha = float64(*p.Alpha)
	}
	if perFunction && (p.MinWindows != nil || p.MinSamples != nil || p.MinRunDrift != nil || p.Normalization != nil) {
		return out, fmt.Errorf("min_windows, min_samples, min_run_drift and normalization apply to a whole series and cannot be set with a function pattern")
	}
	if p.Normalization != nil {
		n, err := diff.ParseNormalization(*p.Normalization)
		if err != nil || *p.Normalization == "" {
			return out, fmt.Errorf("normalization %q: want share, rest or rate", *p.Normalization)
		}
		out.Normalization = n
	}
	if p.MinRunDrift != nil {
		if !(*p.MinRunDrift > 0 && *p.MinRunDrift <= 1) {
			return out, fmt.Errorf("min_run_drift %s out of range: want more than 0%% and at most 100%% (write 10%% or 0.10)", pct(float64(*p.MinRunDrift)))
		}
		out.MinRunDrift = float64(*p.MinRunDrift)
	}
	if p.MinWindows != nil {
		if *p.MinWindows < 2 || *p.MinWindows > 10000 {
			return out, fmt.Errorf("min_windows %d out of range [2, 10000]", *p.MinWindows)
		}
		out.MinWindows = *p.MinWindows
	}
	if p.MinSamples != nil {
		if *p.MinSamples < 1 {
			return out, fmt.Errorf("min_samples %d: want at least 1", *p.MinSamples)
		}
		out.MinSamples = *p.MinSamples
	}
	return out, nil
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'g', 4, 64) + "%" }

// shortQuote quotes a pattern for a message, cut to a readable length.
func shortQuote(p string) string {
	if len(p) > 60 {
		return strconv.Quote(strings.ToValidUTF8(p[:60], "")) + "…"
	}
	return strconv.Quote(p)
}

func checkPatternSize(field, p string) error {
	if len(p) > maxPatternBytes {
		return fmt.Errorf("%s %s is %d bytes long; the limit is %d", field, shortQuote(p), len(p), maxPatternBytes)
	}
	return nil
}

func (m matchYAML) compile() (Match, error) {
	out := Match{Service: m.Service}
	for _, f := range []struct{ field, p string }{{"service", m.Service}, {"function", m.Function}, {"function_regexp", m.FunctionRegexp}} {
		if err := checkPatternSize(f.field, f.p); err != nil {
			return out, err
		}
	}
	if m.Service != "" {
		if _, err := path.Match(m.Service, ""); err != nil {
			return out, fmt.Errorf("service pattern %s: %v", shortQuote(m.Service), err)
		}
		if _, err := regexp.Compile("^" + globToRegexp(m.Service) + "$"); err != nil {
			return out, fmt.Errorf("service pattern %s: %v", shortQuote(m.Service), err)
		}
	}
	for _, t := range m.Type {
		ids, err := profiletype.Parse(t)
		if err != nil {
			return out, err
		}
		for _, id := range ids {
			out.Types = append(out.Types, id.String())
		}
	}
	switch {
	case m.Function != "" && m.FunctionRegexp != "":
		return out, fmt.Errorf("give function (a glob) or function_regexp, not both")
	case m.Function != "":
		re, err := regexp.Compile("^" + globToRegexp(m.Function) + "$")
		if err != nil {
			return out, fmt.Errorf("function %s: %v", shortQuote(m.Function), err)
		}
		out.Function = re
		out.Pattern = m.Function
	case m.FunctionRegexp != "":
		re, err := regexp.Compile("^(?:" + m.FunctionRegexp + ")$")
		if err != nil {
			return out, fmt.Errorf("function_regexp %s: %v", shortQuote(m.FunctionRegexp), err)
		}
		out.Function = re
		out.Pattern = m.FunctionRegexp
	}
	return out, nil
}

// globToRegexp turns a glob into an unanchored regexp: "*" any run of
// characters, "?" one character, everything else literal.
func globToRegexp(g string) string {
	var b strings.Builder
	for _, r := range g {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// globMatch matches a whole name against a glob where "*" also crosses "/".
func globMatch(pattern, name string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == name
	}
	ok, _ := regexp.MatchString("^"+globToRegexp(pattern)+"$", name)
	return ok
}

// series reports whether m selects the series.
func (m Match) series(service, profileType string) bool {
	if !globMatch(m.Service, service) {
		return false
	}
	if len(m.Types) == 0 {
		return true
	}
	for _, t := range m.Types {
		if t == profileType {
			return true
		}
	}
	return false
}
