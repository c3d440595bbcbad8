// Package config holds the bank stack's operational configuration —
// Prometheus scrape config and alert rules, Grafana provisioning, Pyroscope
// config — and derives the variants that run outside the compose network.
//
// The files under this folder are the source of truth and are used as they
// are by docker-compose.yml. Tests and the harness's local backend run the
// services on loopback ports instead of compose DNS names; LocalPrometheusConfig
// rewrites the scrape targets for that while keeping every label, so alert
// rules and dashboards see the same job and instance values everywhere.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// The files, embedded so that the harness can use them from any directory.
var (
	//go:embed prometheus/prometheus.yml
	PrometheusYAML []byte
	//go:embed prometheus/alerts.yml
	AlertsYAML []byte
	//go:embed pyroscope/pyroscope.yaml
	PyroscopeYAML []byte
	//go:embed grafana/provisioning/datasources/datasources.yml
	GrafanaDatasourcesYAML []byte
)

// Service is one bank service as the stack deploys it.
type Service struct {
	Name string // job label, Pyroscope service_name, compose service name
	Port int    // port on the compose network and the default local port
}

// Services are the seven bank services in port order.
var Services = []Service{
	{"bank-api-gateway", 8080},
	{"bank-order-service", 8081},
	{"bank-payment-service", 8082},
	{"bank-fraud-service", 8083},
	{"bank-account-service", 8084},
	{"bank-loan-service", 8085},
	{"bank-notification-service", 8086},
}

// Alerts are the alert names in alerts.yml.
var Alerts = []string{"HighCpuUsage", "HighHeapUsage", "HighGcPauseRate", "HighErrorRate", "HighLatency", "ServiceDown"}

// LocalOptions adjusts the derived Prometheus config.
type LocalOptions struct {
	// ScrapeInterval and EvaluationInterval override the global ones when
	// non-zero (tests use 1s).
	ScrapeInterval     time.Duration
	EvaluationInterval time.Duration
	// RuleFiles replaces rule_files (paths as Prometheus will see them);
	// nil keeps alerts.yml, relative to the written config file.
	RuleFiles []string
}

// LocalPrometheusConfig returns prometheus.yml with the scrape target of each
// job in addrs ("host:port") replaced by that address. The instance label
// keeps the compose value (e.g. "bank-fraud-service:8083"), so rules,
// dashboards and alert labels read the same as in the compose stack. Jobs not
// in addrs are dropped, so a partial stack does not report phantom targets.
func LocalPrometheusConfig(addrs map[string]string, opts LocalOptions) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(PrometheusYAML, &cfg); err != nil {
		return nil, fmt.Errorf("prometheus.yml: %w", err)
	}
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	if opts.ScrapeInterval > 0 {
		global["scrape_interval"] = model(opts.ScrapeInterval)
		if t, ok := global["scrape_timeout"]; ok && t != nil {
			global["scrape_timeout"] = model(opts.ScrapeInterval)
		}
	}
	if opts.EvaluationInterval > 0 {
		global["evaluation_interval"] = model(opts.EvaluationInterval)
	}
	if opts.RuleFiles != nil {
		cfg["rule_files"] = opts.RuleFiles
	}
	jobs, _ := cfg["scrape_configs"].([]any)
	var kept []any
	seen := map[string]bool{}
	for _, j := range jobs {
		job, _ := j.(map[string]any)
		name, _ := job["job_name"].(string)
		addr, ok := addrs[name]
		if !ok {
			continue
		}
		seen[name] = true
		statics, _ := job["static_configs"].([]any)
		if len(statics) != 1 {
			return nil, fmt.Errorf("job %s: want one static_config, have %d", name, len(statics))
		}
		sc, _ := statics[0].(map[string]any)
		targets, _ := sc["targets"].([]any)
		if len(targets) != 1 {
			return nil, fmt.Errorf("job %s: want one target, have %d", name, len(targets))
		}
		labels, _ := sc["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels["instance"] = targets[0]
		sc["labels"] = labels
		sc["targets"] = []any{addr}
		kept = append(kept, job)
	}
	var missing []string
	for name := range addrs {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no scrape job named %v in prometheus.yml", missing)
	}
	cfg["scrape_configs"] = kept
	return marshal(cfg)
}

// AlertRulesWithFor returns alerts.yml with every rule's `for` capped at
// maxFor, for tests that cannot wait a minute for an alert to fire.
func AlertRulesWithFor(maxFor time.Duration) ([]byte, error) {
	var rf struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(AlertsYAML, &rf); err != nil {
		return nil, fmt.Errorf("alerts.yml: %w", err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if f, ok := r["for"].(string); ok {
				d, err := parsePromDuration(f)
				if err != nil {
					return nil, fmt.Errorf("rule %v: for %q: %w", r["alert"], f, err)
				}
				if d > maxFor {
					r["for"] = model(maxFor)
				}
			}
		}
	}
	return marshal(rf)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// model formats a duration the way Prometheus's config parser accepts it
// (no fractional units: "1s", "500ms", "1m30s").
func model(d time.Duration) string {
	if d%time.Second != 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	s := int64(d / time.Second)
	out := ""
	if h := s / 3600; h > 0 {
		out += fmt.Sprintf("%dh", h)
		s %= 3600
	}
	if m := s / 60; m > 0 {
		out += fmt.Sprintf("%dm", m)
		s %= 60
	}
	if s > 0 || out == "" {
		out += fmt.Sprintf("%ds", s)
	}
	return out
}

// parsePromDuration reads the subset of Prometheus durations the rules use
// (e.g. "30s", "1m", "1m30s", "2h"); Go's parser covers it once days and
// weeks are excluded.
func parsePromDuration(s string) (time.Duration, error) {
	for _, c := range s {
		if c == 'd' || c == 'w' || c == 'y' {
			return 0, fmt.Errorf("unsupported unit in %q", s)
		}
	}
	return time.ParseDuration(s)
}
