package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/profdiff/profdiff/config"
	"github.com/profdiff/profdiff/pkg/profstore"
	"github.com/profdiff/profdiff/services/bank"
)

// The images the harness builds itself, from binaries built on this machine,
// FROM scratch: they need no base image, so they build where nothing can be
// pulled. Their tags are stable, so `docker images` shows them and an
// unchanged build context reuses the image (see buildImage).
const (
	bankImage       = "profdiff/bank:bankstack"
	profstoreImage  = "profdiff/profstore:bankstack"
	promDebianImage = "profdiff/prometheus-debian:bankstack"
)

// The packages built into those images; import paths, so the harness works
// from another module that depends on profdiff.
const (
	loadgenPackage   = "github.com/profdiff/profdiff/services/cmd/loadgen"
	profstorePackage = "github.com/profdiff/profdiff/cmd/profstore"
	profdiffModule   = "github.com/profdiff/profdiff"
)

// pullTimeout bounds one pull attempt of a third-party image. Where no
// registry is reachable the engine fails fast; the bound is for a registry
// that is reachable but slow, where waiting minutes for a default is worse
// than using the substitute.
const pullTimeout = 20 * time.Second

// NoPullEnv, when set to anything, makes the Docker backend use only images
// already on the engine (and its local substitutes) without trying a pull:
// for machines with no registry, where a pull only costs a failed lookup.
const NoPullEnv = "BANKSTACK_NO_PULL"

// dockerPlan is what runs, decided before any container starts.
type dockerPlan struct {
	moduleDir string
	bank      string          // services' image
	pyroscope *componentImage // nil: external Pyroscope
	prom      *componentImage // nil: Prometheus does not run
	grafana   *componentImage // nil: Grafana does not run
	notes     []string        // lines for components that do not run as containers
}

// componentImage is the image one component runs.
type componentImage struct {
	image string
	// substitute is set when the image is the harness's own stand-in for
	// the default; why says what happened to the default.
	substitute bool
	why        string
}

func (c *componentImage) describe() string {
	if c.substitute {
		return fmt.Sprintf("image %s (substitute: %s)", c.image, c.why)
	}
	return "image " + c.image
}

// prepareImages resolves every component's image: the configured one when
// it is present or can be pulled, else the local substitute, else (for an
// optional component) nothing, with a line that says so.
func (d *dockerStack) prepareImages(ctx context.Context) (*dockerPlan, error) {
	p := &dockerPlan{}
	var err error
	if p.moduleDir, err = moduleDir(ctx); err != nil {
		return nil, err
	}
	if err := d.loadCompose(p.moduleDir); err != nil {
		return nil, err
	}
	if err := d.buildBankImage(ctx, p); err != nil {
		return nil, err
	}

	// Pyroscope.
	if d.opts.PyroscopeURL != "" {
		u, err := externalPyroscope(d.opts.PyroscopeURL)
		if err != nil {
			return nil, err
		}
		d.pyroURL = u
		p.notes = append(p.notes, "pyroscope: external at "+u)
	} else if ok, why := d.haveImage(ctx, d.images.Pyroscope); ok {
		p.pyroscope = &componentImage{image: d.images.Pyroscope}
	} else {
		if err := d.buildProfstoreImage(ctx); err != nil {
			return nil, err
		}
		p.pyroscope = &componentImage{image: profstoreImage, substitute: true,
			why: "the embedded Pyroscope-compatible server, as " + why}
	}

	// Prometheus.
	if d.opts.Prometheus == "off" {
		p.notes = append(p.notes, "prometheus: off")
	} else if ok, why := d.haveImage(ctx, d.images.Prometheus); ok {
		p.prom = &componentImage{image: d.images.Prometheus}
	} else {
		if berr := d.buildPrometheusImage(ctx); berr != nil {
			msg := fmt.Sprintf("%s, and no substitute: %v", why, berr)
			if d.opts.Prometheus == "on" {
				return nil, errors.New("prometheus: " + msg)
			}
			fmt.Fprintf(d.progress, "docker: prometheus skipped: %v\n", berr)
			p.notes = append(p.notes, "prometheus: skipped ("+msg+")")
		} else {
			p.prom = &componentImage{image: promDebianImage, substitute: true,
				why: "this machine's prometheus binary, as " + why}
		}
	}

	// Grafana: there is no substitute, so without its image it is skipped
	// (its provisioning is still checked statically by config's tests).
	if d.opts.Grafana == "off" {
		p.notes = append(p.notes, "grafana: off")
	} else if ok, why := d.haveImage(ctx, d.images.Grafana); ok {
		p.grafana = &componentImage{image: d.images.Grafana}
	} else if d.opts.Grafana == "on" {
		return nil, fmt.Errorf("grafana: %s (there is no substitute for Grafana)", why)
	} else {
		p.notes = append(p.notes, "grafana: skipped ("+why+"; there is no substitute)")
	}
	return p, nil
}

