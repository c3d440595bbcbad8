// Package all registers the report formats that need to know the repository
// they report on — sarif, github and html map a profile's source file names
// to repository paths — next to the built-in text, markdown, json and junit.
//
// Programs that render reports (the profdiff CLI, the bankstack command)
// call Register once at start-up; the formats then appear in
// report.Formats() and --format.
package all

import (
	"os"
	"sync"

	"github.com/profdiff/profdiff/pkg/report"
	"github.com/profdiff/profdiff/pkg/report/github"
	"github.com/profdiff/profdiff/pkg/report/html"
	"github.com/profdiff/profdiff/pkg/report/sarif"
)

var (
	once sync.Once
	loc  report.Locator
)

// Locator is the repository Register found: where file names are mapped.
func Locator() report.Locator {
	Register()
	return loc
}

// Register registers sarif, github and html for the repository found at
// $GITHUB_WORKSPACE, or else the one containing the working directory, and
// gives markdown the same repository for its file:line. It may be called
// more than once; only the first call registers.
func Register() {
	once.Do(func() {
		dir := os.Getenv("GITHUB_WORKSPACE")
		if dir == "" {
			dir, _ = os.Getwd()
		}
		loc = report.FindLocator(dir)
		report.Register("sarif", "SARIF 2.1.0 for GitHub code scanning, one result per regressed function",
			sarif.Renderer(sarif.Options{RepoRoot: loc.Root, ModulePath: loc.Module}))
		report.Register("github", "GitHub Actions workflow annotations (::error file=…,line=…::)",
			github.Renderer(github.Options{RepoRoot: loc.Root, ModulePath: loc.Module}))
		report.Register("html", "self-contained page with differential flame graphs of the regressed series",
			html.Renderer(html.Options{RepoRoot: loc.Root, ModulePath: loc.Module}))
		_ = report.Configure("markdown", report.MarkdownWith(report.MarkdownOptions{Locator: loc}))
	})
}
