package main

import (
	"context"
	"fmt"
	"io"

	"github.com/profdiff/profdiff/testenv"
)

// runImages builds the local substitute images that the runbook's compose,
// Ansible and Terraform paths use where nothing can be pulled: the same
// images, built by the same code, as the Docker backend's.
func runImages(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("images", "build the local images (bank services, Pyroscope and Prometheus substitutes) that the deploy paths' local-images override runs",
		"go run ./testenv/cmd/bankstack images", stdout)
	workDir := fs.String("work-dir", "", "directory for the binaries and build contexts (default: a temporary one, removed afterwards)")
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	li, err := testenv.BuildLocalImages(ctx, *workDir, stdout)
	if err != nil {
		return fail(stderr, "images", err)
	}
	fmt.Fprintln(stdout, "local images:")
	fmt.Fprintf(stdout, "  %-11s %s\n", "services", li.Bank)
	fmt.Fprintf(stdout, "  %-11s %s (the embedded Pyroscope-compatible server)\n", "pyroscope", li.Pyroscope)
	fmt.Fprintf(stdout, "  %-11s %s (this machine's prometheus binary)\n", "prometheus", li.Prometheus)
	if li.Grafana != "" {
		fmt.Fprintf(stdout, "  %-11s %s (present; compose runs it with --profile grafana)\n", "grafana", li.Grafana)
	} else {
		fmt.Fprintf(stdout, "  %-11s skipped: %s; the local-images override leaves Grafana out\n", "grafana", li.GrafanaWhy)
	}
	return 0
}
