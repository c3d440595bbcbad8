package main

import "github.com/profdiff/profdiff/pkg/report/all"

// The formats that map profile file names to repository paths are
// registered for the repository profdiff runs in.
func init() { all.Register() }
