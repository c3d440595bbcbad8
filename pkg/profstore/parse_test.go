package profstore

import (
	"testing"
	"time"
)

// TestParseUnixTime covers /ingest's from=: Unix time as digits only.
func TestParseUnixTime(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "1795710470", want: time.Unix(1795710470, 0)},
		{in: "1795710470123", want: time.UnixMilli(1795710470123)},
		{in: "1795710470123456", want: time.UnixMicro(1795710470123456)},
		{in: "1795710470123456789", want: time.Unix(0, 1795710470123456789)},
		{in: "17957104701", want: time.Unix(17957104701, 0)},
		{in: "179571047012", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "", wantErr: true},
		{in: "now", wantErr: true},
		{in: "now-1h", wantErr: true},
		{in: "2026-11-26T16:19:06Z", wantErr: true},
		{in: "-1795710470", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseUnixTime(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	cases := []struct {
		in      string
		n       int
		wantErr bool
	}{
		{``, 0, false},
		{`{}`, 0, false},
		{` {} `, 0, false},
		{`{service_name="x",env=~"a|b"}`, 2, false},
		{`{"otel.scope.name"="x"}`, 1, false},
		{`process_cpu:cpu:nanoseconds:cpu:nanoseconds{a="b"}`, 2, false},
		{`{a=~"("}`, 0, true},
		{`smoke-app.cpu`, 0, true},
		{`{a="b"`, 0, true},
	}
	for _, tc := range cases {
		ms, err := ParseSelector(tc.in)
		if (err != nil) != tc.wantErr || len(ms) != tc.n {
			t.Errorf("ParseSelector(%q) = %d matchers, err %v; want %d, err %v", tc.in, len(ms), err, tc.n, tc.wantErr)
		}
	}
}

// TestShapeDiff makes sure the golden comparison can fail.
func TestShapeDiff(t *testing.T) {
	a := map[string]any{"x": []any{map[string]any{"a": "1"}}, "y": nil}
	cases := []struct {
		name string
		b    any
		want int
	}{
		{"same", map[string]any{"x": []any{map[string]any{"a": "2"}}, "y": nil}, 0},
		{"missing key", map[string]any{"x": []any{map[string]any{"a": "2"}}}, 1},
		{"extra nested key", map[string]any{"x": []any{map[string]any{"a": "2", "b": 1.0}}, "y": nil}, 1},
		{"kind change", map[string]any{"x": []any{map[string]any{"a": 2.0}}, "y": nil}, 1},
		{"null vs object", map[string]any{"x": []any{}, "y": map[string]any{}}, 1},
	}
	for _, tc := range cases {
		if d := shapeDiff("$", jsonShape(a), jsonShape(tc.b)); len(d) != tc.want {
			t.Errorf("%s: %d differences %q, want %d", tc.name, len(d), d, tc.want)
		}
	}
}
