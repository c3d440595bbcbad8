package testenv

import (
	"io"
	"testing"
)

// What the external tests of this directory (package testenv_test, which
// may import testenv/calibration: package testenv may not) share with the
// end-to-end tests: above all the one baseline a test binary records.
var (
	SkipShort      = skipShort
	SharedBaseline = sharedBaseline
	E2ELoad        = e2eLoad
)

// LogWriter is a writer that logs each line it is given to t.
func LogWriter(t testing.TB) io.Writer { return testWriter{t} }
