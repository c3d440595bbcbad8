package workflowcheck

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"

	"github.com/profdiff/profdiff/internal/repotest"
)

// repoRoot is the directory holding go.mod, found from the test's directory.
func repoRoot(t *testing.T) string { return repotest.Root(t) }

func workflowFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no workflow files in .github/workflows")
	}
	return files
}

// linter returns an actionlint linter; shellcheck checks the run: scripts
// too when it is installed (it is an outside tool actionlint calls).
func linter(t *testing.T, root string, out *bytes.Buffer) *actionlint.Linter {
	t.Helper()
	opts := &actionlint.LinterOptions{WorkingDir: root}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
		t.Logf("actionlint runs shellcheck (%s) on run: scripts", p)
	} else {
		t.Log("shellcheck not installed: actionlint checks run: scripts without it")
	}
	l, err := actionlint.NewLinter(out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func reportLint(t *testing.T, errs []*actionlint.Error, out *bytes.Buffer) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	if len(errs) > 0 {
		t.Logf("actionlint output:\n%s", out.String())
	}
}

func TestActionlintWorkflows(t *testing.T) {
	root := repoRoot(t)
	var out bytes.Buffer
	l := linter(t, root, &out)
	files := workflowFiles(t, root)
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	reportLint(t, errs, &out)
	t.Logf("actionlint checked %d workflow files", len(files))
}

// actionMeta is the part of action.yml the checks read.
type actionMeta struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string      `yaml:"using"`
		Steps []yaml.Node `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	ID    string            `yaml:"id"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

func readAction(t *testing.T, root string) (*actionMeta, []actionStep, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta actionMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	steps := make([]actionStep, len(meta.Runs.Steps))
	for i := range meta.Runs.Steps {
		if err := meta.Runs.Steps[i].Decode(&steps[i]); err != nil {
			t.Fatalf("action.yml step %d: %v", i+1, err)
		}
	}
	return &meta, steps, data
}

// TestActionlintAction lints the composite action. actionlint lints
// workflows, not action metadata, so the action is checked twice through
// workflows built for the purpose:
//   - its steps are put in a reusable workflow whose inputs are the action's
//     inputs, so every expression in them (inputs.*, steps.*, github.*) is
//     type-checked, and with shellcheck installed, every script;
//   - a workflow uses the action as "./" with every required input, which
//     makes actionlint parse action.yml as action metadata and check the
//     inputs a caller passes against it.
func TestActionlintAction(t *testing.T) {
	root := repoRoot(t)
	meta, _, _ := readAction(t, root)

	inputs := map[string]any{}
	for name, in := range meta.Inputs {
		spec := map[string]any{"type": "string", "required": in.Required, "description": in.Description}
		if in.Default != nil {
			spec["default"] = *in.Default
		}
		inputs[name] = spec
	}
	asWorkflow := map[string]any{
		"name": "action.yml steps",
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps":   meta.Runs.Steps,
		}},
	}
	with := map[string]string{}
	for name, in := range meta.Inputs {
		if in.Required {
			with[name] = "x"
		}
	}
	caller := map[string]any{
		"name": "uses ./",
		"on":   "pull_request",
		"jobs": map[string]any{"gate": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps": []any{
				map[string]any{"uses": "actions/checkout@v6"},
				map[string]any{"id": "gate", "uses": "./", "with": with},
				map[string]any{"run": "echo \"$VERDICT\"", "env": map[string]string{"VERDICT": "${{ steps.gate.outputs.verdict }}"}},
			},
		}},
	}
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, wf := range map[string]any{"action-steps.yml": asWorkflow, "action-caller.yml": caller} {
		content, err := yaml.Marshal(wf)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		l := linter(t, root, &out)
		errs, err := l.Lint(filepath.Join(root, ".github", "workflows", name), content, proj)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(errs) > 0 {
			t.Logf("%s (generated from action.yml):\n%s", name, content)
		}
		reportLint(t, errs, &out)
	}
}

