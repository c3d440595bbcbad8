package reduce

import (
	"regexp"
	"strings"
)

var (
	// closureSuffix matches the compiler's numbered closure and wrapper
	// suffixes (".func3", ".gowrap1", ".deferwrap2") and the ".N" of nested
	// closures that follows them. The numbers shift whenever a closure is
	// added or removed elsewhere in the function, without the code changing.
	closureSuffix = regexp.MustCompile(`\.(func|gowrap|deferwrap)\d+((?:\.\d+)*)`)
	nestedNumber  = regexp.MustCompile(`\.\d+`)
	// typeArgs matches generic instantiation brackets, e.g. "[...]" or
	// "[go.shape.int,go.shape.string]", whose contents depend on the shapes
	// the compiler happened to generate.
	typeArgs = regexp.MustCompile(`\[[^\[\]]*\]`)
)

// NormalizeFunctionName returns the identity profdiff compares a function by:
// its name with closure numbers and generic type arguments replaced by
// placeholders. "pkg.(*T).Run.func2" becomes "pkg.(*T).Run.func*" and
// "pkg.Map[go.shape.int]" becomes "pkg.Map[...]". Addresses and line numbers
// never take part in identity.
func NormalizeFunctionName(name string) string {
	if !strings.Contains(name, ".func") && !strings.Contains(name, "wrap") && !strings.Contains(name, "[") {
		return name // nothing to normalize, as most names: no regexp to run
	}
	out := closureSuffix.ReplaceAllStringFunc(name, func(m string) string {
		sub := closureSuffix.FindStringSubmatch(m)
		return "." + sub[1] + "*" + nestedNumber.ReplaceAllString(sub[2], ".*")
	})
	for {
		next := typeArgs.ReplaceAllString(out, "\x01")
		if next == out {
			break
		}
		out = next
	}
	return strings.ReplaceAll(out, "\x01", "[...]")
}