// haveImage reports whether ref is present on the engine, trying one pull
// (bounded by pullTimeout) when it is not; why says what failed. It does not
// leave the pull to testcontainers, which retries for many minutes.
func (d *dockerStack) haveImage(ctx context.Context, ref string) (ok bool, why string) {
	cli := d.provider.Client()
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return true, ""
	}
	if os.Getenv(NoPullEnv) != "" {
		fmt.Fprintf(d.progress, "docker: %s is not present and %s is set, so it is not pulled\n", ref, NoPullEnv)
		return false, ref + " is not present (pulls disabled by " + NoPullEnv + ")"
	}
	pctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	resp, err := cli.ImagePull(pctx, ref, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(pctx)
		resp.Close()
	}
	if err == nil {
		if _, err = cli.ImageInspect(ctx, ref); err == nil {
			fmt.Fprintf(d.progress, "docker: pulled %s\n", ref)
			return true, ""
		}
	}
	fmt.Fprintf(d.progress, "docker: %s is not present and the pull failed: %s\n", ref, firstLine(err.Error()))
	return false, ref + " is not present and could not be pulled"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// moduleDir finds the profdiff module's source, for services/Dockerfile and
// Grafana's provisioning folder, wherever the harness is used from (this
// repository, or another module's test through the module cache).
func moduleDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", profdiffModule)
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		var ee *exec.ExitError
		detail := ""
		if errors.As(err, &ee) {
			detail = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("locate module %s (for services/Dockerfile): %v %s", profdiffModule, err, detail)
	}
	return dir, nil
}

// buildFile is one file of a build context.
type buildFile struct {
	path string      // in the context
	src  string      // host file to copy; or
	data []byte      // contents
	mode os.FileMode // default 0644 (0755 when src is executable)
}

// buildBankImage builds the services' image from services/Dockerfile, with
// the bank and loadgen binaries built on the host as that file expects.
func (d *dockerStack) buildBankImage(ctx context.Context, p *dockerPlan) error {
	dockerfile, err := os.ReadFile(filepath.Join(p.moduleDir, "services", "Dockerfile"))
	if err != nil {
		return fmt.Errorf("services image: %w", err)
	}
	bin, err := bankBinary(ctx, d.opts, d.progress)
	if err != nil {
		return err
	}
	lg, err := goBuild(ctx, filepath.Join(d.opts.WorkDir, "bin"), loadgenPackage, "loadgen")
	if err != nil {
		return err
	}
	tag := bankImage
	if d.opts.bankImageTag != "" {
		tag = d.opts.bankImageTag
	}
	if err := d.buildImage(ctx, tag, "services/Dockerfile", []buildFile{
		{path: "Dockerfile", data: dockerfile},
		{path: "bin/bank", src: bin},
		{path: "bin/loadgen", src: lg},
	}); err != nil {
		return err
	}
	p.bank = tag
	return nil
}

// buildProfstoreImage builds the embedded Pyroscope-compatible server into
// an image, the Pyroscope substitute where grafana/pyroscope cannot be had.
func (d *dockerStack) buildProfstoreImage(ctx context.Context) error {
	fmt.Fprintf(d.progress, "building %s\n", profstorePackage)
	bin, err := goBuild(ctx, filepath.Join(d.opts.WorkDir, "bin"), profstorePackage, "profstore")
	if err != nil {
		return err
	}
	const dockerfile = `# The embedded Pyroscope-compatible server (cmd/profstore), standing
# in for grafana/pyroscope where that image cannot be pulled.
FROM scratch
COPY profstore /profstore
USER 65534:65534
EXPOSE 4040
ENTRYPOINT ["/profstore"]
`
	return d.buildImage(ctx, profstoreImage, "embedded profstore", []buildFile{
		{path: "Dockerfile", data: []byte(dockerfile)},
		{path: "profstore", src: bin},
	})
}