var exprRe = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// TestActionStructure checks what actionlint does not: the action is
// composite, every input is documented and used, every output is fed by a
// step that exists, and no input is substituted into a script's text —
// inputs reach scripts through env only, so a value can neither inject shell
// nor, for credentials, show up in a command line.
func TestActionStructure(t *testing.T) {
	root := repoRoot(t)
	meta, steps, raw := readAction(t, root)
	if meta.Name == "" || meta.Description == "" {
		t.Error("action.yml needs a name and a description")
	}
	if meta.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", meta.Runs.Using)
	}
	for _, want := range []string{"pyroscope-url", "basic-auth-user", "basic-auth-password", "bearer-token", "tenant",
		"services", "types", "from", "until", "baseline", "baseline-selector", "selector", "window", "config", "report-dir", "formats", "inconclusive", "profdiff-version"} {
		if _, ok := meta.Inputs[want]; !ok {
			t.Errorf("input %q missing", want)
		}
	}
	for _, want := range []string{"verdict", "exit-code", "report-dir", "json-report", "sarif-report", "html-report", "junit-report"} {
		if _, ok := meta.Outputs[want]; !ok {
			t.Errorf("output %q missing", want)
		}
	}
	ids := map[string]bool{}
	used := map[string]bool{}
	for i, st := range steps {
		if st.ID != "" {
			ids[st.ID] = true
		}
		switch {
		case st.Run != "" && st.Uses != "":
			t.Errorf("step %d has both run and uses", i+1)
		case st.Run != "" && st.Shell == "":
			t.Errorf("step %d: a composite run step needs shell", i+1)
		case st.Run == "" && st.Uses == "":
			t.Errorf("step %d has neither run nor uses", i+1)
		}
		if m := exprRe.FindString(st.Run); m != "" {
			t.Errorf("step %d substitutes %s into its script; pass it through env", i+1, m)
		}
		for _, v := range st.Env {
			for _, m := range exprRe.FindAllStringSubmatch(v, -1) {
				if in, ok := strings.CutPrefix(m[1], "inputs."); ok {
					used[in] = true
				}
			}
		}
		for _, v := range st.With {
			for _, m := range exprRe.FindAllStringSubmatch(v, -1) {
				if in, ok := strings.CutPrefix(m[1], "inputs."); ok {
					used[in] = true
				}
			}
		}
	}
	for name, in := range meta.Inputs {
		if in.Description == "" {
			t.Errorf("input %q has no description", name)
		}
		if !used[name] {
			t.Errorf("input %q is never used", name)
		}
		if in.Required && in.Default != nil && *in.Default != "" {
			t.Errorf("input %q is required but has a default", name)
		}
	}
	outRe := regexp.MustCompile(`^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$`)
	for name, out := range meta.Outputs {
		m := outRe.FindStringSubmatch(out.Value)
		if m == nil {
			t.Errorf("output %q: value %q is not ${{ steps.ID.outputs.NAME }}", name, out.Value)
			continue
		}
		if !ids[m[1]] {
			t.Errorf("output %q reads step %q, which does not exist", name, m[1])
		}
		// The step must write it to $GITHUB_OUTPUT, literally or as
		// "$f-report=" for the report paths.
		written := strings.Contains(string(raw), m[2]+"=") ||
			(strings.HasSuffix(m[2], "-report") && strings.Contains(string(raw), `"$f-report=`) &&
				strings.Contains(string(raw), strings.TrimSuffix(m[2], "-report")))
		if !written {
			t.Errorf("output %q: no step writes %s= to $GITHUB_OUTPUT", name, m[2])
		}
	}
	// Credentials: only in env, under the names profdiff reads first
	// (pkg/pyroscope: PROFDIFF_PYROSCOPE_* before PYROSCOPE_*).
	for input, env := range map[string]string{
		"basic-auth-user":     "PROFDIFF_PYROSCOPE_BASIC_AUTH_USER",
		"basic-auth-password": "PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD",
		"bearer-token":        "PROFDIFF_PYROSCOPE_BEARER_TOKEN",
		"tenant":              "PROFDIFF_PYROSCOPE_TENANT_ID",
	} {
		found := false
		for _, st := range steps {
			if v, ok := st.Env[env]; ok && strings.Contains(v, "inputs."+input) {
				found = true
			}
		}
		if !found {
			t.Errorf("input %q is not passed as env %s", input, env)
		}
	}
	if strings.Contains(string(raw), "set -x") {
		t.Error("action.yml traces its script (set -x), which would print credentials")
	}
}

// command is one run: step that invokes a Go command of this repository.
type command struct {
	file, step string
	pkg        string   // e.g. ./testenv/cmd/bankstack
	sub        string   // subcommand
	flags      []string // long flag names used
}

// shell operators and substitutions: a gate step that needs one is doing
// something a local run does not.
var shellLogic = regexp.MustCompile("[|;&<>`]|\\$\\(|\\bif\\b|\\bfor\\b|\\bwhile\\b")

// allowedCommands are the entry points a gate workflow may run, with the
// subcommands they have.
var allowedCommands = map[string][]string{
	"./testenv/cmd/bankstack": {"up", "load", "validate", "down", "baseline", "gate", "demo"},
	"./cmd/profdiff":          {"snapshot", "collect", "compare", "baseline", "report"},
}

