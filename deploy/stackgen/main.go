// Command stackgen turns the compose files, the one description of the bank
// stack's containers, into what the other two deploy paths read: the
// Ansible variables (deploy/ansible/group_vars/all/stack.yml) and the
// Terraform locals and variables (deploy/terraform/stack.tf.json). Run it
// from the repository root after changing docker-compose.yml or
// docker-compose.local.yml:
//
//	go run ./deploy/stackgen
//
// The compose files are read by internal/composestack, the same model the
// harness's Docker backend (testenv) starts its containers from.
//
// With -check it writes nothing and exits 1 when a file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/profdiff/profdiff/internal/composestack"
)

// The generated files, relative to the repository root.
var (
	ansibleFile   = filepath.Join("deploy", "ansible", "group_vars", "all", "stack.yml")
	terraformFile = filepath.Join("deploy", "terraform", "stack.tf.json")
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("stackgen", flag.ContinueOnError)
	repo := fs.String("repo", ".", "the repository root")
	check := fs.Bool("check", false, "write nothing; exit 1 when a generated file is stale")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	files, err := generate(*repo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stackgen:", err)
		return 2
	}
	stale := 0
	for _, f := range files {
		path := filepath.Join(*repo, f.path)
		old, _ := os.ReadFile(path)
		if bytes.Equal(old, f.data) {
			continue
		}
		if *check {
			fmt.Fprintf(os.Stderr, "stackgen: %s is stale; run go run ./deploy/stackgen\n", f.path)
			stale++
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "stackgen:", err)
			return 2
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "stackgen:", err)
			return 2
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			fmt.Fprintln(os.Stderr, "stackgen:", err)
			return 2
		}
		fmt.Printf("wrote %s\n", f.path)
	}
	if stale > 0 {
		return 1
	}
	return 0
}

type genFile struct {
	path string
	data []byte
}

func generate(repo string) ([]genFile, error) {
	st, err := composestack.Load(repo)
	if err != nil {
		return nil, err
	}
	a, err := ansibleVars(st)
	if err != nil {
		return nil, err
	}
	t, err := terraformJSON(st)
	if err != nil {
		return nil, err
	}
	return []genFile{{ansibleFile, a}, {terraformFile, t}}, nil
}
