package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputPlan: --format F=FILE, the positional --format/--output
// pairing, formats inferred from --output's extension, and the refusals
// (two formats to standard output, two into one file, an extension that
// names no format).
func TestOutputPlan(t *testing.T) {
	tests := []struct {
		name             string
		formats, outputs []string
		want             string // "format>file ..." with "-" for standard output
		err              string
	}{
		{"default", nil, nil, "text>-", ""},
		{"one format to stdout", []string{"json"}, nil, "json>-", ""},
		{"format=file", []string{"json=report.json"}, nil, "json>report.json", ""},
		{"format=file and one to stdout", []string{"text", "json=r.json", "junit=r.xml"}, nil, "text>- json>r.json junit>r.xml", ""},
		{"format=- is stdout", []string{"json=-", "html=r.html"}, nil, "json>- html>r.html", ""},
		{"positional pairing", []string{"json", "junit", "markdown"}, []string{"r.json", "r.xml"}, "json>r.json junit>r.xml markdown>-", ""},
		{"pairing skips format=file", []string{"sarif=r.sarif", "json", "text"}, []string{"r.json"}, "sarif>r.sarif json>r.json text>-", ""},
		{"positional pairing keeps the format given", []string{"text"}, []string{"report.json"}, "text>report.json", ""},
		{"output alone: json", nil, []string{"report.json"}, "json>report.json", ""},
		{"output alone: every extension", nil, []string{"a.json", "b.html", "c.md", "d.xml", "e.sarif", "f.sarif.json", "g.txt", "h.HTM", "i.markdown"},
			"json>a.json html>b.html markdown>c.md junit>d.xml sarif>e.sarif sarif>f.sarif.json text>g.txt html>h.HTM markdown>i.markdown", ""},
		{"outputs past the formats are inferred", []string{"text"}, []string{"r.txt", "r.json"}, "text>r.txt json>r.json", ""},
		{"output - pairs with a format", []string{"github"}, []string{"-"}, "github>-", ""},
		{"two to stdout", []string{"text", "json"}, nil, "", "formats text and json would both go to standard output and mix; give all but one a file, e.g. --format json=report.json"},
		{"two to stdout, one by -", []string{"text", "json=-"}, nil, "", "would both go to standard output"},
		{"two into one file", []string{"json=r.json", "sarif=r.json"}, nil, "", "formats json and sarif would both be written to r.json and only the last would stay"},
		{"output with an unknown extension", nil, []string{"report.out"}, "", "--output report.out has no --format and its extension names none (.sarif.json, .sarif, .json"},
		{"output without an extension", nil, []string{"report"}, "", "give one: --format json=report"},
		{"output - without a format", nil, []string{"-"}, "", "--output - has no --format"},
		{"an extension alone is no name", nil, []string{".json"}, "", "has no --format"},
		{"unknown format", []string{"pdf=r.pdf"}, nil, "", `unknown format "pdf"`},
		{"format= without a file", []string{"json="}, nil, "", "--format json=: no file after =; write --format json=FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			formats, files, err := outputPlan(tt.formats, tt.outputs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("got %v %v, %v; want one line with %q", formats, files, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range formats {
				f := files[i]
				if f == "" {
					f = "-"
				}
				got = append(got, formats[i]+">"+f)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// TestOutputForms: the forms end to end, each file holding its format.
func TestOutputForms(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	j, x, h := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "sub", "r.html")
	code, stdout, stderr := cli(t, "compare", "--baseline", f.base, "--current", f.regressed,
		"--format", "json="+j, "--output", x, "--output", h, "--format", "markdown")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The plain --format markdown pairs with the first --output (r.xml);
	// the second, r.html, takes its format from its extension. Nothing
	// then goes to standard output.
	if stdout != "" {
		t.Errorf("stdout %.200q, want nothing", stdout)
	}
	for file, prefix := range map[string]string{j: "{", x: "## ❌ profdiff", h: "<!DOCTYPE html>"} {
		data, err := os.ReadFile(file)
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(data)), prefix) {
			t.Errorf("%s: %v, starts %.40q; want %q", filepath.Base(file), err, data, prefix)
		}
	}
	code, _, stderr = cli(t, "compare", "--baseline", f.base, "--current", f.regressed, "--format", "text", "--format", "json")
	if code != exitError || !strings.Contains(stderr, "would both go to standard output") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("two formats to stdout: exit %d, stderr %q", code, stderr)
	}
}