// buildPrometheusImage builds an image from this machine's prometheus
// binary (Debian's package), FROM scratch: the binary plus the shared
// libraries and loader ldd lists. Debian builds it against libc only, so
// that is all it needs.
func (d *dockerStack) buildPrometheusImage(ctx context.Context) error {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return errors.New("prometheus is not on PATH (Debian: apt-get install prometheus)")
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		return err
	}
	libs, err := sharedLibs(ctx, bin)
	if err != nil {
		return err
	}
	files := []buildFile{
		{path: "rootfs/usr/bin/prometheus", src: bin, mode: 0o755},
		// An empty folder for the TSDB, owned by the user Prometheus runs
		// as (scratch has no mkdir).
		{path: "data/.keep", data: nil},
	}
	// promtool, from the same package, is the image's health check
	// (promtool query instant http://127.0.0.1:9090 vector(1)): the image
	// has no wget for the check compose runs on prom/prometheus.
	if tool, err := exec.LookPath("promtool"); err == nil {
		if tool, err = filepath.EvalSymlinks(tool); err == nil {
			toolLibs, err := sharedLibs(ctx, tool)
			if err != nil {
				return err
			}
			libs = append(libs, toolLibs...)
			files = append(files, buildFile{path: "rootfs/usr/bin/promtool", src: tool, mode: 0o755})
		}
	}
	seen := map[string]bool{}
	for _, l := range libs {
		if !seen[l] {
			seen[l] = true
			files = append(files, buildFile{path: "rootfs" + l, src: l, mode: 0o755})
		}
	}
	const dockerfile = `# Prometheus from this machine's binary (Debian's package), standing in for
# prom/prometheus where that image cannot be pulled: the binary (and
# promtool, for the health check), the shared libraries and loader they are
# linked against, nothing else.
FROM scratch
COPY rootfs/ /
COPY --chown=65534:65534 data/ /prometheus/
USER 65534:65534
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
`
	files = append(files, buildFile{path: "Dockerfile", data: []byte(dockerfile)})
	return d.buildImage(ctx, promDebianImage, bin, files)
}

// sharedLibs lists the absolute paths of the shared libraries and the loader
// a binary needs, from ldd. A static binary needs none.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, firstLine(string(out)))
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
		// "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)".
		line := strings.TrimSpace(sc.Text())
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("ldd %s: %s", bin, line)
		}
		if _, after, ok := strings.Cut(line, "=>"); ok {
			line = strings.TrimSpace(after)
		}
		path, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(path, "/") {
			libs = append(libs, path)
		}
	}
	sort.Strings(libs)
	return libs, sc.Err()
}

// buildImage builds tag from files (legacy builder: FROM scratch needs
// nothing BuildKit offers, and BuildKit over the API needs a session). The
// image is labelled with a hash of its context: when the tagged image
// already has that hash the build is skipped, so a stack started again with
// the same binaries does not rebuild. The image the tag pointed to before,
// and any the harness left untagged earlier, are removed when nothing uses
// them, so rebuilds do not pile up.
func (d *dockerStack) buildImage(ctx context.Context, tag, what string, files []buildFile) error {
	h := sha256.New()
	for i := range files {
		f := &files[i]
		if f.src != "" {
			b, err := os.ReadFile(f.src)
			if err != nil {
				return fmt.Errorf("image %s: %w", tag, err)
			}
			f.data = b
			if f.mode == 0 {
				if st, err := os.Stat(f.src); err == nil && st.Mode()&0o111 != 0 {
					f.mode = 0o755
				}
			}
		}
		if f.mode == 0 {
			f.mode = 0o644
		}
		fmt.Fprintf(h, "%s %o %d\n", f.path, f.mode, len(f.data))
		h.Write(f.data)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:32]
	cli := d.provider.Client()
	var oldID string
	if old, err := cli.ImageInspect(ctx, tag); err == nil {
		oldID = old.ID
		if old.Config != nil && old.Config.Labels[labelContext] == sum {
			fmt.Fprintf(d.progress, "docker: image %s is up to date (%s)\n", tag, what)
			return nil
		}
	}

	dir := filepath.Join(d.opts.WorkDir, "docker", strings.NewReplacer("/", "_", ":", "_").Replace(tag))
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
	}
	repo, version, _ := strings.Cut(tag, ":")
	fmt.Fprintf(d.progress, "docker: building image %s (%s)\n", tag, what)
	start := time.Now()
	buildLog := &bytes.Buffer{}
	_, err := d.provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: repo, Tag: version, KeepImage: true,
		BuildLogWriter: buildLog,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Version = build.BuilderV1
			o.Labels = map[string]string{labelContext: sum}
		},
	}})
	io.Copy(d.tclog, buildLog)
	if err != nil {
		return fmt.Errorf("build image %s (%s): %w\n%s", tag, what, err, lastBytes(buildLog.String(), 2000))
	}
	fmt.Fprintf(d.progress, "docker: built %s in %s\n", tag, time.Since(start).Round(100*time.Millisecond))
	if cur, err := cli.ImageInspect(ctx, tag); err == nil && oldID != "" && cur.ID != oldID {
		removeBuilt(ctx, cli, oldID)
	}
	pruneBuilt(ctx, cli)
	return nil
}

