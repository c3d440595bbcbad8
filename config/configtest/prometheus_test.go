package configtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/profdiff/profdiff/config"
)

// ruleFile is the part of alerts.yml the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal(config.AlertsYAML, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// The alerts the runbook documents (docs/runbook.md, "Alerts"): alert → for and severity.
var wantAlerts = map[string]struct{ for_, severity string }{
	"HighCpuUsage":    {"1m", "warning"},
	"HighHeapUsage":   {"2m", "warning"},
	"HighGcPauseRate": {"1m", "warning"},
	"HighErrorRate":   {"1m", "critical"},
	"HighLatency":     {"2m", "warning"},
	"ServiceDown":     {"30s", "critical"},
}

func TestAlertRulesShape(t *testing.T) {
	rf := loadRules(t)
	seen := map[string]bool{}
	dashboards := map[string]bool{"pyroscope-overview": true, "go-runtime-deep-dive": true, "http-performance": true, "service-comparison": true}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				want, ok := wantAlerts[r.Alert]
				if !ok {
					t.Fatalf("unexpected alert %q", r.Alert)
				}
				if seen[r.Alert] {
					t.Fatalf("alert %s defined twice", r.Alert)
				}
				seen[r.Alert] = true
				if r.For != want.for_ {
					t.Errorf("for = %q, want %q", r.For, want.for_)
				}
				if r.Labels["severity"] != want.severity {
					t.Errorf("severity = %q, want %q", r.Labels["severity"], want.severity)
				}
				for _, k := range []string{"summary", "description", "dashboard", "runbook"} {
					if strings.TrimSpace(r.Annotations[k]) == "" {
						t.Errorf("annotation %s missing", k)
					}
				}
				// The dashboard annotation is a Grafana path /d/<uid>/<slug>.
				parts := strings.Split(strings.TrimPrefix(r.Annotations["dashboard"], "/d/"), "/")
				if !strings.HasPrefix(r.Annotations["dashboard"], "/d/") || !dashboards[parts[0]] {
					t.Errorf("dashboard annotation %q does not name one of the four dashboards", r.Annotations["dashboard"])
				}
				if !strings.HasPrefix(r.Annotations["runbook"], "docs/runbook.md#playbook-") {
					t.Errorf("runbook annotation %q is not a runbook playbook anchor", r.Annotations["runbook"])
				}
				if !strings.Contains(r.Annotations["description"], r.Annotations["runbook"]) {
					t.Errorf("description does not point to the playbook %s", r.Annotations["runbook"])
				}
				if !strings.Contains(r.Expr, `job=~"bank-.+"`) {
					t.Errorf("expression does not restrict itself to the bank jobs: %s", r.Expr)
				}
			})
		}
	}
	for name := range wantAlerts {
		if !seen[name] {
			t.Errorf("alert %s missing from alerts.yml", name)
		}
	}
	if len(config.Alerts) != len(wantAlerts) {
		t.Errorf("config.Alerts has %d names, want %d", len(config.Alerts), len(wantAlerts))
	}
}

func TestAlertRulesParseAndUseExportedMetrics(t *testing.T) {
	rf := loadRules(t)
	var qs []Query
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			qs = append(qs, Query{Where: "alert " + r.Alert, Expr: r.Expr})
		}
	}
	// Parsing needs nothing outside; do it first so it runs everywhere.
	for _, p := range CheckQueries(qs, nil) {
		t.Error(p)
	}
	exp := bankExported(t)
	for _, p := range CheckQueries(qs, exp) {
		t.Error(p)
	}
	t.Logf("checked %d alert expressions against %d series names a running bank service exports", len(qs), len(exp))
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	local, err := config.LocalPrometheusConfig(localAddrs(), config.LocalOptions{
		ScrapeInterval: time.Second, EvaluationInterval: time.Second,
		RuleFiles: []string{filepath.Join(dir, "alerts.yml")},
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "local.yml"), local)
	writeFile(t, filepath.Join(dir, "alerts.yml"), config.AlertsYAML)
	for _, tc := range []struct{ name, path string }{
		{"compose", repoPath(t, "config", "prometheus", "prometheus.yml")},
		{"loopback copy", filepath.Join(dir, "local.yml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, time.Minute, promtool, "check", "config", tc.path)
			if err != nil {
				t.Fatalf("promtool check config: %v\n%s", err, out)
			}
			t.Logf("promtool check config %s:\n%s", tc.name, out)
		})
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "promtool")
	out, err := run(t, time.Minute, promtool, "check", "rules", "config/prometheus/alerts.yml")
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS: 6 rules found") {
		t.Errorf("want 6 rules, promtool says:\n%s", out)
	}
	t.Logf("promtool check rules:\n%s", out)
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := tool(t, "promtool")
	out, err := run(t, time.Minute, promtool, "test", "rules", "config/prometheus/alerts_test.yml")
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("promtool test rules:\n%s", out)
	// Every alert has a firing and a non-firing case in the test file.
	data := string(readRepoFile(t, "config", "prometheus", "alerts_test.yml"))
	for name := range wantAlerts {
		if n := strings.Count(data, "alertname: "+name+"\n"); n < 2 {
			t.Errorf("alerts_test.yml evaluates %s %d times, want a firing and a non-firing case", name, n)
		}
	}
}

