package workflowcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestActionScript runs the action's script with bash, as the runner would,
// against a stub "go" that records its arguments and environment and plays
// profdiff's part (writes the JSON report, exits with the gate's status).
// It checks what the script itself decides: the arguments built from the
// inputs, that credentials travel only in the environment, and the outputs.
func TestActionScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	root := repoRoot(t)
	_, steps, _ := readAction(t, root)
	var script string
	var env map[string]string
	for _, st := range steps {
		if st.ID == "profdiff" {
			script, env = st.Run, st.Env
		}
	}
	if script == "" {
		t.Fatal("no step with id profdiff")
	}

	tests := []struct {
		name       string
		inputs     map[string]string
		verdict    string // what the stub writes; "" writes no JSON (an error)
		exit       int
		wantExit   int
		wantOut    []string
		wantArgs   []string
		rejectArgs []string
	}{
		{
			name: "regression",
			inputs: map[string]string{
				"services": "bank-fraud-service, bank-order-service\nbank-loan-service", "types": "cpu,alloc",
				"formats": "sarif html", "profdiff-version": "v1.2.3", "config": "profdiff.yaml",
			},
			verdict: "regression", exit: 1, wantExit: 1,
			wantOut: []string{"verdict=regression", "exit-code=1", "report-dir=out", "json-report=out/profdiff.json",
				"sarif-report=out/profdiff.sarif", "html-report=out/profdiff.html"},
			wantArgs: []string{"run github.com/profdiff/profdiff/cmd/profdiff@v1.2.3 compare",
				"--baseline testdata/baseline", "--pyroscope https://pyroscope.example",
				"--service bank-fraud-service --service bank-order-service --service bank-loan-service",
				"--type cpu --type alloc", "--config profdiff.yaml", "--inconclusive=fail",
				"--format markdown --output summary.md", "--format github",
				"--format json --output out/profdiff.json"},
			rejectArgs: []string{"junit", "s3cret", "t0ken"},
		},
		{
			name:    "inconclusive passes on request",
			inputs:  map[string]string{"inconclusive": "pass", "formats": "json,junit"},
			verdict: "inconclusive", exit: 0, wantExit: 0,
			wantOut:  []string{"verdict=inconclusive", "exit-code=0", "junit-report=out/junit.xml"},
			wantArgs: []string{"@main compare", "--inconclusive=pass", "--format junit --output out/junit.xml"},
		},
		{
			name:    "error",
			inputs:  map[string]string{},
			verdict: "", exit: 2, wantExit: 2,
			wantOut: []string{"verdict=error", "exit-code=2"},
		},
		{
			name: "duet by label",
			inputs: map[string]string{"baseline": "", "baseline-selector": `{version="base"}`, "selector": `{version="pr"}`, "window": "10s",
				"formats": "json"},
			verdict: "pass", exit: 0, wantExit: 0,
			wantOut:    []string{"verdict=pass", "exit-code=0"},
			wantArgs:   []string{`--baseline-selector {version="base"}`, `--selector {version="pr"}`, "--window 10s", "--pyroscope https://pyroscope.example"},
			rejectArgs: []string{"--baseline testdata"},
		},
		{
			name:     "neither baseline nor baseline-selector",
			inputs:   map[string]string{"baseline": ""},
			wantExit: 2,
		},
		{
			name:     "both baseline and baseline-selector",
			inputs:   map[string]string{"baseline-selector": `{version="base"}`},
			wantExit: 2,
		},
		{
			name:     "bad inconclusive value",
			inputs:   map[string]string{"inconclusive": "maybe"},
			wantExit: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			// The stub records its arguments and environment, finds the
			// JSON report's path after "--format json --output", and
			// writes a report with the test's verdict there.
			stub := `#!/usr/bin/env bash
echo "$*" > "$STUB_ARGS"
env > "$STUB_ENV"
prev2= prev1=
for a in "$@"; do
  if [ "$prev2" = json ] && [ "$prev1" = --output ] && [ -n "$STUB_VERDICT" ]; then
    printf '{\n  "schema_version": "1.0",\n  "verdict": "%s",\n  "series": [{"verdict": "pass"}]\n}\n' "$STUB_VERDICT" > "$a"
  fi
  prev2=$prev1 prev1=$a
done
exit "$STUB_EXIT"
`
			if err := os.WriteFile(filepath.Join(bin, "go"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			inputs := map[string]string{
				"pyroscope-url": "https://pyroscope.example", "baseline": "testdata/baseline",
				"basic-auth-user": "ci", "basic-auth-password": "s3cret", "bearer-token": "t0ken", "tenant": "team-a",
				"from": "now-15m", "until": "now", "report-dir": "out", "formats": "json junit sarif html",
				"inconclusive": "fail",
			}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			// As the runner runs a composite step with shell: bash.
			scriptFile := filepath.Join(dir, "step.sh")
			if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", scriptFile)
			cmd.Dir = dir
			cmd.Env = []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
				"GITHUB_STEP_SUMMARY=summary.md",
				"STUB_ARGS=" + filepath.Join(dir, "args"), "STUB_ENV=" + filepath.Join(dir, "env"),
				"STUB_VERDICT=" + tt.verdict, "STUB_EXIT=" + strconv.Itoa(tt.exit),
			}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+expand(v, inputs))
			}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.wantExit, out)
			}
			if strings.Contains(string(out), "s3cret") && !strings.Contains(string(out), "::add-mask::s3cret") {
				t.Errorf("password printed unmasked:\n%s", out)
			}
			outputs, _ := os.ReadFile(filepath.Join(dir, "output"))
			for _, w := range tt.wantOut {
				if !strings.Contains(string(outputs), w+"\n") {
					t.Errorf("outputs lack %q:\n%s", w, outputs)
				}
			}
			if len(tt.wantArgs) == 0 && len(tt.rejectArgs) == 0 {
				return
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			for _, w := range tt.wantArgs {
				if !strings.Contains(string(args), w) {
					t.Errorf("arguments lack %q:\n%s", w, args)
				}
			}
			for _, r := range tt.rejectArgs {
				if strings.Contains(string(args), r) {
					t.Errorf("arguments contain %q:\n%s", r, args)
				}
			}
			envOut, _ := os.ReadFile(filepath.Join(dir, "env"))
			for _, w := range []string{"PROFDIFF_REPORT_URL=//actions/runs/", "PROFDIFF_PYROSCOPE_BASIC_AUTH_USER=ci", "PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD=s3cret", "PROFDIFF_PYROSCOPE_BEARER_TOKEN=t0ken", "PROFDIFF_PYROSCOPE_TENANT_ID=team-a"} {
				if !strings.Contains("\n"+string(envOut), "\n"+w+"\n") {
					t.Errorf("profdiff's environment lacks %s", w)
				}
			}
		})
	}
}

// expand evaluates the two expression forms the action's env uses:
// ${{ inputs.NAME }} and ${{ github.action_ref }} (as "main").
func expand(v string, inputs map[string]string) string {
	return exprRe.ReplaceAllStringFunc(v, func(m string) string {
		e := exprRe.FindStringSubmatch(m)[1]
		if name, ok := strings.CutPrefix(e, "inputs."); ok {
			return inputs[name]
		}
		if e == "github.action_ref" {
			return "main"
		}
		return ""
	})
}
