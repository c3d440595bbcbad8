package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/pkg/profiletype"
	"github.com/profdiff/profdiff/pkg/pyroscope"
)

// Endpoints are the URLs of a running stack, as Validate needs them. Empty
// Prometheus or Grafana URLs skip those checks (and say so).
type Endpoints struct {
	Services   map[string]string `json:"services"`
	Pyroscope  string            `json:"pyroscope"`
	Prometheus string            `json:"prometheus,omitempty"`
	Grafana    string            `json:"grafana,omitempty"`
}

// Endpoints returns the stack's URLs.
func (s *Stack) Endpoints() Endpoints {
	return Endpoints{Services: s.ServiceURLs(), Pyroscope: s.PyroscopeURL(), Prometheus: s.PrometheusURL(), Grafana: s.GrafanaURL()}
}

// Check is the outcome of one validation check.
type Check struct {
	Name   string
	OK     bool
	Skip   bool
	Detail string
}

func (c Check) String() string {
	status := "ok  "
	switch {
	case c.Skip:
		status = "skip"
	case !c.OK:
		status = "FAIL"
	}
	if c.Detail == "" {
		return status + "  " + c.Name
	}
	return status + "  " + c.Name + ": " + c.Detail
}

// ValidateOptions tune Validate.
type ValidateOptions struct {
	// ProfileWait is how long to wait for every service's profiles to reach
	// Pyroscope (default 30s: a fresh stack uploads every 10s).
	ProfileWait time.Duration
	// Out receives one line per check as it completes; nil discards.
	Out io.Writer
}

// Validate runs the runbook's checks against a running stack: every service
// answers /health; Prometheus is ready, scrapes every service (up) and has
// loaded every alert rule; Grafana (when running) is healthy and has the
// data sources and dashboards provisioned; Pyroscope is ready and receives
// cpu, alloc and lock profiles from every service. It returns every check;
// the stack is valid when none failed.
func Validate(ctx context.Context, ep Endpoints, o ValidateOptions) []Check {
	if o.ProfileWait == 0 {
		o.ProfileWait = 30 * time.Second
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	var checks []Check
	add := func(c Check) {
		checks = append(checks, c)
		fmt.Fprintln(out, c)
	}
	hc := &http.Client{Timeout: 5 * time.Second}

	names := make([]string, 0, len(ep.Services))
	for n := range ep.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		err := getOK(ctx, hc, ep.Services[n]+"/health")
		add(Check{Name: "service " + n + " /health", OK: err == nil, Detail: errDetail(err)})
	}
	if len(names) == 0 {
		add(Check{Name: "services", OK: false, Detail: "no services given"})
	}

	if ep.Prometheus == "" {
		add(Check{Name: "prometheus", Skip: true, OK: true, Detail: "not running in this stack"})
	} else {
		for _, c := range validatePrometheus(ctx, hc, ep.Prometheus, names) {
			add(c)
		}
	}
	if ep.Grafana == "" {
		add(Check{Name: "grafana", Skip: true, OK: true, Detail: "not running in this stack (provisioning is checked by go test ./config/...)"})
	} else {
		for _, c := range validateGrafana(ctx, hc, ep.Grafana) {
			add(c)
		}
	}

	err := getOK(ctx, hc, ep.Pyroscope+"/ready")
	add(Check{Name: "pyroscope /ready", OK: err == nil, Detail: errDetail(err)})
	if err == nil && len(names) > 0 {
		client, err := pyroscope.New(ep.Pyroscope, pyroscope.WithAuthFromEnv())
		if err == nil {
			types := profiletype.Default()
			for _, n := range names {
				err := client.WaitForData(ctx, []string{n}, types, o.ProfileWait)
				add(Check{Name: "pyroscope receives cpu, alloc and lock profiles of " + n, OK: err == nil, Detail: errDetail(err)})
			}
		} else {
			add(Check{Name: "pyroscope client", OK: false, Detail: err.Error()})
		}
	}
	return checks
}

// Failed counts failed checks.
func Failed(checks []Check) int {
	n := 0
	for _, c := range checks {
		if !c.OK {
			n++
		}
	}
	return n
}

func errDetail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func getOK(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func validatePrometheus(ctx context.Context, hc *http.Client, base string, services []string) []Check {
	var out []Check
	err := getOK(ctx, hc, base+"/-/ready")
	out = append(out, Check{Name: "prometheus /-/ready", OK: err == nil, Detail: errDetail(err)})
	if err != nil {
		return out
	}
	// Targets: wait up to a few scrape intervals for the first scrapes.
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		targets.Data.ActiveTargets = nil
		err = getJSON(ctx, hc, base+"/api/v1/targets?state=active", &targets)
		health := map[string]string{}
		for _, t := range targets.Data.ActiveTargets {
			health[t.Labels["job"]] = t.Health + " " + t.LastError
		}
		var bad []string
		for _, s := range services {
			if h := health[s]; !strings.HasPrefix(h, "up") {
				bad = append(bad, s+" ("+strings.TrimSpace(h)+")")
			}
		}
		if (err == nil && len(bad) == 0) || time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil && len(bad) > 0 {
				err = fmt.Errorf("targets not up: %s", strings.Join(bad, ", "))
			}
			break
		}
		time.Sleep(time.Second)
	}
	out = append(out, Check{Name: fmt.Sprintf("prometheus scrapes all %d services (up)", len(services)), OK: err == nil, Detail: errDetail(err)})

	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	err = getJSON(ctx, hc, base+"/api/v1/rules", &rules)
	if err == nil {
		loaded := map[string]bool{}
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				loaded[r.Name] = true
			}
		}
		var missing []string
		for _, a := range config.Alerts {
			if !loaded[a] {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			err = fmt.Errorf("alert rules not loaded: %s", strings.Join(missing, ", "))
		}
	}
	out = append(out, Check{Name: fmt.Sprintf("prometheus has loaded all %d alert rules", len(config.Alerts)), OK: err == nil, Detail: errDetail(err)})
	return out
}

// Grafana's provisioned data sources and dashboards, by uid.
var (
	grafanaDatasources = []string{"pyroscope-ds", "prometheus-ds"}
	grafanaDashboards  = []string{"pyroscope-overview", "go-runtime-deep-dive", "http-performance", "service-comparison"}
)

func validateGrafana(ctx context.Context, hc *http.Client, base string) []Check {
	var out []Check
	err := getOK(ctx, hc, base+"/api/health")
	out = append(out, Check{Name: "grafana /api/health", OK: err == nil, Detail: errDetail(err)})
	if err != nil {
		return out
	}
	for _, uid := range grafanaDatasources {
		err := getOK(ctx, hc, base+"/api/datasources/uid/"+uid)
		out = append(out, Check{Name: "grafana data source " + uid, OK: err == nil, Detail: errDetail(err)})
	}
	for _, uid := range grafanaDashboards {
		err := getOK(ctx, hc, base+"/api/dashboards/uid/"+uid)
		out = append(out, Check{Name: "grafana dashboard " + uid, OK: err == nil, Detail: errDetail(err)})
	}
	return out
}
