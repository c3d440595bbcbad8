package testenv

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// The tags of the images the Docker backend builds on this machine. The
// runbook's other deploy paths (compose with docker-compose.local.yml,
// Ansible and Terraform with their local-images switch) run these where
// the third-party images cannot be pulled.
const (
	// LocalBankImage is the services' image, built from services/Dockerfile.
	LocalBankImage = bankImage
	// LocalPyroscopeImage is the embedded Pyroscope-compatible server
	// (cmd/profstore), the stand-in for grafana/pyroscope.
	LocalPyroscopeImage = profstoreImage
	// LocalPrometheusImage is this machine's prometheus binary (Debian's
	// package), the stand-in for prom/prometheus.
	LocalPrometheusImage = promDebianImage
)

// LocalImages says what BuildLocalImages built or found.
type LocalImages struct {
	Bank, Pyroscope, Prometheus string
	// Grafana is the Grafana image when it is on the engine, else empty:
	// there is no substitute for it.
	Grafana string
	// GrafanaWhy says why Grafana is missing, when it is.
	GrafanaWhy string
}

// BuildLocalImages builds the three images the Docker backend uses as
// substitutes (LocalBankImage, LocalPyroscopeImage, LocalPrometheusImage)
// with the same code the backend runs, so the other deploy paths start the
// same software the harness does. An image whose build context has not
// changed is kept. workDir holds the binaries and build contexts (a new
// temporary directory, removed afterwards, when empty). It also reports
// whether the Grafana image (docker-compose.yml's, or GrafanaImageEnv's) is
// on the engine; it never pulls. Prometheus needs Debian's prometheus
// package on PATH. It starts no container, so unlike the Docker backend it
// does not need TESTCONTAINERS_RYUK_DISABLED.
func BuildLocalImages(ctx context.Context, workDir string, progress io.Writer) (LocalImages, error) {
	var li LocalImages
	if progress == nil {
		progress = io.Discard
	}
	if workDir == "" {
		dir, err := os.MkdirTemp("", "bankstack-images-")
		if err != nil {
			return li, err
		}
		defer os.RemoveAll(dir)
		workDir = dir
	}
	if err := os.MkdirAll(filepath.Join(workDir, "logs"), 0o755); err != nil {
		return li, err
	}
	tclog, err := os.Create(filepath.Join(workDir, "logs", "testcontainers.log"))
	if err != nil {
		return li, err
	}
	defer tclog.Close()
	d := &dockerStack{
		opts:     &Options{WorkDir: workDir},
		progress: progress,
		tclog:    tclog,
		logger:   log.New(tclog, "", log.LstdFlags),
	}
	d.provider, err = testcontainers.NewDockerProvider(testcontainers.WithLogger(d.logger))
	if err != nil {
		return li, fmt.Errorf("no Docker engine: %w", err)
	}
	defer d.provider.Close()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = d.provider.Health(hctx)
	cancel()
	if err != nil {
		return li, fmt.Errorf("Docker engine not reachable: %w", err)
	}

	p := &dockerPlan{}
	if p.moduleDir, err = moduleDir(ctx); err != nil {
		return li, err
	}
	if err := d.loadCompose(p.moduleDir); err != nil {
		return li, err
	}
	if err := d.buildBankImage(ctx, p); err != nil {
		return li, err
	}
	if err := d.buildProfstoreImage(ctx); err != nil {
		return li, err
	}
	if err := d.buildPrometheusImage(ctx); err != nil {
		return li, fmt.Errorf("prometheus substitute: %w", err)
	}
	li.Bank, li.Pyroscope, li.Prometheus = LocalBankImage, LocalPyroscopeImage, LocalPrometheusImage

	grafana := d.images.Grafana
	if _, err := d.provider.Client().ImageInspect(ctx, grafana); err == nil {
		li.Grafana = grafana
	} else {
		li.GrafanaWhy = grafana + " is not on the engine and there is no substitute for it"
	}
	return li, nil
}
