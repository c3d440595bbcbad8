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
	// SystemOut carries the result's warnings and notes, one a line: a
	// CI test tab shows them with the suite.
	SystemOut string `xml:"system-out,omitempty"`
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

// JUnit writes JUnit XML with one test case per cause (classname the
// service, name the function and the profile types it was seen in), so that
// a CI test tab counts what the other formats count: a failing cause is a
// failure whose message gives its change and what it folds, an ignored cause
// is skipped with its rule, an improvement passes. Each series without a
// cause is a test case of its own (classname the service, name the profile
// type): a pass, an inconclusive series as an error with its reason (it is
// not a pass), a series without a baseline skipped.
func JUnit(w io.Writer, r *diff.Result) error {
	suite := junitSuite{Name: "profdiff"}
	if !r.Compared.IsZero() {
		suite.Timestamp = r.Compared.UTC().Format(time.RFC3339)
	}
	inCause := map[*diff.SeriesResult]bool{}
	for _, c := range Causes(r) {
		var types, lines []string
		for _, cs := range c.Series {
			s := r.SeriesOf(c, cs)
			if s == nil {
				continue
			}
			inCause[s] = true
			types = append(types, cs.Alias)
			f := cs.Finding
			line := fmt.Sprintf("%s %s: %s, %s (%s)", cs.Alias, f.Measure, FromTo(r, s, f), ChangeWithInterval(f), Stats(f, s))
			if fo := Folded(cs, 0, false); fo != "" {
				line += "; " + fo
			}
			lines = append(lines, line)
			for _, m := range cs.Findings {
				lines = append(lines, fmt.Sprintf("  %s %s (%s): %s, %s", Verdict(m), m.Function, m.Measure, FromTo(r, s, m), ChangeWithInterval(m)))
			}
		}
		tc := junitCase{ClassName: c.Service, Name: displayName(c.Function, c.RawName) + " [" + strings.Join(types, ", ") + "]"}
		switch {
		case c.Failing:
			tc.Failure = &junitProblem{Message: CauseSentence(r, c), Type: string(c.Kind), Body: strings.Join(lines, "\n")}
			suite.Failures++
		case c.Kind == diff.KindIgnored:
			tc.Skipped = &junitProblem{Message: CauseVerdict(c)}
			suite.Skipped++
		default:
			tc.SystemOut = CauseSentence(r, c)
		}
		suite.Cases = append(suite.Cases, tc)
		suite.Tests++
	}
	for _, se := range r.Series {
		if inCause[se] {
			continue
		}
		c := junitCase{ClassName: se.Service, Name: se.Alias}
		switch {
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
	var out []string
	for _, w := range r.Warnings {
		out = append(out, "warning: "+w)
	}
	for _, n := range r.Notes {
		out = append(out, "note: "+n)
	}
	suite.SystemOut = strings.Join(out, "\n")
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
