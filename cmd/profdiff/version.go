package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/profdiff/profdiff/internal/buildinfo"
)

func init() {
	register(&command{name: "version", summary: "print profdiff's version", run: runVersion})
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flagSet("version", `
Usage: profdiff version

Prints the version of this profdiff build (recorded in every snapshot).

Example:
  profdiff version
`, stdout)
	if code, done := parse(fs, args, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		return fail(stderr, "version", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	fmt.Fprintf(stdout, "profdiff %s (%s)\n", buildinfo.Version(), runtime.Version())
	return exitOK
}
