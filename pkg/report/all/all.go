// Package all puts together every report format: the built-in text,
// markdown, json and junit, and sarif, github and html, which map a
// profile's source file names to repository paths and so need to know the
// repository they report on (as markdown does for its file:line).
//
// Programs that render reports (the profdiff CLI, the bankstack command)
// find the repository themselves, from $GITHUB_WORKSPACE or the working
// directory, and pass it to Formats.
package all

import (
	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/github"
	"github.com/profdiff/profdiff/pkg/report/html"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

// Formats returns every format, for the repository loc (report.FindLocator):
// markdown's file:line and sarif's, github's and html's file paths are
// relative to it.
func Formats(loc report.Locator) report.Formats {
	return report.Builtin().
		With("markdown", report.MarkdownWith(report.MarkdownOptions{Locator: loc})).
		Add(report.Format{Name: "sarif", Description: "SARIF 2.1.0 for GitHub code scanning, one result per regressed function",
			Render: sarif.Renderer(sarif.Options{RepoRoot: loc.Root, ModulePath: loc.Module})}).
		Add(report.Format{Name: "github", Description: "GitHub Actions workflow annotations (::error file=…,line=…::)",
			Render: github.Renderer(github.Options{RepoRoot: loc.Root, ModulePath: loc.Module})}).
		Add(report.Format{Name: "html", Description: "self-contained page with differential flame graphs of the regressed series",
			Render: html.Renderer(html.Options{RepoRoot: loc.Root, ModulePath: loc.Module})})
}

// Names returns every format's name, sorted, for help texts and flag checks
// made before the repository is known.
func Names() []string {
	return Formats(report.Locator{}).Names()
}
