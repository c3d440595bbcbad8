package sarif

import "github.com/profdiff/profdiff/pkg/report"

// Locator maps profile file names to repository paths; see report.Locator.
type Locator = report.Locator

// FindLocator returns a Locator for the repository that contains dir; see
// report.FindLocator.
func FindLocator(dir string) Locator { return report.FindLocator(dir) }
