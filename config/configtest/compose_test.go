package configtest

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/internal/strict"
)

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Networks []string `yaml:"networks"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Networks map[string]any            `yaml:"networks"`
}

var composePortRE = regexp.MustCompile(`^\$\{PUBLISH_ADDRESS:-0\.0\.0\.0\}:\$\{[A-Z_]+_PORT:-([0-9]+)\}:([0-9]+)$`)

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// wantPorts is every container of the stack and the port it publishes.
func wantPorts() map[string]int {
	ports := map[string]int{"grafana": 3000, "pyroscope": 4040, "prometheus": 9090}
	for _, s := range config.Services {
		ports[s.Name] = s.Port
	}
	return ports
}

func TestComposeServicesAndPorts(t *testing.T) {
	c := loadCompose(t)
	want := wantPorts()
	if len(c.Services) != 10 || len(want) != 10 {
		t.Errorf("compose has %d services %v, want the ten %v", len(c.Services), slices.Sorted(maps.Keys(c.Services)), slices.Sorted(maps.Keys(want)))
	}
	for name, port := range want {
		t.Run(name, func(t *testing.T) {
			s, ok := c.Services[name]
			if !ok {
				t.Fatalf("service %s missing", name)
			}
			// "${PUBLISH_ADDRESS:-0.0.0.0}:${NAME_PORT:-8080}:8080": the host
			// side is a variable (a second stack can sit beside the first)
			// whose default is the port itself.
			m := composePortRE.FindStringSubmatch(strings.Join(s.Ports, " "))
			if len(s.Ports) != 1 || m == nil || m[1] != fmt.Sprint(port) || m[2] != fmt.Sprint(port) {
				t.Errorf("ports %v, want [${PUBLISH_ADDRESS:-0.0.0.0}:${..._PORT:-%d}:%d]", s.Ports, port, port)
			}
			if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
				t.Errorf("no exec-form health check")
			} else if !strings.Contains(strings.Join(s.Healthcheck.Test, " "), fmt.Sprint(port)) {
				t.Errorf("health check %v does not probe port %d", s.Healthcheck.Test, port)
			}
			if len(s.Networks) != 1 || s.Networks[0] != "bank" {
				t.Errorf("networks %v, want [bank]", s.Networks)
			}
		})
	}
}

func TestComposeBankServices(t *testing.T) {
	c := loadCompose(t)
	for _, svc := range config.Services {
		t.Run(svc.Name, func(t *testing.T) {
			s := c.Services[svc.Name]
			if s.Build == nil || s.Build.Context != "." || s.Build.Dockerfile != "services/Dockerfile" {
				t.Errorf("build %+v, want context . and services/Dockerfile", s.Build)
			}
			wantCmd := []string{"--service", svc.Name, "--addr", fmt.Sprintf(":%d", svc.Port)}
			if strings.Join(s.Command, " ") != strings.Join(wantCmd, " ") {
				t.Errorf("command %v, want %v", s.Command, wantCmd)
			}
			env := s.Environment
			if env["PYROSCOPE_APPLICATION_NAME"] != svc.Name {
				t.Errorf("PYROSCOPE_APPLICATION_NAME = %q", env["PYROSCOPE_APPLICATION_NAME"])
			}
			if env["PYROSCOPE_SERVER_ADDRESS"] != "http://pyroscope:4040" {
				t.Errorf("PYROSCOPE_SERVER_ADDRESS = %q", env["PYROSCOPE_SERVER_ADDRESS"])
			}
			for _, ev := range []string{"cpu", "alloc", "lock"} {
				if !strings.Contains(env["PYROSCOPE_PROFILER_EVENT"], ev) {
					t.Errorf("PYROSCOPE_PROFILER_EVENT %q lacks %s", env["PYROSCOPE_PROFILER_EVENT"], ev)
				}
			}
			if env["GOMEMLIMIT"] == "" {
				t.Error("GOMEMLIMIT unset: HighHeapUsage would have no limit to compare with")
			}
		})
	}
	// The gateway reaches the others by their compose names.
	gw := c.Services["bank-api-gateway"].Environment
	for _, svc := range config.Services[1:] {
		short := strings.TrimSuffix(strings.TrimPrefix(svc.Name, "bank-"), "-service")
		key := "BANK_" + strings.ToUpper(short) + "_URL"
		if want := fmt.Sprintf("http://%s:%d", svc.Name, svc.Port); gw[key] != want {
			t.Errorf("gateway %s = %q, want %q", key, gw[key], want)
		}
	}
}

func TestComposeMounts(t *testing.T) {
	c := loadCompose(t)
	mounts := map[string]map[string]string{} // service → container path → source
	for name, s := range c.Services {
		mounts[name] = map[string]string{}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Errorf("%s: volume %q has no target", name, v)
				continue
			}
			src, dst := parts[0], parts[1]
			mounts[name][dst] = src
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(repoPath(t, filepath.FromSlash(src))); err != nil {
					t.Errorf("%s: mounted %s does not exist: %v", name, src, err)
				}
				if len(parts) < 3 || parts[2] != "ro" {
					t.Errorf("%s: config mount %s is not read-only", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: named volume %s not declared", name, src)
			}
		}
	}
	for _, tc := range []struct{ service, path, want string }{
		{"pyroscope", "/etc/pyroscope/config.yaml", "./config/pyroscope/pyroscope.yaml"},
		{"pyroscope", "/data", "pyroscope-data"},
		{"prometheus", "/etc/prometheus/prometheus.yml", "./config/prometheus/prometheus.yml"},
		// rule_files names alerts.yml relative to prometheus.yml: same folder.
		{"prometheus", "/etc/prometheus/alerts.yml", "./config/prometheus/alerts.yml"},
		{"prometheus", "/prometheus", "prometheus-data"},
		{"grafana", "/etc/grafana/provisioning", "./config/grafana/provisioning"},
		{"grafana", "/var/lib/grafana", "grafana-data"},
	} {
		if got := mounts[tc.service][tc.path]; got != tc.want {
			t.Errorf("%s: %s mounted from %q, want %q", tc.service, tc.path, got, tc.want)
		}
	}
	// The Pyroscope command reads the mounted file.
	if cmd := strings.Join(c.Services["pyroscope"].Command, " "); !strings.Contains(cmd, "-config.file=/etc/pyroscope/config.yaml") {
		t.Errorf("pyroscope command %q does not read the mounted config", cmd)
	}
	if cmd := strings.Join(c.Services["prometheus"].Command, " "); !strings.Contains(cmd, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus command %q does not read the mounted config", cmd)
	}
}

// TestComposeMatchesPrometheusAndGrafana cross-checks names across files:
// Prometheus scrapes the compose names and ports, Grafana's data sources
// point at the compose names.
func TestComposeMatchesPrometheusAndGrafana(t *testing.T) {
	c := loadCompose(t)
	ports := wantPorts()
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(config.PrometheusYAML, &prom); err != nil {
		t.Fatal(err)
	}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				if host == "localhost" {
					continue
				}
				if _, ok := c.Services[host]; !ok {
					t.Errorf("prometheus job %s scrapes %s, not a compose service", sc.JobName, target)
				} else if fmt.Sprint(ports[host]) != port {
					t.Errorf("prometheus job %s scrapes port %s, compose publishes %d", sc.JobName, port, ports[host])
				}
			}
		}
	}
	var ds datasourcesFile
	if err := yaml.Unmarshal(config.GrafanaDatasourcesYAML, &ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Datasources {
		host := strings.TrimPrefix(d.URL, "http://")
		host, port, _ := strings.Cut(host, ":")
		if _, ok := c.Services[host]; !ok || fmt.Sprint(ports[host]) != port {
			t.Errorf("data source %s points at %s, not a compose service and port", d.UID, d.URL)
		}
	}
}

func TestComposeDockerfileExists(t *testing.T) {
	if _, err := os.Stat(repoPath(t, "services", "Dockerfile")); err != nil {
		strict.SkipOrFail(t, "services/Dockerfile, which the compose file builds, does not exist yet")
	}
}

// TestComposeConfigValidates runs `docker compose config` (Compose v2) or
// `docker-compose config` (v1), whichever is installed.
func TestComposeConfigValidates(t *testing.T) {
	var name string
	var args []string
	if p, err := exec.LookPath("docker"); err == nil {
		if out, err := exec.Command(p, "compose", "version").CombinedOutput(); err == nil && strings.Contains(string(out), "version") {
			name, args = p, []string{"compose"}
		}
	}
	if name == "" {
		if p, err := exec.LookPath("docker-compose"); err == nil {
			name = p
		}
	}
	if name == "" {
		strict.SkipOrFail(t, "neither `docker compose` nor `docker-compose` is installed")
	}
	args = append(args, "-f", "docker-compose.yml", "config", "-q")
	out, err := run(t, time.Minute, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("real tool: %s %s: valid", name, strings.Join(args, " "))
}

func TestPyroscopeConfig(t *testing.T) {
	var cfg struct {
		Target string `yaml:"target"`
		Server struct {
			HTTPListenPort int `yaml:"http_listen_port"`
		} `yaml:"server"`
		PyroscopeDB struct {
			DataPath string `yaml:"data_path"`
		} `yaml:"pyroscopedb"`
		Storage struct {
			Backend    string `yaml:"backend"`
			Filesystem struct {
				Dir string `yaml:"dir"`
			} `yaml:"filesystem"`
		} `yaml:"storage"`
		Limits struct {
			Retention string `yaml:"compactor_blocks_retention_period"`
		} `yaml:"limits"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(config.PyroscopeYAML)))
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Target != "all" {
		t.Errorf("target %q, want all (single binary)", cfg.Target)
	}
	if cfg.Server.HTTPListenPort != 4040 {
		t.Errorf("http_listen_port %d, want 4040", cfg.Server.HTTPListenPort)
	}
	if cfg.Storage.Backend != "filesystem" {
		t.Errorf("storage backend %q, want filesystem", cfg.Storage.Backend)
	}
	// Data must live on the volume compose mounts at /data.
	for _, p := range []string{cfg.PyroscopeDB.DataPath, cfg.Storage.Filesystem.Dir} {
		if !strings.HasPrefix(p, "/data/") {
			t.Errorf("data path %q is not on the /data volume", p)
		}
	}
	if cfg.Limits.Retention == "" || cfg.Limits.Retention == "0" || cfg.Limits.Retention == "0s" {
		t.Errorf("no retention set (limits.compactor_blocks_retention_period = %q)", cfg.Limits.Retention)
	}
}

