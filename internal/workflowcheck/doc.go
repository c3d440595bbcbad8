// Package workflowcheck holds the tests that keep the repository's GitHub
// Actions files honest: the workflows and the reusable action pass
// actionlint (run as a Go library, so "go test ./..." is enough), the
// action's metadata is consistent with its steps, and the profile gate runs
// only commands that exist in this repository and that developers run
// locally, so that no logic lives only in YAML where no test can reach it.
package workflowcheck
