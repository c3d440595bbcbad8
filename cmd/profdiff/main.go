// Command profdiff is a CI gate for continuous profiles: it builds snapshots
// of per-window profiles, compares a run with a stored baseline or with a
// base build profiled beside it, and exits non-zero when a hot function
// regressed.
//
// Exit status follows diff(1): 0 no regression, 1 regression, 2 error or
// inconclusive (--inconclusive=pass makes inconclusive 0; an error is always
// 2).
//
// Each command lives in its own file and adds itself to the command table
// with register in an init function, so a new command (collect, report) is
// one new file and no change here.
package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/profdiff/profdiff/internal/suggest"
)

// Exit statuses.
const (
	exitOK         = 0
	exitRegression = 1
	exitError      = 2
)

// command is one subcommand. run gets the arguments after the command name
// and returns the exit status; it must not call os.Exit, so tests can run it.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

// register adds a command; each command file calls it from init.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("profdiff: command " + c.name + " registered twice")
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program, minus the process: arguments in, exit status out.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must not look like a pass, nor dump a stack into a CI log
		// in place of a reason.
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "profdiff: internal error: %v\n", p)
			code = exitError
		}
	}()
	if len(args) == 0 {
		usage(stderr)
		return exitError
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"--help"}, stdout, stderr)
			}
		}
		usage(stdout)
		return exitOK
	case "-v", "--version":
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "profdiff: unknown command %q; run profdiff --help for the list\n", args[0])
		return exitError
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `profdiff compares continuous-profiling snapshots with a baseline and fails
a build when a hot function regresses.

Usage: profdiff COMMAND [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Exit status: 0 no regression, 1 regression, 2 error or inconclusive.
Run profdiff COMMAND --help for a command's flags and an example.
`)
}

// flagSet returns a flag set for a command whose --help prints usage text
// (which should end with an example) and the flags to stdout.
func flagSet(name, usageText string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("profdiff "+name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parse, in one line
	fs.SortFlags = false
	addFormatFlags(name, fs)
	fs.Usage = func() {
		fmt.Fprint(stdout, strings.TrimLeft(usageText, "\n"))
		fmt.Fprintln(stdout, "\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args; done is true when the command should return code
// (after --help, or on a bad flag).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	if err == pflag.ErrHelp {
		return exitOK, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s; see %s --help\n", fs.Name(), oneLine(flagError(fs, err)), fs.Name())
		return exitError, true
	}
	return 0, false
}

var (
	badFlagValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: (.*)$`)
	unknownFlag  = regexp.MustCompile(`^unknown (?:shorthand )?flag: '?-{1,2}([\w-]+)'?`)
)

// flagError says what was wrong with a flag in the user's terms: pflag's
// messages for a bad value end in the Go function that refused it
// ("strconv.ParseFloat: parsing \"x\": invalid syntax"), and for an unknown
// flag they do not say which was meant.
func flagError(fs *pflag.FlagSet, err error) string {
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		want := ""
		if f := fs.Lookup(m[2]); f != nil {
			switch f.Value.Type() {
			case "float64":
				want = "a number, e.g. 0.05"
			case "int", "int64", "uint":
				want = "a whole number"
			case "duration":
				want = "a duration such as 15s, 2m or 1h30m"
			case "bool":
				want = "true or false"
			}
		}
		if want == "" {
			return fmt.Sprintf("--%s %q: %s", m[2], m[1], strings.TrimPrefix(m[3], "time: "))
		}
		return fmt.Sprintf("--%s %q: want %s", m[2], m[1], want)
	}
	if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if s := suggest.Closest(m[1], names); s != "" {
			return fmt.Sprintf("unknown flag --%s (did you mean --%s?)", m[1], s)
		}
	}
	return msg
}

// fail reports an error in one line and returns the error exit status.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "profdiff %s: %s\n", cmd, oneLine(err.Error()))
	return exitError
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
