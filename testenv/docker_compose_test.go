package testenv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/profdiff/profdiff/internal/composestack"
)

// composeSpecs parses the repository's compose files with edit applied to
// their text and returns the Docker backend's containers for them, by name,
// without Docker: the plan is what prepareImages decides on a machine where
// nothing can be pulled but Grafana's image is present.
func composeSpecs(t *testing.T, edit func(base, local string) (string, string), realPyroscope bool) (map[string]containerSpec, error) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base, local := read(composestack.File), read(composestack.LocalFile)
	if edit != nil {
		base, local = edit(base, local)
	}
	st, err := composestack.Parse([]byte(base), []byte(local))
	if err != nil {
		return nil, err
	}
	opts := Options{Backend: Docker, Services: []string{"gateway", "fraud"}, Inject: "fraud.rules=1.5", WorkDir: t.TempDir()}
	if err := opts.setDefaults(); err != nil {
		t.Fatal(err)
	}
	d := &dockerStack{opts: &opts, progress: io.Discard, urls: map[string]string{}, compose: st}
	p := &dockerPlan{
		moduleDir: "..", bank: bankImage,
		pyroscope: &componentImage{image: profstoreImage, substitute: true},
		prom:      &componentImage{image: promDebianImage, substitute: true},
		grafana:   &componentImage{image: composeImages(st).Grafana},
	}
	if realPyroscope {
		p.pyroscope = &componentImage{image: composeImages(st).Pyroscope}
	}
	specs, err := d.specs(p)
	if err != nil {
		return nil, err
	}
	out := map[string]containerSpec{}
	for _, sp := range specs {
		out[sp.name] = sp
	}
	return out, nil
}

// replace edits one of the two files, failing the test when old is not in it.
func replace(t *testing.T, local bool, old, new string) func(string, string) (string, string) {
	return func(b, l string) (string, string) {
		f := &b
		if local {
			f = &l
		}
		if !strings.Contains(*f, old) {
			t.Fatalf("compose fixture: %q not found", old)
		}
		*f = strings.Replace(*f, old, new, 1)
		return b, l
	}
}

