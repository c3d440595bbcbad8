package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/pkg/profstore"
)

// pyroFixture is an embedded Pyroscope holding CPU profiles of
// bank-fraud-service: version v1 in [t0, t0+60s) and [t0+60s, t0+120s),
// version v2 (fraud rules 1.5x hotter) in [t0+60s, t0+120s); and of
// bank-loan-service in the first minute only.
type pyroFixture struct {
	url string
	t0  time.Time
}

func newPyroFixture(t *testing.T, opts ...profstore.Option) *pyroFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := profstore.Run(ctx, opts...)
	var o profstore.Options // the settings, for the uploads' credentials
	for _, opt := range opts {
		opt(&o)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	m := gen.NewModel(21, 120)
	hot := m.Closest(0.06)
	m.Rename(hot, fraudFn, "fraud.go")
	t0 := time.Now().Add(-10 * time.Minute).Truncate(10 * time.Second)
	f := &pyroFixture{url: srv.URL(), t0: t0}
	rng := rand.New(rand.NewPCG(5, 6))
	upload := func(service, version string, model *gen.Model, start time.Time) {
		for i := range 6 {
			at := start.Add(time.Duration(i) * 10 * time.Second)
			p := model.Profile(model.Sample(rng, 3000, 0), at, 10*time.Second)
			var buf bytes.Buffer
			if err := p.Write(&buf); err != nil {
				t.Fatal(err)
			}
			q := url.Values{"name": {service + "{version=" + version + ",env=ci}"}, "format": {"pprof"}, "spyName": {"gospy"}}
			req, _ := http.NewRequest("POST", srv.URL()+"/ingest?"+q.Encode(), &buf)
			if o.BasicAuthUser != "" {
				req.SetBasicAuth(o.BasicAuthUser, o.BasicAuthPassword)
			}
			req.Header.Set("X-Scope-OrgID", "team") // needed where RequireTenant is set, ignored elsewhere
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("upload: %s", resp.Status)
			}
		}
	}
	upload("bank-fraud-service", "v1", m, t0)
	upload("bank-fraud-service", "v1", m, t0.Add(time.Minute))
	upload("bank-fraud-service", "v2", m.Scale(hot, 1.5), t0.Add(time.Minute))
	upload("bank-loan-service", "v1", m, t0)
	return f
}

func (f *pyroFixture) at(d time.Duration) string { return fmt.Sprint(f.t0.Add(d).Unix()) }

func TestCollectAndCompareFromPyroscope(t *testing.T) {
	f := newPyroFixture(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")

	code, stdout, stderr := cli(t, "collect", "--pyroscope", f.url, "--from", f.at(0), "--until", f.at(time.Minute),
		"--type", "cpu", "--selector", `{version="v1"}`, "--out", base)
	if code != 0 || !strings.Contains(stdout, "collected 2 series (2 services, 6 windows of 10s") {
		t.Fatalf("collect: exit %d\n%s\n%s", code, stdout, stderr)
	}
	snap, err := baseline.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	if se := snap.Lookup("bank-fraud-service", "process_cpu:cpu:nanoseconds:cpu:nanoseconds"); se == nil || len(se.Windows) != 6 || se.Windows[0].Period != 1e7 {
		t.Fatalf("series: %+v", se)
	}
	if snap.Meta.Selector != `{version="v1"}` || !strings.HasPrefix(snap.Meta.Source, "pyroscope http://127.0.0.1:") {
		t.Errorf("meta: %+v", snap.Meta)
	}

	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"dir baseline, current collected: v2 regressed", []string{"--baseline", base, "--from", f.at(time.Minute), "--until", f.at(2 * time.Minute),
			"--selector", `{version="v2"}`}, 1, fraudShort, "no data for bank-loan-service cpu"},
		{"dir baseline, current collected: v1 again, loan missing", []string{"--baseline", base, "--from", f.at(time.Minute), "--until", f.at(2 * time.Minute),
			"--selector", `version="v1"`}, 2, "bank-loan-service", "no data for bank-loan-service cpu"},
		{"dir baseline, only the fraud service", []string{"--baseline", base, "--service", "bank-fraud-service", "--from", f.at(time.Minute), "--until", f.at(2 * time.Minute),
			"--selector", `{version="v1"}`}, 2, "bank-loan-service", ""},
		{"before/after a deploy", []string{"--baseline-from", f.at(0), "--baseline-until", f.at(time.Minute),
			"--from", f.at(time.Minute), "--until", f.at(2 * time.Minute), "--selector", `{version="v1"}`, "--service", "bank-fraud-service", "--type", "cpu"}, 0, "PASS", ""},
		{"one version against another", []string{"--baseline-from", f.at(time.Minute), "--baseline-selector", `{version="v1"}`,
			"--from", f.at(time.Minute), "--until", f.at(2 * time.Minute), "--selector", `{version="v2"}`, "--type", "cpu"}, 1, fraudShort, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"compare", "--pyroscope", f.url}, tt.args...)
			code, stdout, stderr := cli(t, args...)
			if code != tt.code || !strings.Contains(stdout, tt.inStdout) || !strings.Contains(stderr, tt.inStderr) {
				t.Fatalf("exit %d, want %d; want %q in stdout, %q in stderr\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.inStdout, tt.inStderr, stdout, stderr)
			}
		})
	}
}

