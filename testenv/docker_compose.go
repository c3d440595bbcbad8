package testenv

import (
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/profdiff/profdiff/internal/composestack"
	"github.com/profdiff/profdiff/services/bank"
)

// The Docker backend's containers are the compose files' (read by
// internal/composestack, as deploy/stackgen reads them for Ansible and
// Terraform): each component runs the command, environment, port, config
// mounts, memory limit and health check docker-compose.yml gives it, and
// docker-compose.local.yml's where the harness runs its substitute. What
// only the harness knows is applied on top, here:
//
//   - the images: the services' image and the substitutes are built on this
//     machine; the third-party images are compose's unless Options.Images
//     or the environment names others;
//   - ports: each container's one port is published on a free host port;
//   - the services' profiling settings and BANK_INJECT, from Options, and
//     peers that do not run here pointed at a closed port;
//   - mounts: config files are copied in, and Prometheus gets the harness's
//     scrape config for the services that run; named volumes are left out
//     (a harness stack keeps no data: it stays in the container's own
//     filesystem and goes with it), except that real Pyroscope's data
//     folders are a tmpfs, as its image may not let its user write there;
//   - readiness: the health check's URL, probed from the host through the
//     published port until it answers, within readyTimeout;
//   - no restart policy: a container that dies is a failed run.

// loadCompose reads the compose files of the profdiff module at dir, and
// takes the third-party images they name as the defaults.
func (d *dockerStack) loadCompose(dir string) error {
	st, err := composestack.Load(dir)
	if err != nil {
		return fmt.Errorf("docker backend: %w", err)
	}
	d.compose = st
	d.images = d.opts.Images.withDefaults(composeImages(st))
	return nil
}

// composeImages are the images docker-compose.yml runs for the third-party
// components, its variables at their defaults.
func composeImages(st *composestack.Stack) Images {
	var im Images
	for _, c := range st.Resolve(st.Containers) {
		switch c.Name {
		case aliasPyroscope:
			im.Pyroscope = c.Image
		case aliasPrometheus:
			im.Prometheus = c.Image
		case aliasGrafana:
			im.Grafana = c.Image
		}
	}
	return im
}

// readyTimeout is how long a component may take to become ready: the
// third-party servers take longer to start than the services.
func readyTimeout(name string) time.Duration {
	switch name {
	case aliasPyroscope:
		return 90 * time.Second
	case aliasGrafana:
		return 120 * time.Second
	}
	return 60 * time.Second
}

