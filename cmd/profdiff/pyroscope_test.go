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
	"github.com/profdiff/profdiff/pkg/profstore"
)

// TestProfilecliNames: Grafana profilecli's flag names and environment
// variables reach the same settings as profdiff's own, flags beat the
// environment, and two names of one setting with different values are
// refused.
func TestProfilecliNames(t *testing.T) {
	const secret = "wrong-s3cret"
	f := newPyroFixture(t, profstore.WithBasicAuth("ci", "right-pw"), profstore.WithBearerToken("tok-right"), profstore.WithRequireTenant())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	rng := []string{"--from", f.at(0), "--to", f.at(time.Minute), "--type", "cpu"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		msg  string // in stdout on success, in the one-line stderr otherwise
	}{
		{"profilecli flags", []string{"--url", f.url, "--username", "ci", "--password", "right-pw", "--tenant-id", "team", "--query", `{version="v1"}`}, nil, 0, "collected 2 series"},
		{"profilecli token", []string{"--url", f.url, "--token", "tok-right", "--tenant-id", "team"}, nil, 0, "collected 2 series"},
		{"profilecli environment", nil, map[string]string{"PROFILECLI_URL": f.url, "PROFILECLI_USERNAME": "ci", "PROFILECLI_PASSWORD": "right-pw", "PROFILECLI_TENANT_ID": "team"}, 0, "collected 2 series"},
		{"profilecli environment, token", nil, map[string]string{"PROFILECLI_URL": f.url, "PROFILECLI_TOKEN": "tok-right", "PROFILECLI_TENANT_ID": "team"}, 0, "collected 2 series"},
		{"flags beat the environment", []string{"--url", f.url, "--username", "ci", "--password", "right-pw", "--tenant-id", "team"},
			map[string]string{"PROFILECLI_URL": closed, "PROFILECLI_USERNAME": "nobody", "PROFILECLI_PASSWORD": secret, "PROFILECLI_TENANT_ID": "other"}, 0, "collected 2 series"},
		{"profdiff's variables beat profilecli's", []string{"--url", f.url},
			map[string]string{"PROFDIFF_PYROSCOPE_BASIC_AUTH_USER": "ci", "PROFDIFF_PYROSCOPE_BASIC_AUTH_PASSWORD": "right-pw", "PROFILECLI_PASSWORD": secret, "PROFILECLI_TENANT_ID": "team"}, 0, "collected 2 series"},
		{"profdiff's names still work", []string{"--pyroscope", f.url, "--basic-auth-user", "ci", "--basic-auth-password", "right-pw", "--tenant", "team", "--until", f.at(time.Minute)}, nil, 0, "collected 2 series"},
		{"wrong password under profilecli's name", []string{"--url", f.url, "--username", "ci", "--password", secret, "--tenant-id", "team"}, nil, 2, "refused the credentials (401)"},
		{"no tenant", []string{"--url", f.url, "--token", "tok-right"}, nil, 2, "401"},
		{"two names, two values", []string{"--pyroscope", f.url, "--url", closed}, nil, 2, "--pyroscope and --url are one setting (--url is profilecli's name for it) and were given different values; give one"},
		{"two names, one value", []string{"--pyroscope", f.url, "--url", f.url, "--token", "tok-right", "--tenant", "team", "--tenant-id", "team"}, nil, 0, "collected 2 series"},
		{"--to and --until disagree", []string{"--url", f.url, "--until", f.at(2 * time.Minute)}, nil, 2, "--until and --to are one setting"},
		{"no URL anywhere", nil, map[string]string{"PROFILECLI_URL": ""}, 2, "--pyroscope is required (or --url, or PROFILECLI_URL in the environment)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "snap")
			args := append(append([]string{"collect", "--timeout", "10s", "--out", out}, rng...), tt.args...)
			code, stdout, stderr := cli(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.code == 0 && !strings.Contains(stdout, tt.msg) {
				t.Errorf("stdout lacks %q: %s", tt.msg, stdout)
			}
			if tt.code != 0 && (!strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") != 1) {
				t.Errorf("stderr %q: want one line with %q", stderr, tt.msg)
			}
			if strings.Contains(stdout+stderr, secret) || strings.Contains(stdout+stderr, "right-pw") || strings.Contains(stdout+stderr, "tok-right") {
				t.Errorf("a credential is in the output:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestHelpListsBothNames: every profilecli name is in the help next to
// profdiff's own.
func TestHelpListsBothNames(t *testing.T) {
	for _, cmd := range []string{"compare", "collect"} {
		_, help, _ := cli(t, cmd, "--help")
		for _, want := range []string{"--pyroscope", "--url", "--selector", "--query", "--until", "--to", "--tenant-id", "--tenant ", "--token", "--bearer-token",
			"--username", "--basic-auth-user", "--password", "--basic-auth-password", "PROFILECLI_URL", "PROFILECLI_TOKEN", "(profilecli: --url; env PROFILECLI_URL)"} {
			if !strings.Contains(help, want) {
				t.Errorf("%s --help lacks %q", cmd, want)
			}
		}
	}
}

// TestWindowChoice: the window is --window's, else the baseline's, else the
// upload interval measured from the data, else pyroscope-go's 15 s; the
// output says which and why.
func TestWindowChoice(t *testing.T) {
	f := newPyroFixture(t)
	sparse := newSparseFixture(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	rng := []string{"--from", f.at(0), "--until", f.at(time.Minute), "--type", "cpu", "--selector", `{version="v1"}`, "--service", "bank-fraud-service"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"detected", append([]string{"--pyroscope", f.url, "--out", base}, rng...), []string{"6 windows of 10s", "window 10s, detected: the services' profiles arrive every 10s"}},
		{"set", append([]string{"--pyroscope", f.url, "--out", filepath.Join(dir, "w20"), "--window", "20s"}, rng...), []string{"3 windows of 20s", "window 20s, set with --window"}},
		{"too few uploads: the default", []string{"--pyroscope", sparse.url, "--out", filepath.Join(dir, "sparse"), "--from", sparse.at(0), "--until", sparse.at(30 * time.Second)},
			[]string{"2 windows of 15s", "window 15s, pyroscope-go's default upload interval: the data could not tell (fewer than three uploads of any service in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"collect"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	// Against a baseline the current side takes the baseline's window, and
	// the report says so.
	code, stdout, stderr := cli(t, "compare", "--baseline", base, "--pyroscope", f.url, "--from", f.at(time.Minute), "--until", f.at(2*time.Minute),
		"--selector", `{version="v1"}`, "--service", "bank-fraud-service")
	if code != 0 || !strings.Contains(stdout, "note: window 10s, the baseline's") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "collect", "--pyroscope", f.url, "--out", filepath.Join(dir, "neg"), "--window", "-5s", "--from", f.at(0)); code != 2 || !strings.Contains(stderr, "--window -5s: want a positive duration") {
		t.Errorf("negative window: exit %d, stderr %q", code, stderr)
	}
}

// sparseFixture is an embedded Pyroscope with two uploads of one service,
// 10 s apart: too few to tell an upload interval from.
func newSparseFixture(t *testing.T) *pyroFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := profstore.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t0 := time.Now().Add(-10 * time.Minute).Truncate(10 * time.Second)
	m := gen.NewModel(3, 60)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2 {
		ingest(t, srv.URL(), "sparse-service", map[string]string{"env": "ci"}, m, rng, t0.Add(time.Duration(i)*10*time.Second), 10*time.Second, 2000)
	}
	return &pyroFixture{url: srv.URL(), t0: t0}
}

// ingest uploads one pprof CPU profile drawn from m to the embedded
// Pyroscope at url, as pyroscope-go's /ingest upload does.
func ingest(t *testing.T, srvURL, service string, labels map[string]string, m *gen.Model, rng *rand.Rand, at time.Time, d time.Duration, samples int) {
	t.Helper()
	p := m.Profile(m.Sample(rng, samples, 0), at, d)
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var ls []string
	for k, v := range labels {
		ls = append(ls, k+"="+v)
	}
	q := url.Values{"name": {service + "{" + strings.Join(ls, ",") + "}"}, "format": {"pprof"}, "spyName": {"gospy"},
		"from": {fmt.Sprint(at.Unix())}, "until": {fmt.Sprint(at.Add(d).Unix())}}
	resp, err := http.Post(srvURL+"/ingest?"+q.Encode(), "application/octet-stream", &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ingest: %s", resp.Status)
	}
}
