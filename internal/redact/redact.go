// Package redact removes credentials from text that may echo them.
//
// A server or proxy that refuses a request often quotes the request back —
// its Authorization header, its URL — in the error body, and that body ends
// up in profdiff's error messages and logs. It rarely quotes a secret as it
// was sent: the header may come back lower-cased ("bearer abc…"), the basic
// auth value URL-encoded ("YWxpY2U6c2VjcmV0%3D"), the bytes hex-dumped, or
// the value JSON-escaped. A Redactor knows each secret in every such form
// and replaces any of them, in any letter case, with [REDACTED].
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask is what a redacted secret is replaced with.
const Mask = "[REDACTED]"

// Redactor replaces known secrets in text. The zero value and nil redact
// nothing. It is safe for concurrent use.
type Redactor struct {
	re *regexp.Regexp
}

// New returns a Redactor for the given secrets (empty ones are ignored).
// Pass each credential as it is sent: a bearer token, a password, and the
// "user:password" pair of basic auth, whose base64 is what goes on the wire.
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[strings.ToLower(f)] {
			seen[strings.ToLower(f)] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, f := range encodings(s) {
			add(f)
			for _, g := range encodings(f) { // e.g. URL-encoded base64
				add(g)
			}
		}
	}
	if len(forms) == 0 {
		return &Redactor{}
	}
	// Longest first, so a form that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	quoted := make([]string, len(forms))
	for i, f := range forms {
		quoted[i] = regexp.QuoteMeta(f)
	}
	return &Redactor{re: regexp.MustCompile("(?i)" + strings.Join(quoted, "|"))} // literals only: always compiles
}

// encodings lists the forms of s a server could echo: as it is, base64
// (padded or not, standard or URL alphabet), URL query and path escaping,
// hex, and JSON string escaping.
func encodings(s string) []string {
	b := []byte(s)
	js, _ := json.Marshal(s)
	return []string{
		s,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(s),
		url.PathEscape(s),
		hex.EncodeToString(b),
		strings.Trim(string(js), `"`),
		strings.ReplaceAll(strings.Trim(string(js), `"`), "/", `\/`),
	}
}

// String returns s with every form of every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil || r.re == nil {
		return s
	}
	return r.re.ReplaceAllLiteralString(s, Mask)
}
