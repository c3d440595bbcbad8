// Package configtest checks the bank stack's operational configuration
// against the real thing: promtool and Prometheus for the scrape config and
// alert rules, a running bank service for the metric names that rules and
// dashboards use, and the provisioned data sources for every panel.
//
// The checks are plain functions (used by the tests in this package, and
// usable by the harness's `validate`); the tests that need an outside tool
// skip with a reason when it is missing, unless PROFDIFF_STRICT=1, where a
// missing tool fails the run.
package configtest

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// Exported is the set of series names a service exposes on /metrics, with
// the names a histogram or summary family expands to (_bucket, _sum, _count).
type Exported map[string]bool

// ParseExposition reads a Prometheus text exposition (a /metrics body).
func ParseExposition(r io.Reader) (Exported, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	out := Exported{}
	for name, mf := range families {
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			out[name+"_bucket"] = true
			out[name+"_sum"] = true
			out[name+"_count"] = true
		case "SUMMARY":
			out[name] = true
			out[name+"_sum"] = true
			out[name+"_count"] = true
		default:
			out[name] = true
		}
	}
	return out, nil
}

// Synthetic are series Prometheus makes itself for every target or rule;
// they are never on a service's /metrics.
var Synthetic = map[string]bool{
	"up":                                    true,
	"scrape_duration_seconds":               true,
	"scrape_samples_scraped":                true,
	"scrape_samples_post_metric_relabeling": true,
	"scrape_series_added":                   true,
	"ALERTS":                                true,
	"ALERTS_FOR_STATE":                      true,
}

// Query is one PromQL expression and where it was found, for messages.
type Query struct {
	Where string // e.g. `dashboard http-performance, panel "p99 latency", ref A`
	Expr  string
}

// Problem is one finding about a query.
type Problem struct {
	Where, Detail string
}

func (p Problem) String() string { return p.Where + ": " + p.Detail }

// The values template variables take when an expression is checked. Every
// variable a dashboard uses must be here, or the check reports it.
var templateValues = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "30m",
	"service":         "bank-api-gateway",
	"route":           ".*",
}

var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// Substitute replaces Grafana template variables ($service, ${service},
// [[service]], $__rate_interval, ...) with sample values so that Prometheus's
// parser can read the expression. An unknown variable is an error.
func Substitute(expr string) (string, error) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := templateValues[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown template variable(s) %v", unknown)
	}
	return out, nil
}

var promql = parser.NewParser(parser.Options{})

// Parse substitutes template variables and parses the expression with
// Prometheus's PromQL parser.
func Parse(expr string) (parser.Expr, error) {
	s, err := Substitute(expr)
	if err != nil {
		return nil, err
	}
	e, err := promql.ParseExpr(s)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// MetricNames lists the metric names an expression selects, sorted. A
// selector without a fixed name (e.g. {__name__=~"..."}) is reported as "".
func MetricNames(e parser.Expr) []string {
	set := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type.String() == "=" {
					name = m.Value
				}
			}
		}
		set[name] = true
		return nil
	})
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckQueries parses every query and reports those that do not parse and
// every metric they use that is neither in exported nor synthetic. With a nil
// exported set only parsing is checked.
func CheckQueries(queries []Query, exported Exported) []Problem {
	var problems []Problem
	for _, q := range queries {
		e, err := Parse(q.Expr)
		if err != nil {
			problems = append(problems, Problem{q.Where, fmt.Sprintf("does not parse: %v (%q)", err, q.Expr)})
			continue
		}
		if exported == nil {
			continue
		}
		for _, name := range MetricNames(e) {
			switch {
			case name == "":
				problems = append(problems, Problem{q.Where, fmt.Sprintf("selector without a metric name in %q", q.Expr)})
			case !exported[name] && !Synthetic[name]:
				problems = append(problems, Problem{q.Where, fmt.Sprintf("metric %s is not exported by the bank services", name)})
			}
		}
	}
	return problems
}

// Panel target as it is in dashboard JSON; fields of both query kinds.
type Target struct {
	RefID         string          `json:"refId"`
	Datasource    *DatasourceRef  `json:"datasource"`
	Expr          string          `json:"expr"`          // Prometheus
	ProfileTypeID string          `json:"profileTypeId"` // Pyroscope
	LabelSelector string          `json:"labelSelector"` // Pyroscope
	QueryType     string          `json:"queryType"`
	Extra         json.RawMessage `json:"-"`
}

