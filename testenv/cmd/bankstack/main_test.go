package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that every refusal is one line naming what was wrong,
// with exit status 2, before anything is started.
func TestBadInput(t *testing.T) {
	badRules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(badRules, []byte("defaults:\n  normalization: odds\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"gate"}, "give --against REF"},
		{[]string{"gate", "--against", "HEAD", "--baseline", "b"}, "give one"},
		{[]string{"gate", "--against", "HEAD", "--runs", "2"}, "--runs applies to --baseline"},
		{[]string{"gate", "--against", "HEAD", "--pairs", "-1"}, "-1 pairs"},
		{[]string{"gate", "--against", "HEAD", "--duet-mode", "sideways"}, `mode "sideways"`},
		{[]string{"gate", "--against", "HEAD", "--inject", "fraud.nope=2"}, "fraud.nope"},
		{[]string{"gate", "--against", "no-such-ref-of-this-repo"}, `"no-such-ref-of-this-repo" is not a commit`},
		{[]string{"gate", "--against", "HEAD", "--timeout", "1ms"}, "time bound of 1ms ran out"},
		{[]string{"demo", "--baseline-out", "x"}, "--baseline-out needs --with-baseline"},
		{[]string{"demo", "--with-baseline", "--pairs", "3"}, "--pairs applies to the duets"},
		{[]string{"gate", "--baseline", "b", "--runs", "0"}, "--runs=0: want at least 1"},
		{[]string{"gate", "--baseline", "/nonexistent/baseline"}, "/nonexistent/baseline"},
		{[]string{"baseline"}, "--out is required"},
		{[]string{"calibrate", "--current-runs", "2"}, "--current-runs=2"},
		{[]string{"calibrate", "--gate-runs", "0"}, "--gate-runs=0: want at least 1"},
		{[]string{"calibrate", "--gate-duration", "-1s"}, "--gate-duration=-1s"},
		{[]string{"calibrate", "--current-runs", "0", "--replay", "k", "--from-json", "x"}, "--current-runs=0"},
		{[]string{"calibrate", "--stored-from", "2"}, "--stored-from=2: want a positive count of A/A trials, only with --replay"},
		{[]string{"calibrate", "--stored-from", "-1", "--replay", "k", "--from-json", "x"}, "--stored-from=-1"},
		{[]string{"calibrate", "--stored-from", "2", "--replay", "k", "--current-runs", "2", "--from-json", "x"}, "--stored-from=2"},
		{[]string{"calibrate", "--from-json", "/nonexistent/cal.json"}, "/nonexistent/cal.json"},
		{[]string{"calibrate", "--config", "/nonexistent/rules.yaml"}, "/nonexistent/rules.yaml"},
		{[]string{"calibrate", "--config", badRules}, `normalization "odds"`},
		{[]string{"frobnicate"}, "frobnicate"},
		{[]string{"validate", "--port", "grafana=0"}, "--port needs --host"},
		{[]string{"validate", "--host", "127.0.0.1", "--port", "nope=1"}, `unknown component "nope"`},
		{[]string{"load", "--host", "127.0.0.1", "--port", "pyroscope=x"}, "--port pyroscope=x: want a port number"},
		{[]string{"validate", "--host", "127.0.0.1", "--port", "pyroscope=0"}, "the stack needs its Pyroscope"},
		{[]string{"images", "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "--arrivals", "bursty"}, `arrivals "bursty": want poisson or uniform`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			msg := strings.TrimSpace(errb.String())
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, msg)
			}
			if !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") > 0 {
				t.Errorf("stderr %q: want one line containing %q", msg, tt.want)
			}
		})
	}
}
