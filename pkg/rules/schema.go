package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	suggestpkg "github.com/profdiff/profdiff/internal/suggest"
)

// A lineError is a mistake at a known line of the rules file. Parse writes
// it as "FILE:LINE: message", the form editors and CI logs turn into a link.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}

func errAt(line int, format string, args ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

// The keys each part of a rules file may hold. The YAML decoder knows them
// too (from the struct tags), but its message for an unknown key names the
// Go type it decodes into ("field treshold not found in type
// rules.paramsYAML"), which tells a user nothing; checkSchema says which
// key, where, and what was probably meant.
var (
	topKeys    = []string{"version", "defaults", "overrides", "ignore"}
	paramKeys  = []string{"threshold", "floor", "alpha", "min_windows", "min_samples", "min_run_drift", "normalization"}
	matchKeys  = []string{"name", "service", "type", "function", "function_regexp"}
	ignoreKeys = append(append([]string{}, matchKeys...), "scope", "reason", "expires")
	entryKeys  = append(append([]string{}, matchKeys...), paramKeys...)
)

// checkSchema walks the parsed document and refuses, at its line, an
// unknown key or a part of the wrong shape (a list where a mapping belongs),
// before the decoder would refuse it in its own terms.
func checkSchema(root *yaml.Node) error {
	if root == nil || len(root.Content) == 0 {
		return nil // an empty file: the defaults
	}
	doc := root.Content[0]
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return nil
	}
	if doc.Kind != yaml.MappingNode {
		return errAt(doc.Line, "a rules file is a mapping of %s, not %s", strings.Join(topKeys, ", "), kindName(doc))
	}
	return eachKey(doc, "", topKeys, func(k string, v *yaml.Node) error {
		switch k {
		case "defaults":
			if isNull(v) {
				return nil
			}
			if v.Kind != yaml.MappingNode {
				return errAt(v.Line, "defaults: want a mapping of %s, not %s", strings.Join(paramKeys, ", "), kindName(v))
			}
			return eachKey(v, "defaults", paramKeys, nil)
		case "overrides", "ignore":
			if isNull(v) {
				return nil
			}
			keys, example := entryKeys, "- service: NAME, then threshold: 20% under it"
			if k == "ignore" {
				keys, example = ignoreKeys, "- function: NAME, then reason: WHY under it"
			}
			if v.Kind != yaml.SequenceNode {
				return errAt(v.Line, "%s: want a list of entries, each starting with \"- \" (%s), not %s", k, example, kindName(v))
			}
			for i, item := range v.Content {
				where := fmt.Sprintf("%s[%d]", k, i)
				if item.Kind != yaml.MappingNode {
					return errAt(item.Line, "%s: want a mapping of %s, not %s", where, strings.Join(keys, ", "), kindName(item))
				}
				if err := eachKey(item, where, keys, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// eachKey checks that every key of mapping m is one of known, calling fn (if
// any) for each; where names the mapping in messages ("" for the top).
func eachKey(m *yaml.Node, where string, known []string, fn func(k string, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, v := m.Content[i], m.Content[i+1]
		k := kn.Value
		if kn.Kind != yaml.ScalarNode {
			return errAt(kn.Line, "%s: a key must be a plain word, not %s", placeName(where), kindName(kn))
		}
		if !contains(known, k) {
			in := ""
			if where != "" {
				in = " in " + where
			}
			if s := suggest(k, known); s != "" {
				return errAt(kn.Line, "unknown key %q (did you mean %q?)", k, s)
			}
			if other := belongsIn(k, where); other != "" {
				return errAt(kn.Line, "unknown key %q%s (it belongs in %s)", k, in, other)
			}
			return errAt(kn.Line, "unknown key %q%s (known: %s)", k, in, strings.Join(known, ", "))
		}
		if first, dup := seen[k]; dup {
			return errAt(kn.Line, "key %q given twice%s (first on line %d); keep one", k, placeSuffix(where), first)
		}
		seen[k] = kn.Line
		if fn != nil {
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// belongsIn says where a key that is valid elsewhere goes: "reason" in an
// ignore entry, "threshold" in defaults or an override.
func belongsIn(k, where string) string {
	switch {
	case contains(paramKeys, k) && where == "":
		return "defaults or an overrides entry"
	case contains(paramKeys, k):
		return "defaults or an overrides entry, not an ignore entry"
	case (k == "reason" || k == "expires") && !strings.HasPrefix(where, "ignore"):
		return "an ignore entry"
	case contains(matchKeys, k):
		return "an overrides or ignore entry"
	}
	return ""
}

func placeName(where string) string {
	if where == "" {
		return "the top level"
	}
	return where
}

func placeSuffix(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// kindName names a node's shape as a user wrote it.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "nothing"
	}
	return fmt.Sprintf("the value %s", shortQuote(n.Value))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key a typo k probably meant, or "".
func suggest(k string, known []string) string { return suggestpkg.Closest(k, known) }

// decodeError rewrites an error of the YAML decoder in the file's terms:
// its type errors name Go types ("cannot unmarshal !!str `ten` into int"),
// which say nothing to someone editing YAML.
func decodeError(err error, root *yaml.Node) error {
	var le *lineError
	if errors.As(err, &le) {
		return le
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return rewriteTypeError(te.Errors[0], root)
	}
	// A syntax error: "yaml: line 3: did not find expected key".
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := linePrefix.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errAt(line, "not valid YAML: %s", m[2])
	}
	return fmt.Errorf("not valid YAML: %s", msg)
}

var (
	linePrefix   = regexp.MustCompile(`^line (\d+): (.*)$`)
	cannotDecode = regexp.MustCompile(`^cannot unmarshal !!(\w+)(?: ` + "`" + `(.*)` + "`" + `)? into (\S+)$`)
)

func rewriteTypeError(s string, root *yaml.Node) error {
	m := linePrefix.FindStringSubmatch(s)
	if m == nil {
		return errors.New(stripGoTypes(s))
	}
	line, _ := strconv.Atoi(m[1])
	c := cannotDecode.FindStringSubmatch(m[2])
	if c == nil {
		return errAt(line, "%s", stripGoTypes(m[2]))
	}
	key := ""
	if k := keyAt(root, line); k != "" {
		key = k + ": "
	}
	got := map[string]string{"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false",
		"seq": "a list", "map": "a mapping", "null": "nothing", "timestamp": "a date"}[c[1]]
	if got == "" {
		got = c[1]
	}
	if c[2] != "" {
		got += " " + shortQuote(c[2])
	}
	return errAt(line, "%swant %s, not %s", key, wantOf(c[3]), got)
}

// keyAt is the innermost key whose value starts at line, or "".
func keyAt(n *yaml.Node, line int) string {
	if n == nil {
		return ""
	}
	for _, c := range n.Content {
		if k := keyAt(c, line); k != "" {
			return k
		}
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; v.Line == line && v.Kind != yaml.MappingNode {
				return n.Content[i].Value
			}
		}
	}
	return ""
}

// wantOf says in words what a Go type the decoder wanted holds.
func wantOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "string":
		return "text"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	}
	return "another kind of value"
}

var goTypeName = regexp.MustCompile(`\b(?:rules|diff|baseline)\.[A-Za-z]+\b|\[\]\S+`)

// stripGoTypes is the last resort: no message names one of this package's
// Go types.
func stripGoTypes(s string) string {
	return goTypeName.ReplaceAllString(s, "this key")
}