// TestBankHealthcheckMode runs the compose health check's command against a
// live service: the bank binary, given --healthcheck URL, must exit 0 while
// the service answers and non-zero when it does not (the image is FROM
// scratch, so there is no curl or wget to probe with).
func TestBankHealthcheckMode(t *testing.T) {
	c := loadCompose(t)
	test := c.Services["bank-api-gateway"].Healthcheck.Test
	if len(test) != 4 || test[1] != "/bank" || test[2] != "--healthcheck" {
		t.Fatalf("unexpected health check form %v", test)
	}
	bin := bankBinary(t)
	_, addr := startBank(t, bin, "bank-api-gateway")
	out, err := exec.Command(bin, "--healthcheck", "http://"+addr+"/health").CombinedOutput()
	if err != nil && strings.Contains(string(out), "flag provided but not defined") {
		strict.SkipOrFail(t, "the bank binary has no --healthcheck mode yet, which the compose health checks use")
	}
	if err != nil {
		t.Fatalf("--healthcheck against a healthy service: %v\n%s", err, out)
	}
	if err := exec.Command(bin, "--healthcheck", "http://"+freeAddr(t)+"/health").Run(); err == nil {
		t.Fatal("--healthcheck against a closed port exited 0")
	}
	t.Log("real service binary: --healthcheck passes on a live service and fails on a closed port")
}
