package strict

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how a test ended; like testing's,
// its Skip and Fatalf end the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
	runtime.Goexit()
}

func TestSkipOrFail(t *testing.T) {
	tests := []struct {
		env           string
		skip, failure string
	}{
		{"", "git is not on PATH", ""},
		{"0", "git is not on PATH", ""},
		{"1", "", "PROFDIFF_STRICT=1 and git is not on PATH"},
	}
	for _, tt := range tests {
		t.Setenv(Env, tt.env)
		r := &recorder{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			SkipOrFail(r, "%s is not on PATH", "git")
		}()
		<-done
		if r.skipped != tt.skip || r.failed != tt.failure {
			t.Errorf("%s=%q: skipped %q, failed %q; want %q, %q", Env, tt.env, r.skipped, r.failed, tt.skip, tt.failure)
		}
	}
}