// DatasourceRef names a data source by uid and plugin type.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel as it is in dashboard JSON (rows hold panels too).
type Panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *DatasourceRef `json:"datasource"`
	Targets    []Target       `json:"targets"`
	Panels     []Panel        `json:"panels"`
}

// Variable is a templating variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *DatasourceRef  `json:"datasource"`
}

// Dashboard is the part of a dashboard's JSON the checks read.
type Dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// ParseDashboard reads dashboard JSON.
func ParseDashboard(data []byte) (Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return d, err
	}
	if d.UID == "" {
		return d, fmt.Errorf("dashboard %q has no uid", d.Title)
	}
	return d, nil
}

// AllPanels flattens rows into one list of panels (rows included).
func (d Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$`)

// PromQueries lists every PromQL expression in the dashboard: panel targets
// on a Prometheus data source, and the selector inside each Prometheus
// query variable's label_values(selector, label).
func (d Dashboard) PromQueries() []Query {
	var qs []Query
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			ds := t.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if ds == nil || ds.Type != "prometheus" {
				continue
			}
			qs = append(qs, Query{
				Where: fmt.Sprintf("dashboard %s, panel %q, ref %s", d.UID, p.Title, t.RefID),
				Expr:  t.Expr,
			})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" || v.Datasource == nil || v.Datasource.Type != "prometheus" {
			continue
		}
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			_ = json.Unmarshal(v.Query, &obj)
			q = obj.Query
		}
		where := fmt.Sprintf("dashboard %s, variable $%s", d.UID, v.Name)
		if m := labelValuesRE.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		qs = append(qs, Query{Where: where, Expr: q})
	}
	return qs
}

// PyroscopeTargets lists every target that reads the Pyroscope data source.
func (d Dashboard) PyroscopeTargets(pyroscopeType string) map[string]Target {
	out := map[string]Target{}
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			ds := t.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if ds != nil && ds.Type == pyroscopeType {
				out[fmt.Sprintf("dashboard %s, panel %q, ref %s", d.UID, p.Title, t.RefID)] = t
			}
		}
	}
	return out
}

// DatasourceRefs lists every data source reference in the dashboard (panels,
// targets, variables), keyed by where it is.
func (d Dashboard) DatasourceRefs() map[string]DatasourceRef {
	out := map[string]DatasourceRef{}
	for _, p := range d.AllPanels() {
		if p.Datasource != nil {
			out[fmt.Sprintf("dashboard %s, panel %q", d.UID, p.Title)] = *p.Datasource
		}
		for _, t := range p.Targets {
			if t.Datasource != nil {
				out[fmt.Sprintf("dashboard %s, panel %q, ref %s", d.UID, p.Title, t.RefID)] = *t.Datasource
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Datasource != nil {
			out[fmt.Sprintf("dashboard %s, variable $%s", d.UID, v.Name)] = *v.Datasource
		}
	}
	return out
}

// ProfileTypes are the Pyroscope profile type IDs the bank services produce
// (docs/cli.md, "Profile types").
var ProfileTypes = map[string]bool{
	"process_cpu:cpu:nanoseconds:cpu:nanoseconds": true,
	"memory:alloc_space:bytes:space:bytes":        true,
	"memory:alloc_objects:count:space:bytes":      true,
	"memory:inuse_space:bytes:space:bytes":        true,
	"memory:inuse_objects:count:space:bytes":      true,
	"mutex:delay:nanoseconds:contentions:count":   true,
	"mutex:contentions:count:contentions:count":   true,
	"block:delay:nanoseconds:contentions:count":   true,
	"block:contentions:count:contentions:count":   true,
	"goroutine:goroutine:count:goroutine:count":   true,
}

var serviceNameSel = regexp.MustCompile(`^\{\s*service_name\s*=~?\s*"[^"]+"\s*(,.*)?\}$`)

// CheckPyroscopeTarget reports what is wrong with one Pyroscope query: a
// profile type the services do not produce, or a label selector that does
// not pick services by service_name.
func CheckPyroscopeTarget(where string, t Target) []Problem {
	var ps []Problem
	if !ProfileTypes[t.ProfileTypeID] {
		ps = append(ps, Problem{where, fmt.Sprintf("profile type %q is not one the bank services produce", t.ProfileTypeID)})
	}
	if !serviceNameSel.MatchString(strings.TrimSpace(t.LabelSelector)) {
		ps = append(ps, Problem{where, fmt.Sprintf("label selector %q does not select by service_name", t.LabelSelector)})
	}
	return ps
}