// gateCommands parses the run: steps of the profile workflows.
func gateCommands(t *testing.T, root string) []command {
	t.Helper()
	var cmds []command
	for _, name := range []string{"profile-gate.yml", "profile-baseline.yml"} {
		data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Name string `yaml:"name"`
					Run  string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for _, job := range wf.Jobs {
			for _, st := range job.Steps {
				if st.Run == "" {
					continue
				}
				n++
				run := strings.TrimSpace(st.Run)
				if strings.Contains(run, "\n") {
					t.Errorf("%s: step %q runs a multi-line script; gate steps are one local command", name, st.Name)
					continue
				}
				if m := shellLogic.FindString(run); m != "" {
					t.Errorf("%s: step %q uses shell logic (%q); put it in the Go command", name, st.Name, m)
					continue
				}
				f := strings.Fields(run)
				if len(f) < 4 || f[0] != "go" || f[1] != "run" {
					t.Errorf("%s: step %q runs %q, not go run of a repository command", name, st.Name, run)
					continue
				}
				subs, ok := allowedCommands[f[2]]
				if !ok || !slices.Contains(subs, f[3]) {
					t.Errorf("%s: step %q runs %s %s, not one of %v", name, st.Name, f[2], f[3], allowedCommands)
					continue
				}
				c := command{file: name, step: st.Name, pkg: f[2], sub: f[3]}
				for _, a := range f[4:] {
					if flag, ok := strings.CutPrefix(a, "--"); ok {
						flag, _, _ = strings.Cut(flag, "=")
						c.flags = append(c.flags, flag)
					}
				}
				cmds = append(cmds, c)
			}
		}
		if n == 0 {
			t.Errorf("%s runs no command", name)
		}
	}
	return cmds
}

// TestGateRunsLocalCommands: the gate workflows' run: steps are single
// invocations of this repository's commands — the same ones developers and
// the harness tests run — and the subcommands and flags they use exist in
// those commands' source.
func TestGateRunsLocalCommands(t *testing.T) {
	root := repoRoot(t)
	cmds := gateCommands(t, root)
	for _, c := range cmds {
		src := goSource(t, filepath.Join(root, filepath.FromSlash(c.pkg)))
		if src == "" {
			// The command is still being written (the harness lands in
			// its own change); the shape of the step is checked above.
			t.Logf("%s: %s has no source yet: its subcommand and flags are not checked", c.file, c.pkg)
			continue
		}
		for _, word := range append([]string{c.sub}, c.flags...) {
			if !strings.Contains(src, `"`+word+`"`) {
				t.Errorf("%s: step %q uses %q, which %s does not define", c.file, c.step, word, c.pkg)
			}
		}
	}
}

// TestActionRunsProfdiffCompare: the action's script calls profdiff's
// compare with flags cmd/profdiff defines.
func TestActionRunsProfdiffCompare(t *testing.T) {
	root := repoRoot(t)
	_, _, raw := readAction(t, root)
	if !strings.Contains(string(raw), `go run "github.com/profdiff/profdiff/cmd/profdiff@$version" "${args[@]}"`) {
		t.Fatal("action.yml does not run github.com/profdiff/profdiff/cmd/profdiff")
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?:^|[\s(])--([a-z][a-z-]*)`).FindAllStringSubmatch(string(raw), -1) {
		flags[m[1]] = true
	}
	src := goSource(t, filepath.Join(root, "cmd", "profdiff"))
	if !strings.Contains(src, `"pyroscope"`) {
		// compare reads the current side from Pyroscope only once the
		// Pyroscope client lands; until then there is nothing to hold the
		// action's flags against.
		t.Skipf("cmd/profdiff has no --pyroscope flag yet: the action's flags %v are checked once it has", slices.Sorted(maps.Keys(flags)))
	}
	for f := range flags {
		if !strings.Contains(src, `"`+f+`"`) {
			t.Errorf("action.yml passes --%s, which cmd/profdiff does not define", f)
		}
	}
	if !strings.Contains(src, `"compare"`) {
		t.Error("cmd/profdiff has no compare subcommand")
	}
}

// goSource concatenates the non-test Go files of dir and its internal
// subdirectories (a command may keep its flags in a helper package), or
// returns "" when there are none.
func goSource(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			data, err := os.ReadFile(p)
			if err == nil {
				b.Write(data)
			}
		}
		return nil
	})
	return b.String()
}

// TestActionlintCatches makes sure the linter, as configured here, does
// find the mistakes the checks above rely on it for.
func TestActionlintCatches(t *testing.T) {
	root := repoRoot(t)
	bad := `on:
  workflow_call:
    inputs:
      known:
        type: string
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v6
        with:
          no-such-input: x
      - run: echo "$X"
        env:
          X: ${{ inputs.unknown }}
      - uses: actions/upload-artifact@v7
`
	var out bytes.Buffer
	l := linter(t, root, &out)
	errs, err := l.Lint(filepath.Join(root, ".github", "workflows", "bad.yml"), []byte(bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind+": "+e.Message)
	}
	for _, want := range []string{"no-such-input", `property "unknown" is not defined`, `missing input "path"`} {
		if !strings.Contains(strings.Join(kinds, "\n"), want) {
			t.Errorf("actionlint did not report %q; got:\n%s", want, strings.Join(kinds, "\n"))
		}
	}
}
