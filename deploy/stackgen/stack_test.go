package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/profdiff/profdiff/internal/composestack"
)

const repo = "../.."

// TestGeneratedFilesAreCurrent keeps the Ansible variables and the
// Terraform locals in step with the compose files: regenerating must give
// the committed bytes.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := generate(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(repo, f.path))
		if err != nil {
			t.Fatalf("%s: %v (run go run ./deploy/stackgen)", f.path, err)
		}
		if !bytes.Equal(old, f.data) {
			t.Errorf("%s is stale: run go run ./deploy/stackgen", f.path)
		}
	}
}

// TestDescriptionMatchesCompose checks what the generated files say against
// the compose files read independently: every service, its image variable,
// command, published port and mounts, in both variants.
func TestDescriptionMatchesCompose(t *testing.T) {
	st, err := composestack.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Containers []map[string]any `yaml:"stack_containers"`
		Local      []map[string]any `yaml:"stack_containers_local"`
		Pyroscope  string           `yaml:"pyroscope_image"`
	}
	ab, _ := ansibleVars(st)
	if err := yaml.Unmarshal(ab, &a); err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Variable map[string]struct{ Default string }
		Locals   struct {
			Containers map[string]composestack.Container `json:"stack_containers"`
			Local      map[string]composestack.Container `json:"stack_containers_local"`
		}
	}
	tb, _ := terraformJSON(st)
	if err := json.Unmarshal(tb, &tf); err != nil {
		t.Fatal(err)
	}
	if len(a.Containers) != 10 || len(tf.Locals.Containers) != 10 || len(a.Local) != 10 || len(tf.Locals.Local) != 10 {
		t.Fatalf("want ten containers in each list: ansible %d/%d, terraform %d/%d", len(a.Containers), len(a.Local), len(tf.Locals.Containers), len(tf.Locals.Local))
	}
	tests := []struct {
		name, ansibleImage, tfImage, localImage, port string
		optionalLocal                                 bool
	}{
		{"pyroscope", "{{ pyroscope_image }}", "${var.pyroscope_image}", "profdiff/profstore:bankstack", "{{ publish_address }}:{{ pyroscope_port }}:4040", false},
		{"prometheus", "{{ prometheus_image }}", "${var.prometheus_image}", "profdiff/prometheus-debian:bankstack", "{{ publish_address }}:{{ prometheus_port }}:9090", false},
		{"grafana", "{{ grafana_image }}", "${var.grafana_image}", "grafana/grafana:11.1.0", "{{ publish_address }}:{{ grafana_port }}:3000", true},
		{"bank-fraud-service", "{{ bank_image }}", "${var.bank_image}", "profdiff/bank:bankstack", "{{ publish_address }}:{{ bank_fraud_port }}:8083", false},
	}
	find := func(list []map[string]any, name string) map[string]any {
		for _, c := range list {
			if c["name"] == name {
				return c
			}
		}
		t.Fatalf("%s missing", name)
		return nil
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := find(a.Containers, tt.name)
			if c["image"] != tt.ansibleImage {
				t.Errorf("ansible image %v, want %s", c["image"], tt.ansibleImage)
			}
			if p, _ := c["published_ports"].([]any); len(p) != 1 || p[0] != tt.port {
				t.Errorf("ansible ports %v, want [%s]", c["published_ports"], tt.port)
			}
			if got := tf.Locals.Containers[tt.name].Image; got != tt.tfImage {
				t.Errorf("terraform image %q, want %q", got, tt.tfImage)
			}
			l := find(a.Local, tt.name)
			wantLocal := tt.localImage
			if tt.optionalLocal {
				wantLocal = "{{ grafana_image }}"
			}
			if l["image"] != wantLocal || l["optional"] != tt.optionalLocal {
				t.Errorf("local: image %v optional %v, want %s %v", l["image"], l["optional"], wantLocal, tt.optionalLocal)
			}
			if tf.Locals.Local[tt.name].Optional != tt.optionalLocal {
				t.Errorf("terraform local optional = %v", tf.Locals.Local[tt.name].Optional)
			}
		})
	}
	if a.Pyroscope != "grafana/pyroscope:1.14.1" || tf.Variable["pyroscope_image"].Default != "grafana/pyroscope:1.14.1" {
		t.Errorf("pyroscope_image default: ansible %q, terraform %q", a.Pyroscope, tf.Variable["pyroscope_image"].Default)
	}
	// The local Pyroscope runs the substitute's flags, with its own check.
	p := tf.Locals.Local["pyroscope"]
	if strings.Join(p.Command, " ") != "--addr 0.0.0.0:4040 --retention 2h --max-bytes 1073741824" || p.Healthcheck.Test[1] != "/profstore" || p.Healthcheck.Interval != "10s" {
		t.Errorf("local pyroscope: command %v, health %+v", p.Command, p.Healthcheck)
	}
}