func TestCollectErrors(t *testing.T) {
	const secret = "cli-s3cret-pw"
	f := newPyroFixture(t, profstore.WithBasicAuth("ci", "right-pw"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	out := filepath.Join(t.TempDir(), "snap")
	auth := []string{"--basic-auth-user", "ci", "--basic-auth-password", "right-pw"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		msg  string
	}{
		{"no --pyroscope", []string{"--from", "now-1m", "--out", out}, nil, "profdiff collect: --pyroscope is required"},
		{"no --out", []string{"--pyroscope", f.url, "--from", "now-1m"}, nil, "--out is required"},
		{"no --from", []string{"--pyroscope", f.url, "--out", out}, nil, "--from is required"},
		{"bad time", []string{"--pyroscope", f.url, "--from", "yesterday", "--out", out}, nil, `--from: time "yesterday": want RFC 3339`},
		{"bad selector", []string{"--pyroscope", f.url, "--from", "now-1m", "--selector", `{version=v2}`, "--out", out}, nil, "--selector: selector"},
		{"bad type", []string{"--pyroscope", f.url, "--from", "now-1m", "--type", "cpuu", "--out", out}, nil, `--type: profile type "cpuu"`},
		{"unreachable", []string{"--pyroscope", closed, "--from", "now-1m", "--out", out}, nil, "cannot reach Pyroscope at " + closed},
		{"wrong password in a flag", []string{"--pyroscope", f.url, "--from", "now-1m", "--out", out, "--basic-auth-user", "ci", "--basic-auth-password", secret}, nil,
			"refused the credentials (401)"},
		{"wrong password in env", []string{"--pyroscope", f.url, "--from", "now-1m", "--out", out},
			map[string]string{"PROFDIFF_PYROSCOPE_BASIC_AUTH_USER": "ci", "PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD": secret}, "refused the credentials (401)"},
		{"password in the URL", []string{"--pyroscope", strings.Replace(f.url, "http://", "http://ci:"+secret+"@", 1), "--from", "now-1m", "--out", out}, nil,
			"refused the credentials (401)"},
		{"no data in range", append([]string{"--pyroscope", f.url, "--from", "now-1m", "--out", out}, auth...), nil, "has no profiles in"},
		{"unknown full type", append([]string{"--pyroscope", f.url, "--from", f.at(0), "--until", f.at(time.Minute), "--type", "x:y:z:w:v", "--out", out}, auth...), nil,
			`has no profile type "x:y:z:w:v"; it has: process_cpu:cpu:nanoseconds:cpu:nanoseconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := cli(t, append([]string{"collect", "--timeout", "10s"}, tt.args...)...)
			if code != exitError || !strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, want 2 and one line with %q\nstdout: %s\nstderr: %s", code, tt.msg, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("the password is in the output:\n%s%s", stdout, stderr)
			}
		})
	}
	// With the right credentials from the environment it works.
	t.Setenv("PYROSCOPE_BASIC_AUTH_USER", "ci")
	t.Setenv("PYROSCOPE_BASIC_AUTH_PASSWORD", "right-pw")
	if code, _, stderr := cli(t, "collect", "--pyroscope", f.url, "--from", f.at(0), "--until", f.at(time.Minute), "--type", "cpu", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestCompareFlagConflicts(t *testing.T) {
	t.Setenv(envURL, "") // a URL in the environment would make some of these collect
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--baseline", "b"}, "--baseline and --current are required"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline", "b", "--current", "c", "--from", "now-1m"}, "--current and --pyroscope exclude each other"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--from", "now-1m"}, "give --baseline DIR, or --baseline-selector (the same range, another version), or --baseline-from"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline", "b", "--baseline-from", "now-2m", "--from", "now-1m"}, "either --baseline DIR or the baseline's range or selector"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline", "b", "--baseline-selector", "{version=\"a\"}", "--from", "now-1m"}, "either --baseline DIR or the baseline's range or selector"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline-selector", "{version=\"a\"}", "--selector", "{version=\"a\"}", "--from", "now-1m"}, "is the same as --selector over the same range"},
		{[]string{"--baseline-selector", "{version=\"a\"}", "--from", "now-1m"}, "--from collects from Pyroscope: give its URL with --pyroscope"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2", "--baseline-from", "now-2m", "--from", "now-1m"}, "--pyroscope and --url are one setting"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline-from", "now-2m"}, "--from is required"},
		{[]string{"--pyroscope", "http://127.0.0.1:1", "--baseline-from", "now-2m", "--from", "now-1m", "--baseline-selector", "{"}, "--baseline-selector"},
	}
	for _, tt := range tests {
		code, _, stderr := cli(t, append([]string{"compare"}, tt.args...)...)
		if code != exitError || !strings.Contains(stderr, tt.msg) {
			t.Errorf("compare %v: exit %d, stderr %q; want %q", tt.args, code, stderr, tt.msg)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"512k", 512 << 10, true},
		{"64K", 64 << 10, true},
		{"1m", 1 << 20, true},
		{"65536", 65536, true},
		{"", 0, false},
		{"lots", 0, false},
		{"99999999m", 0, false},
	} {
		got, err := parseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestErrorsSuggestTheFix: a threshold written as a bare percentage and an
// unknown baseline subcommand get errors that say what was meant.
func TestErrorsSuggestTheFix(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--baseline", "x", "--current", "y", "--threshold", "60"}, "did you mean 60%?"},
		{[]string{"baseline", "reject"}, `unknown subcommand "reject"`},
	} {
		code, _, stderr := cli(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("profdiff %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}