// removeBuilt removes an image the harness built, with the untagged
// intermediate images of its build that nothing else shares. It fails
// harmlessly while a container (another stack's) still uses the image.
func removeBuilt(ctx context.Context, cli client.APIClient, id string) {
	cli.ImageRemove(ctx, id, client.ImageRemoveOptions{PruneChildren: true})
}

// pruneBuilt removes the harness's own images that an earlier rebuild left
// untagged because a container was using them then.
func pruneBuilt(ctx context.Context, cli client.APIClient) {
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("dangling", "true").Add("label", labelContext),
	})
	if err != nil {
		return
	}
	for _, im := range imgs.Items {
		removeBuilt(ctx, cli, im.ID)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// profstoreFlags are what the Pyroscope substitute runs with on top of
// docker-compose.local.yml's command: real Pyroscope's ingestion limits, as
// the local backend states them (see startLocal).
func profstoreFlags() []string {
	return []string{"--ingestion-rate-mb", strconv.Itoa(profstore.DefaultIngestionRateMB),
		"--ingestion-burst-size-mb", strconv.Itoa(profstore.DefaultIngestionBurstSizeMB)}
}

// prometheusFiles are the project's scrape config and alert rules as the
// containers see them: the compose targets (service alias and port) are
// right on this network, so only the job list and intervals change.
// Prometheus scrapes itself on promPort.
func (d *dockerStack) prometheusFiles(promPort int) ([]testcontainers.ContainerFile, error) {
	addrs := map[string]string{"prometheus": "localhost:" + strconv.Itoa(promPort)}
	for _, name := range d.opts.Services {
		addrs[name] = name + ":" + strconv.Itoa(servicePort(name))
	}
	cfg, err := config.LocalPrometheusConfig(addrs, config.LocalOptions{ScrapeInterval: 5 * time.Second, EvaluationInterval: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	rules, err := config.AlertRulesWithFor(time.Hour) // the rules as shipped
	if err != nil {
		return nil, err
	}
	return []testcontainers.ContainerFile{
		{Reader: bytes.NewReader(cfg), ContainerFilePath: "/etc/prometheus/prometheus.yml", FileMode: 0o644},
		{Reader: bytes.NewReader(rules), ContainerFilePath: "/etc/prometheus/alerts.yml", FileMode: 0o644},
	}, nil
}

// servicePort is the port a service listens on inside the network: its
// compose port, so the shipped scrape targets and peer URLs hold.
func servicePort(name string) int {
	info, err := bank.LookupService(name)
	if err != nil {
		return 0 // Options.setDefaults has already rejected unknown names
	}
	return info.Port
}

// treeFiles lists every regular file under dir as a file to copy to the same
// place under target. One file at a time, rather than testcontainers' folder
// copy, because that gives every folder the files' mode (0644 folders a
// non-root Grafana cannot enter); folders made on the way are 0755.
func treeFiles(dir, target string) ([]testcontainers.ContainerFile, error) {
	var out []testcontainers.ContainerFile
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, testcontainers.ContainerFile{Reader: bytes.NewReader(b),
			ContainerFilePath: target + "/" + filepath.ToSlash(rel), FileMode: 0o644})
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("no files under %s", dir)
	}
	return out, err
}
