package redact

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

func TestRedactEveryEncoding(t *testing.T) {
	const (
		user     = "alice"
		password = "s3cr3t/P+ss=word"
		token    = "glc_eyJvIjoiMTIzIiwibiI6InByb2ZkaWZmIn0="
	)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	r := New(token, password, user+":"+password)
	tests := map[string]string{
		"raw token":                 "bad header Authorization: Bearer " + token,
		"lower-case bearer":         "authorization: bearer " + strings.ToLower(token),
		"upper-case":                "AUTHORIZATION: BEARER " + strings.ToUpper(token),
		"raw password":              "login failed for alice/" + password,
		"basic auth":                "bad header 'Basic " + basic + "'",
		"basic auth, lower-case":    "authorization: basic " + strings.ToLower(basic),
		"URL-encoded basic auth":    "GET /?auth=" + url.QueryEscape(basic),
		"URL-encoded, lower-case %": "auth=" + strings.ToLower(url.QueryEscape(basic)),
		"base64 without padding":    "auth " + strings.TrimRight(basic, "="),
		"base64 URL alphabet":       "auth " + base64.URLEncoding.EncodeToString([]byte(user+":"+password)),
		"URL-encoded password":      "password=" + url.QueryEscape(password),
		"path-escaped password":     "/login/" + url.PathEscape(password),
		"hex token":                 "header bytes: " + hex.EncodeToString([]byte(token)),
		"upper-case hex":            "header bytes: " + strings.ToUpper(hex.EncodeToString([]byte(password))),
		"JSON-escaped slash":        `{"message":"bad password ` + strings.ReplaceAll(password, "/", `\/`) + `"}`,
		"hex of URL-encoded":        hex.EncodeToString([]byte(url.QueryEscape(password))),
		"several in one message":    token + " and " + basic + " and " + password,
	}
	for name, msg := range tests {
		got := r.String(msg)
		for _, secret := range []string{token, password, basic, strings.ToLower(token), strings.ToLower(basic), url.QueryEscape(basic), hex.EncodeToString([]byte(token)), strings.TrimRight(basic, "=")} {
			if strings.Contains(strings.ToLower(got), strings.ToLower(secret)) {
				t.Errorf("%s: %q still shows a secret", name, got)
			}
		}
		if !strings.Contains(got, Mask) {
			t.Errorf("%s: %q: nothing redacted", name, got)
		}
	}
	// Text without a secret is left alone.
	if s := "connection refused by 127.0.0.1:4040"; r.String(s) != s {
		t.Errorf("changed text without secrets: %q", r.String(s))
	}
	var none *Redactor
	if none.String("x") != "x" || New().String("x") != "x" || New("").String("x") != "x" {
		t.Error("an empty redactor changed its input")
	}
}
