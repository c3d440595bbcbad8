// Command profstore runs the embedded Pyroscope-compatible server on its own,
// for the local stack and for poking at by hand:
//
//	go run ./cmd/profstore --addr 127.0.0.1:4040
//
// It binds loopback by default because it has no authentication unless
// asked for, and it keeps everything in memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/profdiff/profdiff/pkg/profstore"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "profstore:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("profstore", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:4040", "listen address (host:port); loopback unless you mean otherwise")
	retention := fs.Duration("retention", profstore.DefaultRetention, "how long uploads stay queryable")
	maxBytes := fs.Int64("max-bytes", profstore.DefaultMaxBytes, "memory cap for stored profiles in bytes; oldest uploads are evicted first")
	maxUpload := fs.Int64("max-upload-bytes", profstore.DefaultMaxUploadBytes, "largest accepted upload body in bytes")
	queryDelay := fs.Duration("query-delay", 0, "hide uploads from queries until this old (real Pyroscope: about 2s)")
	ingestRate := fs.Float64("ingestion-rate-mb", profstore.DefaultIngestionRateMB, "per-tenant ingestion rate limit in MiB/s of decompressed profile, as real Pyroscope's ingestion_rate_mb; over it uploads get 429; negative turns it off")
	ingestBurst := fs.Float64("ingestion-burst-size-mb", profstore.DefaultIngestionBurstSizeMB, "per-tenant ingestion burst in MiB, as real Pyroscope's ingestion_burst_size_mb; must hold the largest single profile")
	verbose := fs.Bool("v", false, "log rejected uploads")
	healthURL := fs.String("healthcheck", "", "check URL instead of serving: succeed when it answers 200 within 3s (for a container health check: the image is FROM scratch, with no curl or wget)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *healthURL != "" {
		return healthcheck(*healthURL)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *ingestRate == 0 {
		return fmt.Errorf("--ingestion-rate-mb 0 would refuse every upload; give a positive rate, or a negative one to turn the limit off")
	}
	if *ingestBurst <= 0 {
		return fmt.Errorf("--ingestion-burst-size-mb %g: want a positive size in MiB that holds the largest profile", *ingestBurst)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := profstore.Run(ctx,
		profstore.WithAddr(*addr), profstore.WithRetention(*retention), profstore.WithMaxBytes(*maxBytes),
		profstore.WithMaxUploadBytes(*maxUpload), profstore.WithQueryDelay(*queryDelay), profstore.WithLogger(logger),
		profstore.WithIngestionLimit(*ingestRate, *ingestBurst),
	)
	if err != nil {
		return err
	}
	limit := fmt.Sprintf("ingestion %g MiB/s, burst %g MiB", *ingestRate, *ingestBurst)
	if *ingestRate < 0 {
		limit = "no ingestion rate limit"
	}
	fmt.Fprintf(os.Stderr, "profstore: listening on %s (retention %s, max %d bytes, %s)\n", srv.URL(), *retention, *maxBytes, limit)
	<-ctx.Done()
	stop()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("shutdown timed out")
	}
}

// healthcheck probes url once, for a container's health check.
func healthcheck(url string) error {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: %s", url, resp.Status)
	}
	return nil
}
