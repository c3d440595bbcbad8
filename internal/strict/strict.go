// Package strict is the rule for tests that need an outside tool
// (promtool, Prometheus, Chromium, git, a Docker engine): without the tool
// such a test skips, saying what is missing, so that `go test ./...` works
// on a bare laptop; under PROFDIFF_STRICT=1, which .ci/run sets after
// installing the tools, it fails instead, so that CI cannot go green by
// skipping.
package strict

import (
	"fmt"
	"os"
	"testing"
)

// Env is the variable that turns strict mode on when it is "1".
const Env = "PROFDIFF_STRICT"

// On reports whether strict mode is on.
func On() bool { return os.Getenv(Env) == "1" }

// SkipOrFail skips the test with the reason, or fails it in strict mode.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if On() {
		t.Fatalf("%s=1 and %s", Env, msg)
	}
	t.Skip(msg)
}
