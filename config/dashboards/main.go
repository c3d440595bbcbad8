// Command dashboards writes the bank stack's Grafana dashboards, built in
// package boards, as the JSON files Grafana provisions.
//
// Run it from the repository root after changing package boards:
//
//	go run ./config/dashboards
//
// and commit the JSON with the code; config/configtest fails while they differ.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/profdiff/profdiff/config/dashboards/boards"
)

func main() {
	out := flag.String("out", filepath.Join("config", "grafana", "provisioning", "dashboards"),
		"folder to write the dashboard JSON files to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	all, err := boards.All()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, b := range all {
		data, err := b.JSON()
		if err != nil {
			return err
		}
		path := filepath.Join(out, b.File)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
