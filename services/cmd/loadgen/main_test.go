package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profdiff/profdiff/services/bank"
)

func TestParsePositional(t *testing.T) {
	cases := []struct {
		args    []string
		urls    int
		d       time.Duration
		wantErr string
	}{
		{[]string{"http://a:8080", "http://b:8081", "300"}, 2, 300 * time.Second, ""},
		{[]string{"http://a:8080", "90s"}, 1, 90 * time.Second, ""},
		{[]string{"http://a:8080"}, 1, 0, ""},
		{nil, 0, 0, ""},
		{[]string{"http://a:8080", "soon"}, 0, 0, "neither a URL nor a duration"},
		{[]string{"a:8080", "10"}, 0, 0, "not an http(s) URL"},
		{[]string{"http://a", "-5"}, 0, 0, "neither"},
	}
	for _, c := range cases {
		urls, d, err := parsePositional(c.args)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: error %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil || len(urls) != c.urls || d != c.d {
			t.Errorf("%v: %v %v %v", c.args, urls, d, err)
		}
	}
}

// TestRunbookForm runs "loadgen URL... DURATION" against all seven services
// and checks the table, the JSON file and the exit status.
func TestRunbookForm(t *testing.T) {
	g, err := bank.StartGroup(context.Background(), bank.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	args := []string{"--rate", "100", "--json", filepath.Join(t.TempDir(), "r.json")}
	for _, s := range bank.Services {
		args = append(args, g.URLs[s.Name])
	}
	args = append(args, "1s")
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb, false); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"POST /api/transfers", "POST /notifications", "p99", "0 errors"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(args[3])
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Requests  int              `json:"requests"`
		Endpoints []map[string]any `json:"endpoints"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Requests < 50 || len(res.Endpoints) < 14 {
		t.Errorf("json: %d requests, %d endpoints, %v", res.Requests, len(res.Endpoints), err)
	}
}

func TestArgumentErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no targets"},
		{[]string{"--target", "atm=http://x"}, "unknown service"},
		{[]string{"--target", "fraud"}, "service=URL"},
		{[]string{"http://127.0.0.1:1", "5s"}, "not reachable"},
		{[]string{"--target", "fraud=http://127.0.0.1:1", "--rate", "0"}, "rate"},
		{[]string{"--target", "fraud=http://127.0.0.1:1", "--arrivals", "bursty"}, `arrivals "bursty"`},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb, false); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errb.String(), c.want)
		}
	}
}
