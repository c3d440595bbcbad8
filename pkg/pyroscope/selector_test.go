package pyroscope

import (
	"strings"
	"testing"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "", want: ""},
		{in: "{}", want: ""},
		{in: ` { } `, want: ""},
		{in: `{version="v2"}`, want: `{version="v2"}`},
		{in: `version="v2"`, want: `{version="v2"}`},
		{in: `{service_name="x",env=~"a|b"}`, want: `{service_name="x",env=~"a|b"}`},
		{in: `{env=~".*"}`, want: `{env=~".*"}`}, // matches empty; fine next to service_name
		{in: `{env!="prod", region!~"eu-.*"}`, want: `{env!="prod",region!~"eu-.*"}`},
		{in: `{"otel.scope.name"="x"}`, want: `{"otel.scope.name"="x"}`},
		{in: `{version='v2'}`, want: `{version="v2"}`},
		{in: `{version="v2"`, err: "unexpected end of input"},
		{in: `{version=v2}`, err: "selector"},
		{in: `version`, err: "selector"},
		{in: `{env=~"("}`, err: "selector"},
		{in: `process_cpu{env="x"}`, err: "__name__"},
		{in: `{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}`, err: "__profile_type__"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := ParseSelector(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSelector(%q) = %v, %v; want error containing %q", tt.in, sel, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Fatalf("ParseSelector(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestSelectorForService(t *testing.T) {
	if got := (Selector{}).forService("a"); got != `{service_name="a"}` {
		t.Errorf("zero selector: %s", got)
	}
	sel := MustParseSelector(`{env=~".*",version="v2"}`)
	got := sel.forService(`we"ird`)
	if want := `{service_name="we\"ird",env=~".*",version="v2"}`; got != want {
		t.Errorf("forService = %s, want %s", got, want)
	}
	// What is sent to the server must parse with Prometheus's parser as is.
	if _, err := promParser.ParseMetricSelector(got); err != nil {
		t.Errorf("server would refuse %s: %v", got, err)
	}
}

// FuzzParseSelector checks that parsing never panics and that an accepted
// selector's canonical form parses back to itself and, with the service
// matcher added, is a selector Prometheus's parser (and so Pyroscope) accepts.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{``, `{}`, `{version="v2"}`, `version="v2"`, `{service_name="x",env=~"a|b"}`,
		`{env!~".*"}`, `{"a.b"="c"}`, `{a="\u00e9\\\""}`, `{a=~"(("}`, `x{a="b"}`, `{a="b",}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		canon := sel.String()
		again, err := ParseSelector(canon)
		if err != nil {
			t.Fatalf("ParseSelector(%q) gave %s, which does not parse: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("ParseSelector(%q): %s then %s", s, canon, again.String())
		}
		if _, err := promParser.ParseMetricSelector(sel.forService("svc")); err != nil {
			t.Fatalf("ParseSelector(%q): server selector %s does not parse: %v", s, sel.forService("svc"), err)
		}
	})
}