// TestPromtoolTestRulesCatchMutations proves the rule tests have teeth: each
// mutation of alerts.yml (a threshold, a comparison, a `for`) must make
// `promtool test rules` fail, on the firing side or the non-firing side.
func TestPromtoolTestRulesCatchMutations(t *testing.T) {
	promtool := tool(t, "promtool")
	testFile := readRepoFile(t, "config", "prometheus", "alerts_test.yml")
	rules := string(config.AlertsYAML)
	for _, m := range []struct {
		name, alert, old, new string
	}{
		{"cpu threshold raised (firing case must catch)", "HighCpuUsage", "> 0.8", "> 0.95"},
		{"cpu not normalized by GOMAXPROCS", "HighCpuUsage", `/ on (job, instance) go_sched_gomaxprocs_threads{job=~"bank-.+"}`, "/ 1"},
		{"heap threshold lowered (50% case must stay silent)", "HighHeapUsage", "> 0.85", "> 0.4"},
		{"heap for shortened (1m case must stay silent)", "HighHeapUsage", "for: 2m", "for: 30s"},
		{"gc threshold raised", "HighGcPauseRate", "> 0.05", "> 0.1"},
		{"error rate counts the threshold itself", "HighErrorRate", "> 0.05", ">= 0.05"},
		{"error rate counts 4xx", "HighErrorRate", `code=~"5.."`, `code=~"[45].."`},
		{"latency threshold raised", "HighLatency", "> 2", "> 5"},
		{"service down without for", "ServiceDown", "for: 30s", "for: 0s"},
	} {
		t.Run(m.name, func(t *testing.T) {
			mutated, err := mutateRule(rules, m.alert, m.old, m.new)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "alerts.yml"), []byte(mutated))
			writeFile(t, filepath.Join(dir, "alerts_test.yml"), testFile)
			out, err := run(t, time.Minute, promtool, "test", "rules", filepath.Join(dir, "alerts_test.yml"))
			if err == nil {
				t.Fatalf("promtool test rules passed with mutated %s (%q → %q):\n%s", m.alert, m.old, m.new, out)
			}
		})
	}
}

// mutateRule replaces old with new inside one alert's block of alerts.yml.
func mutateRule(rules, alert, old, new string) (string, error) {
	start := strings.Index(rules, "- alert: "+alert+"\n")
	if start < 0 {
		return "", fmt.Errorf("alert %s not found", alert)
	}
	end := strings.Index(rules[start+1:], "- alert: ")
	if end < 0 {
		end = len(rules)
	} else {
		end += start + 1
	}
	block := rules[start:end]
	if !strings.Contains(block, old) {
		return "", fmt.Errorf("alert %s has no %q", alert, old)
	}
	return rules[:start] + strings.Replace(block, old, new, 1) + rules[end:], nil
}

func TestPrometheusConfigScrapesEveryService(t *testing.T) {
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(config.PrometheusYAML, &cfg); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]string{}
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.StaticConfigs) != 1 || len(sc.StaticConfigs[0].Targets) != 1 {
			t.Errorf("job %s: want exactly one target", sc.JobName)
			continue
		}
		jobs[sc.JobName] = sc.StaticConfigs[0].Targets[0]
	}
	for _, s := range config.Services {
		want := fmt.Sprintf("%s:%d", s.Name, s.Port)
		if jobs[s.Name] != want {
			t.Errorf("job %s scrapes %q, want %q (job and instance name the service)", s.Name, jobs[s.Name], want)
		}
	}
	if len(cfg.RuleFiles) != 1 || cfg.RuleFiles[0] != "alerts.yml" {
		t.Errorf("rule_files = %v, want [alerts.yml]", cfg.RuleFiles)
	}
}

func TestLocalPrometheusConfig(t *testing.T) {
	addrs := localAddrs()
	out, err := config.LocalPrometheusConfig(addrs, config.LocalOptions{ScrapeInterval: time.Second, EvaluationInterval: 2 * time.Second, RuleFiles: []string{"/x/rules.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]any `yaml:"global"`
		RuleFiles     []string       `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Global["scrape_interval"] != "1s" || cfg.Global["evaluation_interval"] != "2s" || cfg.Global["scrape_timeout"] != "1s" {
		t.Errorf("global = %v", cfg.Global)
	}
	if len(cfg.RuleFiles) != 1 || cfg.RuleFiles[0] != "/x/rules.yml" {
		t.Errorf("rule_files = %v", cfg.RuleFiles)
	}
	if len(cfg.ScrapeConfigs) != len(addrs) {
		t.Errorf("%d jobs, want %d", len(cfg.ScrapeConfigs), len(addrs))
	}
	for _, sc := range cfg.ScrapeConfigs {
		st := sc.StaticConfigs[0]
		if st.Targets[0] != addrs[sc.JobName] {
			t.Errorf("job %s targets %v, want %s", sc.JobName, st.Targets, addrs[sc.JobName])
		}
		if sc.JobName != "prometheus" && !strings.HasPrefix(st.Labels["instance"], sc.JobName+":") {
			t.Errorf("job %s instance label %q does not keep the service name", sc.JobName, st.Labels["instance"])
		}
	}
	// A job that is not in prometheus.yml is an error, not silently ignored.
	if _, err := config.LocalPrometheusConfig(map[string]string{"bank-nope": "127.0.0.1:1"}, config.LocalOptions{}); err == nil {
		t.Error("unknown job accepted")
	}
}

func TestAlertRulesWithFor(t *testing.T) {
	out, err := config.AlertRulesWithFor(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(out, &rf); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			if r.For != "2s" {
				t.Errorf("%s: for = %q, want 2s", r.Alert, r.For)
			}
		}
	}
	if n != 6 {
		t.Errorf("%d rules, want 6", n)
	}
}

func localAddrs() map[string]string {
	addrs := map[string]string{"prometheus": "127.0.0.1:9"}
	for i, s := range config.Services {
		addrs[s.Name] = fmt.Sprintf("127.0.0.1:%d", 18080+i)
	}
	return addrs
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