// specs lists the containers to start, in the compose files' start order.
func (d *dockerStack) specs(p *dockerPlan) ([]containerSpec, error) {
	st := d.compose
	base, local := st.Resolve(st.Containers), st.Resolve(st.Local)
	running := map[string]bool{}
	for _, s := range d.opts.Services {
		running[s] = true
	}
	// Each compose container is one the harness knows how to run; a new one
	// must be taught here rather than silently left out.
	for _, c := range base {
		if _, err := bank.LookupService(c.Name); err != nil && c.Name != aliasPyroscope && c.Name != aliasPrometheus && c.Name != aliasGrafana {
			return nil, fmt.Errorf("docker backend: %s: service %s is neither a bank service nor pyroscope, prometheus or grafana; teach testenv (docker_compose.go) to run it", composestack.File, c.Name)
		}
	}
	// pick is a component's compose description: docker-compose.local.yml's
	// when the harness runs its own image, which must be the one that file
	// names, so the other deploy paths run what the harness runs.
	pick := func(name string, substitute bool, harnessImage string) (composestack.Container, error) {
		cs, file := base, composestack.File
		if substitute {
			cs, file = local, composestack.LocalFile
		}
		c, ok := composestack.Find(cs, name)
		if !ok {
			return c, fmt.Errorf("docker backend: %s has no service %s", file, name)
		}
		if substitute && c.Image != harnessImage {
			return c, fmt.Errorf("docker backend: %s runs %s for %s, but the harness builds %s", file, c.Image, name, harnessImage)
		}
		return c, nil
	}

	// The services find Pyroscope by its compose name and port.
	pyroInNet := d.pyroURL // external
	if p.pyroscope != nil {
		c, err := pick(aliasPyroscope, p.pyroscope.substitute, profstoreImage)
		if err != nil {
			return nil, err
		}
		port, err := onePort(c)
		if err != nil {
			return nil, err
		}
		pyroInNet = "http://" + aliasPyroscope + ":" + strconv.Itoa(port)
	}

	var specs []containerSpec
	for _, c := range base {
		var img *componentImage
		var harnessImage string
		var files []testcontainers.ContainerFile
		switch c.Name {
		case aliasPyroscope:
			img, harnessImage = p.pyroscope, profstoreImage
		case aliasPrometheus:
			img, harnessImage = p.prom, promDebianImage
			port, err := onePort(c)
			if err != nil {
				return nil, err
			}
			if files, err = d.prometheusFiles(port); err != nil {
				return nil, err
			}
		case aliasGrafana:
			img = p.grafana
		default:
			if running[c.Name] {
				img, harnessImage = &componentImage{image: p.bank, substitute: true}, bankImage
			}
		}
		if img == nil {
			continue // not run here: external, off, skipped, or a service not asked for
		}
		lc, err := pick(c.Name, img.substitute, harnessImage)
		if err != nil {
			return nil, err
		}
		sp, err := d.composeSpec(lc, img.image, p.moduleDir, files)
		if err != nil {
			return nil, err
		}
		name := c.Name
		switch name {
		case aliasPyroscope:
			if img.substitute {
				sp.cmd = append(sp.cmd, profstoreFlags()...)
			} else {
				// The config keeps data under /data (compose's volume) and
				// /data-compactor.
				sp.tmpfs = map[string]string{"/data": tmpfsOpts, "/data-compactor": tmpfsOpts}
			}
			sp.url = func(u string) { d.pyroURL = u }
		case aliasPrometheus:
			sp.url = func(u string) { d.promURL = u }
		case aliasGrafana:
			sp.url = func(u string) { d.grafURL = u }
		default:
			sp.env = d.serviceEnv(sp.env, pyroInNet)
			sp.url = func(u string) { d.urls[name] = u }
			sp.note = func(u string) string { return "service " + name + ": image " + p.bank + " at " + u }
		}
		if sp.note == nil {
			sp.note = func(u string) string { return name + ": " + img.describe() + " at " + u }
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// tmpfsOpts is a tmpfs meant for any user to write (mode 1777), gone with
// the container. Measured on 2026-12-02 with Docker 20.10 on this project's
// machines, a non-root user could not create files in one (uid=N could), so
// named volumes are not turned into tmpfs: the services' and Prometheus's
// images keep their data in folders their user owns.
const tmpfsOpts = "rw,mode=1777"

// composeSpec is the container compose describes in c, running image, with
// the harness's generic changes (see the top of this file). Config files are
// copied from the module at moduleDir, except where files holds the
// harness's own content for a mount's target.
func (d *dockerStack) composeSpec(c composestack.Container, image, moduleDir string, files []testcontainers.ContainerFile) (containerSpec, error) {
	sp := containerSpec{
		name: c.Name, image: image, cmd: c.Command, env: maps.Clone(c.Env),
		memoryMB: c.MemoryMB, timeout: readyTimeout(c.Name),
	}
	if sp.env == nil {
		sp.env = map[string]string{}
	}
	var err error
	if sp.port, err = onePort(c); err != nil {
		return sp, err
	}
	probePort, ready, err := readiness(c)
	if err != nil {
		return sp, err
	}
	if probePort != sp.port {
		return sp, fmt.Errorf("docker backend: %s: the health check probes port %d, but the service publishes %d", c.Name, probePort, sp.port)
	}
	sp.ready = ready
	own := map[string]testcontainers.ContainerFile{}
	for _, f := range files {
		own[f.ContainerFilePath] = f
	}
	for _, b := range c.Binds {
		if f, ok := own[b.Target]; ok {
			sp.files = append(sp.files, f)
			delete(own, b.Target)
			continue
		}
		fs, err := bindFiles(filepath.Join(moduleDir, filepath.FromSlash(b.Source)), b.Target)
		if err != nil {
			return sp, fmt.Errorf("docker backend: %s: mount %s: %w", c.Name, b.Source, err)
		}
		sp.files = append(sp.files, fs...)
	}
	for target := range own {
		return sp, fmt.Errorf("docker backend: %s: the harness writes %s, which %s does not mount", c.Name, target, composestack.File)
	}
	return sp, nil
}

// onePort is the one port a compose service publishes: the harness
// publishes it on a free host port, and reaches the component there.
func onePort(c composestack.Container) (int, error) {
	if len(c.Ports) != 1 {
		return 0, fmt.Errorf("docker backend: %s: %d published ports, the harness handles one", c.Name, len(c.Ports))
	}
	return c.Ports[0].Container, nil
}

// bindFiles are the files of a compose bind mount: the file, or every file
// under the folder.
func bindFiles(src, target string) ([]testcontainers.ContainerFile, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return treeFiles(src, target)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	return []testcontainers.ContainerFile{{Reader: bytes.NewReader(b), ContainerFilePath: target, FileMode: 0o644}}, nil
}

// readiness turns a compose health check, a command run inside the
// container, into the HTTP request it makes, which the harness sends from
// the host through the published port: for most checks the URL they fetch;
// for `profilecli ready --url=U`, U/ready; for `promtool query instant U
// EXPR`, the query API. It returns the port and the path (with query).
func readiness(c composestack.Container) (int, string, error) {
	h := c.Healthcheck
	if h == nil || len(h.Test) < 2 || h.Test[0] != "CMD" {
		return 0, "", fmt.Errorf("docker backend: %s: want a health check of the form [CMD, program, args...] in %s", c.Name, composestack.File)
	}
	args := h.Test[1:]
	at := -1
	var raw string
	for i, a := range args {
		if j := strings.Index(a, "http://"); j >= 0 {
			at, raw = i, a[j:]
			break
		}
	}
	u, err := url.Parse(raw)
	if at < 0 || err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || u.Port() == "" {
		return 0, "", fmt.Errorf("docker backend: %s: health check %v: want an http://127.0.0.1:PORT URL the harness can probe", c.Name, h.Test)
	}
	port, _ := strconv.Atoi(u.Port())
	ready := u.RequestURI()
	switch prog := path.Base(args[0]); {
	case prog == "profilecli" && args[1] == "ready":
		ready = strings.TrimSuffix(u.Path, "/") + "/ready"
	case prog == "promtool" && len(args) > at+1 && args[1] == "query" && args[2] == "instant":
		ready = "/api/v1/query?query=" + url.QueryEscape(args[at+1])
	}
	return port, ready, nil
}

// serviceEnv is a service container's environment: compose's, with the
// settings the local backend gives its processes on top, and any peer that
// does not run in this stack pointed at a closed port.
func (d *dockerStack) serviceEnv(env map[string]string, pyroscope string) map[string]string {
	env = maps.Clone(env)
	env["PYROSCOPE_SERVER_ADDRESS"] = pyroscope
	env["PYROSCOPE_LABELS"] = "version=" + d.opts.Version + ",env=" + d.opts.Env
	env["PYROSCOPE_UPLOAD_INTERVAL"] = d.opts.UploadInterval.String()
	env["BANK_INJECT"] = d.opts.Inject
	if d.opts.AllocRate > 0 {
		env["PYROSCOPE_PROFILER_ALLOC"] = strconv.Itoa(d.opts.AllocRate)
	}
	if d.opts.CPURate > 0 {
		env["PYROSCOPE_CPU_RATE"] = strconv.Itoa(d.opts.CPURate)
	}
	if d.opts.PyroscopeURL != "" {
		// An external Pyroscope may want credentials; the services read the
		// same variables the runbook's agents do.
		for _, k := range []string{"PYROSCOPE_BASIC_AUTH_USER", "PYROSCOPE_BASIC_AUTH_PASSWORD", "PYROSCOPE_TENANT_ID"} {
			if v, ok := os.LookupEnv(k); ok {
				env[k] = v
			}
		}
	}
	running := map[string]bool{}
	for _, s := range d.opts.Services {
		running[s] = true
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "BANK_") || !strings.HasSuffix(k, "_URL") {
			continue
		}
		if u, err := url.Parse(v); err != nil || !running[u.Hostname()] {
			env[k] = "http://127.0.0.1:1" // not started: calls fail fast and are reported
		}
	}
	return env
}
