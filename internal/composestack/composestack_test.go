package composestack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repo = "../.."

// TestBadCompose checks that what cannot be carried to Ansible, Terraform
// and the harness is refused with a message naming it.
func TestBadCompose(t *testing.T) {
	base := "services:\n  a:\n    image: x\n    networks: [n]\n%s\nnetworks:\n  n: {}\n"
	tests := []struct{ name, svc, local, want string }{
		{"unknown key", "    privileged: true", "", `key "privileged" is not carried`},
		{"no default", "    environment:\n      A: ${NOPE}", "", "variable NOPE"},
		{"bad port", "    ports: [\"8080:8080\"]", "", `port "8080:8080"`},
		{"bare variable", "    environment:\n      A: $HOME", "", "only ${NAME:-default}"},
		{"undeclared volume", "    volumes: [\"data:/data\"]", "", "neither ./relative nor a declared volume"},
		{"bad memory", "    mem_limit: 1g", "", `mem_limit "1g"`},
		{"two defaults", "    command: [\"${IMG:-a}\", \"${IMG:-b}\"]", "", "two defaults"},
		{"unknown dependency", "    depends_on: [b]", "", "depends on unknown service b"},
		{"override of nothing", "", "services:\n  b:\n    image: y\n", "service b is not in docker-compose.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := tt.local
			if local == "" {
				local = "services: {}\n"
			}
			_, err := Parse([]byte(strings.Replace(base, "%s", tt.svc, 1)), []byte(local))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestParse checks the model of a small stack: variables, start order, and
// the local override merged the way compose merges it.
func TestParse(t *testing.T) {
	base := `
services:
  web:
    image: ${WEB_IMAGE:-web:1}
    command: ["--port", "80"]
    ports: ["${ADDR:-0.0.0.0}:${WEB_PORT:-8000}:80"]
    environment: {A: "1", B: "${B:-two}"}
    depends_on: [db]
    mem_limit: 64m
    healthcheck: {test: ["CMD", "/web", "--check"], interval: 5s, retries: 2}
    networks: [n]
  db:
    image: db:1
    volumes: ["./conf/db.conf:/etc/db.conf:ro", "data:/data"]
    networks: [n]
networks:
  n: {}
volumes:
  data: {}
`
	local := `
services:
  web:
    image: web:local
    environment: {A: "3"}
    healthcheck: {test: ["CMD", "/web", "--local-check"]}
  db:
    profiles: [extra]
`
	st, err := Parse([]byte(base), []byte(local))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(st.Containers); got != "db web" {
		t.Errorf("start order %q, want db before web", got)
	}
	web, _ := Find(st.Resolve(st.Containers), "web")
	lweb, _ := Find(st.Resolve(st.Local), "web")
	ldb, _ := Find(st.Local, "db")
	tests := []struct{ name, got, want string }{
		{"image", web.Image, "web:1"},
		{"local image", lweb.Image, "web:local"},
		{"port", fmt.Sprint(web.Ports), "[{0.0.0.0 8000 80}]"},
		{"env", fmt.Sprint(web.Env), "map[A:1 B:two]"},
		{"local env merges", fmt.Sprint(lweb.Env), "map[A:3 B:two]"},
		{"local check replaces the test", fmt.Sprint(lweb.Healthcheck.Test), "[CMD /web --local-check]"},
		{"local check keeps the timings", lweb.Healthcheck.Interval + " " + fmt.Sprint(lweb.Healthcheck.Retries), "5s 2"},
		{"memory", fmt.Sprint(web.MemoryMB), "64"},
		{"binds", fmt.Sprint(ldb.Binds), "[{conf/db.conf /etc/db.conf true}]"},
		{"volumes", fmt.Sprint(ldb.Volumes), "[{data /data}]"},
		{"profile makes it optional", fmt.Sprint(ldb.Optional), "true"},
		{"vars", fmt.Sprint(st.VarNames()), "[addr b web_image web_port]"},
		{"unresolved", st.Containers[1].Image, "@@web_image@@"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestRepositoryStack reads the repository's own compose files: ten
// containers in both variants, the local override swapping images.
func TestRepositoryStack(t *testing.T) {
	st, err := Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Containers) != 10 || len(st.Local) != 10 {
		t.Fatalf("want ten containers in each variant, have %d and %d", len(st.Containers), len(st.Local))
	}
	// Config mounts are relative to the repository, read-only, and exist.
	pos := map[string]int{}
	for i, c := range st.Containers {
		pos[c.Name] = i
		for _, b := range c.Binds {
			if _, err := os.Stat(filepath.Join(repo, b.Source)); err != nil || !b.ReadOnly {
				t.Errorf("%s: bind %+v: %v", c.Name, b, err)
			}
		}
	}
	// Services start after Pyroscope, Grafana after Prometheus.
	if pos["pyroscope"] > pos["bank-api-gateway"] || pos["prometheus"] > pos["grafana"] {
		t.Errorf("start order %v", pos)
	}
	p, _ := Find(st.Resolve(st.Local), "pyroscope")
	if p.Image != "profdiff/profstore:bankstack" || p.Healthcheck.Test[1] != "/profstore" {
		t.Errorf("local pyroscope: image %s, health check %v", p.Image, p.Healthcheck.Test)
	}
}

func names(cs []Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return strings.Join(out, " ")
}

// The harness and the deploy generators read the same model; here, the
// published ports of the repository's stack with every variable at its
// default.
func ExampleLoad() {
	st, err := Load("../..")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range st.Resolve(st.Containers) {
		if c.Name == "pyroscope" || c.Name == "bank-fraud-service" {
			fmt.Println(c.Name, c.Image, c.Ports[0].Host, c.Ports[0].Container)
		}
	}
	// Output:
	// pyroscope grafana/pyroscope:1.14.1 4040 4040
	// bank-fraud-service profdiff/bank:dev 8083 8083
}
