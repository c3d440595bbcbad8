// Package deploytest runs the runbook's three deploy paths for real on this
// machine's Docker engine — docker compose with docker-compose.local.yml,
// the Ansible playbooks and the Terraform module (OpenTofu) — each with the
// local images: deploy, `bankstack validate --host` against what it started,
// a short load, teardown, and nothing left behind. Its tests skip with the
// reason when a tool is missing, and fail instead under PROFDIFF_STRICT=1;
// go test -short leaves them out.
//
// Each path uses its own project name and host ports (28080-29290 on
// 127.0.0.1), apart from testenv's Docker stacks, which publish random ports.
package deploytest
