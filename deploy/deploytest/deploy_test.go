package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/internal/strict"
	"github.com/profdiff/profdiff/testenv"
)

// skipOrFail skips the test when an outside tool is missing, or fails it
// under PROFDIFF_STRICT=1 (internal/strict).
var skipOrFail = strict.SkipOrFail

const repo = "../.."

// skipShort leaves the deploy paths out of go test -short: each starts a
// whole stack and takes minutes.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: a deploy path starts the whole stack")
	}
}

// ports is one deploy path's host ports: base+0..6 the services, then
// Pyroscope, Prometheus and Grafana.
type ports struct{ base int }

func (p ports) of(name string) int {
	switch name {
	case "pyroscope":
		return p.base + 40
	case "prometheus":
		return p.base + 90
	case "grafana":
		return p.base + 30
	}
	for i, s := range config.Services {
		if s.Name == name {
			return p.base + i
		}
	}
	panic(name)
}

// variables are the compose variables that move the ports, upper case
// (compose) or lower case (Ansible, Terraform).
func (p ports) variables(lower bool) map[string]string {
	v := map[string]string{"PUBLISH_ADDRESS": "127.0.0.1"}
	for _, s := range config.Services {
		short := strings.TrimSuffix(s.Name, "-service")
		v[strings.ToUpper(strings.ReplaceAll(short, "-", "_"))+"_PORT"] = strconv.Itoa(p.of(s.Name))
	}
	for _, c := range []string{"pyroscope", "prometheus", "grafana"} {
		v[strings.ToUpper(c)+"_PORT"] = strconv.Itoa(p.of(c))
	}
	if lower {
		out := map[string]string{}
		for k, x := range v {
			out[strings.ToLower(k)] = x
		}
		return out
	}
	return v
}

// target is bankstack's --host/--port for these ports.
func (p ports) target(grafana bool) []string {
	var kv []string
	for _, s := range config.Services {
		kv = append(kv, fmt.Sprintf("%s=%d", s.Name, p.of(s.Name)))
	}
	g := 0
	if grafana {
		g = p.of("grafana")
	}
	kv = append(kv, fmt.Sprintf("pyroscope=%d", p.of("pyroscope")), fmt.Sprintf("prometheus=%d", p.of("prometheus")), fmt.Sprintf("grafana=%d", g))
	return []string{"--host", "127.0.0.1", "--port", strings.Join(kv, ",")}
}

var (
	setupOnce sync.Once
	setupErr  error
	bankstack string
	images    testenv.LocalImages
)

// setup checks for Docker, builds bankstack and the local images once.
func setup(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		skipOrFail(t, "docker is not installed")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		skipOrFail(t, "no Docker engine: %v %s", err, bytes.TrimSpace(out))
	}
	setupOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deploytest-")
		if err != nil {
			setupErr = err
			return
		}
		bankstack = filepath.Join(dir, "bankstack")
		if out, err := exec.Command("go", "build", "-o", bankstack, "github.com/profdiff/profdiff/testenv/cmd/bankstack").CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("build bankstack: %v\n%s", err, out)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var log bytes.Buffer
		images, setupErr = testenv.BuildLocalImages(ctx, filepath.Join(dir, "images"), &log)
		if setupErr != nil {
			setupErr = fmt.Errorf("%v\n%s", setupErr, log.String())
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// run runs a command in dir with extra environment, logging its output,
// and fails the test when it fails.
func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// loadAndValidate drives a short load through bankstack load --host and
// then runs bankstack validate --host, which must pass every check.
func loadAndValidate(t *testing.T, p ports) {
	t.Helper()
	out := run(t, repo, nil, 2*time.Minute, bankstack, append([]string{"load", "--duration", "15s", "--rate", "30"}, p.target(false)...)...)
	if !regexp.MustCompile(`total: \d+ requests .* 0 errors`).MatchString(out) {
		t.Errorf("load had errors:\n%s", out)
	}
	out = run(t, repo, nil, 3*time.Minute, bankstack, append([]string{"validate", "--profile-wait", "60s"}, p.target(false)...)...)
	if !strings.Contains(out, "checks passed") || !strings.Contains(out, "prometheus scrapes all 7 services") {
		t.Errorf("validate:\n%s", out)
	}
	t.Logf("bankstack validate --host: %s", lastLine(out))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// leftovers lists the containers, networks and volumes that match a docker
// --filter (label=KEY=VALUE, or name=NAME, which matches part of a name).
func leftovers(filter string) string {
	var b strings.Builder
	for _, kind := range [][]string{{"ps", "-a"}, {"network", "ls"}, {"volume", "ls"}} {
		args := append(kind, "-q", "--filter", filter)
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "docker %s: %v %s; ", strings.Join(args, " "), err, out)
		} else if s := strings.TrimSpace(string(out)); s != "" {
			fmt.Fprintf(&b, "%s: %s; ", kind[0], strings.ReplaceAll(s, "\n", " "))
		}
	}
	return b.String()
}

