package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/diff"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit writes JUnit XML with one test case per service × profile type
// (classname the service, name the profile type), so CI test tabs list
// every gated series: a regression is a failure whose message lists the
// regressed functions, an inconclusive series an error with its reason (it
// is not a pass), and a series without a baseline is skipped.
func JUnit(w io.Writer, r *diff.Result) error {
	suite := junitSuite{Name: "profdiff"}
	if !r.Compared.IsZero() {
		suite.Timestamp = r.Compared.UTC().Format(time.RFC3339)
	}
	for _, se := range r.Series {
		c := junitCase{ClassName: se.Service, Name: se.Alias}
		switch {
		case se.Verdict == diff.Regression:
			var names, lines []string
			for _, f := range se.Findings {
				if !Failing(f) {
					continue
				}
				names = append(names, fmt.Sprintf("%s %s (%s)", f.Function, Change(f.Change), f.Measure))
				lines = append(lines, fmt.Sprintf("%s %s: %s -> %s, %s %s",
					Verdict(f), f.Function+" ("+string(f.Measure)+")",
					Value(f.Baseline, SeriesNormalization(r, se), se.Unit), Value(f.Current, SeriesNormalization(r, se), se.Unit),
					Evidence(f, se), Interval(f)))
			}
			c.Failure = &junitProblem{
				Message: fmt.Sprintf("%s: %s", plural(len(names), "regressed function", "regressed functions"), strings.Join(names, ", ")),
				Type:    "regression",
				Body:    strings.Join(lines, "\n"),
			}
			suite.Failures++
		case se.Verdict == diff.Inconclusive:
			c.Error = &junitProblem{Message: "inconclusive: " + se.Reason, Type: "inconclusive"}
			suite.Errors++
		case se.NoBaseline:
			c.Skipped = &junitProblem{Message: se.Reason}
			suite.Skipped++
		default:
			c.SystemOut = fmt.Sprintf("pass: %d functions tested, %s", se.Tested, NoChange(se))
		}
		suite.Cases = append(suite.Cases, c)
		suite.Tests++
	}
	all := junitSuites{Name: "profdiff", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