// TestDockerSpecsFromCompose checks that the Docker backend's containers come
// from the compose files: as shipped, each component runs what compose
// says, with the harness's settings on top; and a change in the parsed
// compose text changes the container the backend would start.
func TestDockerSpecsFromCompose(t *testing.T) {
	fraud := func(s map[string]containerSpec) containerSpec { return s["bank-fraud-service"] }
	gateway := func(s map[string]containerSpec) containerSpec { return s["bank-api-gateway"] }
	tests := []struct {
		name string
		edit func(*testing.T) func(string, string) (string, string)
		got  func(map[string]containerSpec) string
		want string
	}{
		// As shipped.
		{"components", nil, func(s map[string]containerSpec) string { return strings.Join(sortedNames(s), " ") },
			"bank-api-gateway bank-fraud-service grafana prometheus pyroscope"},
		{"service command", nil, func(s map[string]containerSpec) string { return strings.Join(fraud(s).cmd, " ") },
			"--service bank-fraud-service --addr :8083"},
		{"service image and probe", nil, func(s map[string]containerSpec) string {
			return fmt.Sprint(fraud(s).image, " ", fraud(s).port, " ", fraud(s).ready, " ", fraud(s).memoryMB, " ", fraud(s).timeout)
		}, bankImage + " 8083 /health 256 1m0s"},
		{"service env from compose", nil, func(s map[string]containerSpec) string {
			e := fraud(s).env
			return e["PYROSCOPE_APPLICATION_NAME"] + " " + e["GOMEMLIMIT"] + " " + e["PYROSCOPE_PROFILER_EVENT"]
		}, "bank-fraud-service 230MiB cpu,alloc,lock,block,goroutine"},
		{"service env from Options", nil, func(s map[string]containerSpec) string {
			e := fraud(s).env
			return e["BANK_INJECT"] + " " + e["PYROSCOPE_UPLOAD_INTERVAL"] + " " + e["PYROSCOPE_PROFILER_ALLOC"] + " " + e["PYROSCOPE_LABELS"] + " " + e["PYROSCOPE_SERVER_ADDRESS"]
		}, "fraud.rules=1.5 5s 65536 version=dev,env=bankstack http://pyroscope:4040"},
		{"peers", nil, func(s map[string]containerSpec) string {
			e := gateway(s).env
			return e["BANK_FRAUD_URL"] + " " + e["BANK_LOAN_URL"]
		}, "http://bank-fraud-service:8083 http://127.0.0.1:1"},
		{"pyroscope substitute", nil, func(s map[string]containerSpec) string {
			p := s["pyroscope"]
			return fmt.Sprint(p.image, " ", p.port, " ", p.ready, " ", p.timeout, " ", strings.Join(p.cmd, " "))
		}, profstoreImage + " 4040 /ready 1m30s --addr 0.0.0.0:4040 --retention 2h --max-bytes 1073741824 " + strings.Join(profstoreFlags(), " ")},
		{"prometheus substitute", nil, func(s map[string]containerSpec) string {
			p := s["prometheus"]
			return fmt.Sprint(p.port, " ", p.ready, " ", p.env["GODEBUG"], " ", len(p.tmpfs), " ", strings.Join(p.cmd, " "))
		}, "9090 /api/v1/query?query=vector%281%29 netdns=go 0 --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=15d --web.enable-lifecycle"},
		{"prometheus scrapes what runs", nil, func(s map[string]containerSpec) string {
			return fmt.Sprint(fileContains(t, s["prometheus"], "/etc/prometheus/prometheus.yml", "bank-fraud-service:8083"),
				fileContains(t, s["prometheus"], "/etc/prometheus/prometheus.yml", "bank-loan-service"))
		}, "true false"},
		{"grafana", nil, func(s map[string]containerSpec) string {
			g := s["grafana"]
			return fmt.Sprint(g.port, " ", g.ready, " ", g.timeout, " ", g.env["GF_AUTH_ANONYMOUS_ENABLED"], " ",
				fileContains(t, g, "/etc/grafana/provisioning/dashboards/service-comparison.json", "{"))
		}, "3000 /api/health 2m0s true true"},

		// A change in compose changes the backend's container.
		{"changed env", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, "GOMEMLIMIT: 230MiB", "GOMEMLIMIT: 200MiB")
		}, func(s map[string]containerSpec) string { return fraud(s).env["GOMEMLIMIT"] }, "200MiB"},
		{"changed memory", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, "mem_limit: 256m", "mem_limit: 128m")
		}, func(s map[string]containerSpec) string { return fmt.Sprint(fraud(s).memoryMB) }, "128"},
		{"changed health check", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, "http://127.0.0.1:8083/health", "http://127.0.0.1:8083/healthz")
		}, func(s map[string]containerSpec) string { return fraud(s).ready }, "/healthz"},
		{"changed command", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, `"--service", "bank-fraud-service", "--addr", ":8083"`, `"--service", "bank-fraud-service", "--addr", ":8083", "--verbose"`)
		}, func(s map[string]containerSpec) string { return strings.Join(fraud(s).cmd, " ") }, "--service bank-fraud-service --addr :8083 --verbose"},
		{"changed local override", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, true, `"--retention", "2h"`, `"--retention", "1h"`)
		}, func(s map[string]containerSpec) string { return strings.Join(s["pyroscope"].cmd[2:4], " ") }, "--retention 1h"},
		{"changed grafana env", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, `GF_USERS_ALLOW_SIGN_UP: "false"`, `GF_USERS_ALLOW_SIGN_UP: "true"`)
		}, func(s map[string]containerSpec) string { return s["grafana"].env["GF_USERS_ALLOW_SIGN_UP"] }, "true"},
		{"changed variable default", func(t *testing.T) func(string, string) (string, string) {
			return replace(t, false, "${GRAFANA_ADMIN_PASSWORD:-admin}", "${GRAFANA_ADMIN_PASSWORD:-s3cret}")
		}, func(s map[string]containerSpec) string { return s["grafana"].env["GF_SECURITY_ADMIN_PASSWORD"] }, "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edit func(string, string) (string, string)
			if tt.edit != nil {
				edit = tt.edit(t)
			}
			specs, err := composeSpecs(t, edit, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(specs); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDockerSpecsRealPyroscope checks Pyroscope's container when its image
// is present: docker-compose.yml's command, config file and data folder.
func TestDockerSpecsRealPyroscope(t *testing.T) {
	specs, err := composeSpecs(t, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	p := specs["pyroscope"]
	got := fmt.Sprint(p.image, " ", p.ready, " ", strings.Join(p.cmd, " "), " ", p.tmpfs["/data"], " ", p.tmpfs["/data-compactor"], " ",
		fileContains(t, p, "/etc/pyroscope/config.yaml", "http_listen_port: 4040"))
	if want := "grafana/pyroscope:1.14.1 /ready -config.file=/etc/pyroscope/config.yaml rw,mode=1777 rw,mode=1777 true"; got != want {
		t.Errorf("pyroscope:\n got %s\nwant %s", got, want)
	}
}

// TestDockerSpecsRefuse checks that compose files the backend cannot follow
// are refused with a message naming the service.
func TestDockerSpecsRefuse(t *testing.T) {
	tests := []struct {
		name       string
		local      bool
		old, new   string
		wantInErr  string
		wantInErr2 string
	}{
		{"unknown service", false, "\nnetworks:\n  bank: {}", "  redis:\n    image: redis:7\n    networks: [bank]\n\nnetworks:\n  bank: {}", "service redis", "teach testenv"},
		{"other substitute image", true, "image: profdiff/profstore:bankstack", "image: profdiff/profstore:other", "runs profdiff/profstore:other for pyroscope", profstoreImage},
		{"unprobeable health check", false, `"CMD", "/bank", "--healthcheck", "http://127.0.0.1:8083/health"`, `"CMD", "/bank", "--selftest"`, "bank-fraud-service", "http://127.0.0.1:PORT"},
		{"probe on another port", false, `"CMD", "/bank", "--healthcheck", "http://127.0.0.1:8083/health"`, `"CMD", "/bank", "--healthcheck", "http://127.0.0.1:9999/health"`, "bank-fraud-service", "probes port 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := composeSpecs(t, replace(t, tt.local, tt.old, tt.new), false)
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) || !strings.Contains(err.Error(), tt.wantInErr2) {
				t.Errorf("err %v, want one containing %q and %q", err, tt.wantInErr, tt.wantInErr2)
			}
		})
	}
}

// TestReadiness checks the health check forms the compose files use, and
// the requests they become.
func TestReadiness(t *testing.T) {
	tests := []struct {
		test []string
		want string
	}{
		{[]string{"CMD", "/bank", "--healthcheck", "http://127.0.0.1:8080/health"}, "8080 /health"},
		{[]string{"CMD", "/usr/bin/profilecli", "ready", "--url=http://127.0.0.1:4040"}, "4040 /ready"},
		{[]string{"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"}, "9090 /-/ready"},
		{[]string{"CMD", "/usr/bin/promtool", "query", "instant", "http://127.0.0.1:9090", "vector(1)"}, "9090 /api/v1/query?query=vector%281%29"},
		{[]string{"CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:3000/api/health?x=1"}, "3000 /api/health?x=1"},
		{[]string{"CMD-SHELL", "curl -f http://127.0.0.1:80/"}, "error"},
		{[]string{"CMD", "/bank", "--healthcheck", "http://example.com:80/health"}, "error"},
		{[]string{"CMD", "/bank", "--healthcheck", "http://127.0.0.1/health"}, "error"},
	}
	for _, tt := range tests {
		port, path, err := readiness(composestack.Container{Name: "x", Healthcheck: &composestack.Health{Test: tt.test}})
		got := fmt.Sprint(port, " ", path)
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("%v: %s (%v), want %s", tt.test, got, err, tt.want)
		}
	}
}

func sortedNames(m map[string]containerSpec) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fileContains reports whether the file the spec copies to target contains s.
func fileContains(t *testing.T, sp containerSpec, target, s string) bool {
	t.Helper()
	for _, f := range sp.files {
		if f.ContainerFilePath == target {
			b, err := io.ReadAll(f.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Contains(string(b), s)
		}
	}
	t.Errorf("%s: no file %s", sp.name, target)
	return false
}