// sweep force-removes whatever matches filter, after a failed teardown.
func sweep(filter string) {
	for _, kind := range [][]string{{"ps", "-a"}, {"network", "ls"}, {"volume", "ls"}} {
		out, _ := exec.Command("docker", append(kind, "-q", "--filter", filter)...).Output()
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			continue
		}
		rm := map[string][]string{"ps": {"rm", "-f", "-v"}, "network": {"network", "rm"}, "volume": {"volume", "rm", "-f"}}[kind[0]]
		exec.Command("docker", append(rm, ids...)...).Run()
	}
}

// assertClean fails when anything matching one of the filters is left.
func assertClean(t *testing.T, filters ...string) {
	t.Helper()
	for _, f := range filters {
		if l := leftovers(f); l != "" {
			t.Errorf("left behind (%s): %s", f, l)
		}
	}
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// composeCommand is Compose v2's `docker compose` where it is installed,
// else v1's docker-compose.
func composeCommand() (string, []string, bool) {
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err == nil && strings.Contains(string(out), "version") {
		return "docker", []string{"compose"}, true
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return p, nil, true
	}
	return "", nil, false
}

func TestCompose(t *testing.T) {
	skipShort(t)
	name, pre, ok := composeCommand()
	if !ok {
		skipOrFail(t, "neither `docker compose` nor `docker-compose` is installed")
	}
	setup(t)
	const project = "pddeploytestcompose"
	p := ports{base: 28080}
	env := envList(p.variables(false))
	args := append(pre, "-p", project, "-f", "docker-compose.yml", "-f", "docker-compose.local.yml")
	label := "com.docker.compose.project=" + project
	t.Cleanup(func() {
		runErr(repo, env, 3*time.Minute, name, append(args, "down", "-v", "--remove-orphans")...)
		sweep("label=" + label)
	})
	run(t, repo, env, 5*time.Minute, name, append(args, "up", "-d", "--no-build")...)
	waitHealthy(t, label, 9, 3*time.Minute)
	loadAndValidate(t, p)
	run(t, repo, env, 3*time.Minute, name, append(args, "down", "-v")...)
	assertClean(t, "label="+label)
}

// waitHealthy waits until n containers with label report healthy.
func waitHealthy(t *testing.T, label string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var out []byte
	for time.Now().Before(deadline) {
		out, _ = exec.Command("docker", "ps", "--filter", "label="+label, "--filter", "health=healthy", "-q").Output()
		if len(strings.Fields(string(out))) == n {
			return
		}
		time.Sleep(2 * time.Second)
	}
	st, _ := exec.Command("docker", "ps", "-a", "--filter", "label="+label, "--format", "{{.Names}} {{.Status}}").Output()
	t.Fatalf("not %d healthy containers within %s:\n%s", n, timeout, st)
}

var recapRE = regexp.MustCompile(`(?m)^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// ansibleReady says why the Ansible path cannot run here, or "" when it can:
// ansible-playbook, the community.docker collection, and the Docker SDK for
// Python in the interpreter inventory.yml names.
func ansibleReady() string {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		return "ansible-playbook is not installed (Debian: apt-get install ansible)"
	}
	// ansible-doc exits 0 with only a warning for a module it does not
	// know; its JSON is then {}.
	out, err := exec.Command("ansible-doc", "-t", "module", "-j", "community.docker.docker_container").Output()
	var doc map[string]json.RawMessage
	if err != nil || json.Unmarshal(out, &doc) != nil || doc["community.docker.docker_container"] == nil {
		return "the community.docker collection is missing (Debian's ansible package ships it; else ansible-galaxy collection install community.docker)"
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import docker").CombinedOutput(); err != nil {
		return fmt.Sprintf("/usr/bin/python3 has no Docker SDK (Debian: apt-get install python3-docker): %s", lastLine(string(out)))
	}
	return ""
}

func TestAnsible(t *testing.T) {
	skipShort(t)
	if why := ansibleReady(); why != "" {
		skipOrFail(t, "%s", why)
	}
	setup(t)
	const stack = "pddeploytestansible"
	p := ports{base: 28180}
	dir := filepath.Join(repo, "deploy", "ansible")
	vars := p.variables(true)
	vars["stack_name"] = stack
	vars["stack_images"] = "local"
	vars["stack_dir"] = filepath.Join(t.TempDir(), "stack")
	vars["duration"] = "10"
	var b strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&b, "%s: %q\n", k, v)
	}
	varFile := filepath.Join(t.TempDir(), "vars.yml")
	if err := os.WriteFile(varFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0"}
	play := func(t *testing.T, book string) (changed int, out string) {
		t.Helper()
		start := time.Now()
		out = run(t, dir, env, 10*time.Minute, "ansible-playbook", "-i", "inventory.yml", book, "-e", "@"+varFile)
		m := recapRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no PLAY RECAP in:\n%s", book, out)
		}
		changed, _ = strconv.Atoi(m[2])
		t.Logf("%s: changed=%s, %s", book, m[2], time.Since(start).Round(time.Second))
		return changed, out
	}
	label := "profdiff.deploy.stack=" + stack
	t.Cleanup(func() {
		runErr(dir, env, 10*time.Minute, "ansible-playbook", "-i", "inventory.yml", "teardown.yml", "-e", "@"+varFile)
		sweep("label=" + label)
		sweep("name=" + stack)
	})
	first, out := play(t, "deploy.yml")
	if first == 0 {
		t.Errorf("first deploy changed nothing:\n%s", out)
	}
	want := 10
	if images.Grafana == "" {
		want = 9
		if !strings.Contains(out, "grafana skipped: its image") {
			t.Errorf("Grafana's image is absent but the deploy did not say it skipped Grafana:\n%s", out)
		}
	}
	// deploy.yml returns once every container reports healthy.
	waitHealthy(t, label, want, 10*time.Second)
	second, out := play(t, "deploy.yml")
	if second != 0 {
		t.Errorf("second deploy: changed=%d, want 0 (idempotent):\n%s", second, out)
	}
	_, out = play(t, "generate-load.yml")
	if !regexp.MustCompile(`total: \d+ requests .* 0 errors`).MatchString(out) {
		t.Errorf("generate-load.yml printed no load table, or the load had errors:\n%s", out)
	}
	loadAndValidate(t, p)
	play(t, "teardown.yml")
	assertClean(t, "label="+label, "name="+stack)
	if _, err := os.Stat(vars["stack_dir"]); !os.IsNotExist(err) {
		t.Errorf("teardown left %s (%v)", vars["stack_dir"], err)
	}
}

func TestTerraform(t *testing.T) {
	skipShort(t)
	if why := os.Getenv("PROFDIFF_TERRAFORM_UNAVAILABLE"); why != "" {
		// .ci/run could not build OpenTofu or the provider and says why
		// in its own output; the skip repeats it here.
		t.Skip("OpenTofu could not be built: " + why)
	}
	tofu, err := exec.LookPath("tofu")
	if err != nil {
		skipOrFail(t, "tofu is not on PATH (eval \"$(deploy/terraform/build-tools.sh)\" builds it and the provider)")
	}
	if os.Getenv("TF_CLI_CONFIG_FILE") == "" {
		skipOrFail(t, "TF_CLI_CONFIG_FILE is unset: no filesystem mirror for the provider (eval \"$(deploy/terraform/build-tools.sh)\")")
	}
	setup(t)
	const stack = "pddeploytesttf"
	p := ports{base: 28280}
	abs, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	// The module is copied, so init, state and lock file stay out of the
	// repository.
	mod := t.TempDir()
	for _, f := range []string{"main.tf", "stack.tf.json"} {
		b, err := os.ReadFile(filepath.Join(repo, "deploy", "terraform", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mod, f), b, 0o644)
	}
	vars := p.variables(true)
	vars["stack_name"] = stack
	vars["stack_images"] = "local"
	vars["repo_dir"] = abs
	var args []string
	for k, v := range vars {
		args = append(args, "-var", k+"="+v)
	}
	env := []string{"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1"}
	label := "profdiff.deploy.stack=" + stack
	tf := func(timeout time.Duration, a ...string) string {
		t.Helper()
		return run(t, mod, env, timeout, tofu, a...)
	}
	tf(2*time.Minute, "init", "-no-color")
	tf(time.Minute, "validate", "-no-color")
	t.Cleanup(func() {
		runErr(mod, env, 5*time.Minute, tofu, append([]string{"destroy", "-auto-approve", "-no-color"}, args...)...)
		sweep("label=" + label)
	})
	plan := tf(2*time.Minute, append([]string{"plan", "-no-color"}, args...)...)
	if !regexp.MustCompile(`Plan: 13 to add, 0 to change, 0 to destroy`).MatchString(plan) {
		t.Errorf("plan: want 13 to add (9 containers, 1 network, 3 volumes):\n%s", plan)
	}
	out := tf(10*time.Minute, append([]string{"apply", "-auto-approve", "-no-color"}, args...)...)
	if !strings.Contains(out, "grafana skipped") {
		t.Errorf("apply's output does not say Grafana was skipped:\n%s", out)
	}
	loadAndValidate(t, p)
	tf(5*time.Minute, append([]string{"destroy", "-auto-approve", "-no-color"}, args...)...)
	assertClean(t, "label="+label)
}
