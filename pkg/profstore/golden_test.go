package profstore

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// samplesDir holds what a real Grafana Pyroscope v2.2.1 answered; see its
// README. Tests that need it skip when it is absent (e.g. outside the
// project's workspace).
func samplesDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{
		os.Getenv("PROFDIFF_PYROSCOPE_SAMPLES"),
		// A copy kept with the tests, so they run in any checkout.
		"testdata/real-pyroscope-v2.2.1",
		"../../../shared/pyroscope-samples",
		"../../../../shared/pyroscope-samples",
	} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "README.md")); err == nil {
			return d
		}
	}
	t.Skip("shared/pyroscope-samples not found; set PROFDIFF_PYROSCOPE_SAMPLES")
	return ""
}

// jsonShape reduces a JSON value to its structure: object keys, array
// element shapes (merged over all elements) and scalar kinds.
func jsonShape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonShape(e)
		}
		return out
	case []any:
		var el any
		for _, e := range x {
			el = mergeShape(el, jsonShape(e))
		}
		if el == nil {
			return []any{}
		}
		return []any{el}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func mergeShape(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for k, v := range bm {
			am[k] = mergeShape(am[k], v)
		}
		return am
	}
	if a == nil {
		return b
	}
	return a
}

// shapeDiff lists where two shapes differ. Empty arrays on either side say
// nothing about their elements and are not compared further.
func shapeDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %v", path, got)}
		}
		var d []string
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		ks := make([]string, 0, len(keys))
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				d = append(d, fmt.Sprintf("%s.%s: missing", path, k))
			case !wok:
				d = append(d, fmt.Sprintf("%s.%s: unexpected", path, k))
			default:
				d = append(d, shapeDiff(path+"."+k, wv, gv)...)
			}
		}
		return d
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want array, got %v", path, got)}
		}
		if len(w) == 0 || len(g) == 0 {
			return nil
		}
		return shapeDiff(path+"[]", w[0], g[0])
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
		}
	}
	return nil
}

func decodeJSON(t *testing.T, name string, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, b)
	}
	return v
}

// sampleStatus reads the status code from a *.headers.txt file; files
// without one (the connect-* dumps) were successful calls.
func sampleStatus(t *testing.T, dir, file string) int {
	b, err := os.ReadFile(filepath.Join(dir, file+".headers.txt"))
	if err != nil {
		return 200
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("%s: bad headers file", file)
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// TestGoldenShapes sends each request shape in shared/pyroscope-samples to
// profstore, loaded with pyroscope-go-shaped uploads of a "smoke-app", and
// compares status codes, JSON structure and — for errors — the exact body.
func TestGoldenShapes(t *testing.T) {
	dir := samplesDir(t)
	srv := startTest(t, Options{})
	base := srv.URL()
	now := time.Now()
	for i := 3; i >= 1; i-- {
		uploadAll(t, base, "smoke-app", map[string]string{"env": "smoke"}, now.Add(-time.Duration(i)*10*time.Second), int64(i))
	}
	start, end := now.Add(-5*time.Minute).UnixMilli(), now.Add(time.Minute).UnixMilli()
	rng := func(m map[string]any) map[string]any {
		m["start"] = strconv.FormatInt(start, 10)
		m["end"] = strconv.FormatInt(end, 10)
		return m
	}
	sel := `{service_name="smoke-app"}`
	cases := []struct {
		file   string
		method string         // Connect method
		body   map[string]any // its request
		exact  bool           // compare the whole body (error cases)
	}{
		{file: "connectjson-GetProfileStats.json", method: "GetProfileStats", body: map[string]any{}},
		{file: "connectjson-LabelNames-notime.json", method: "LabelNames", body: map[string]any{}, exact: true},
		{file: "connectjson-LabelNames.json", method: "LabelNames", body: rng(map[string]any{}), exact: true},
		{file: "connect-LabelNames.json", method: "LabelNames", body: rng(map[string]any{})},
		{file: "connectjson-LabelValues-matchers.json", method: "LabelValues", body: rng(map[string]any{"name": "env", "matchers": []string{sel}}), exact: true},
		{file: "connectjson-LabelValues-service_name.json", method: "LabelValues", body: rng(map[string]any{"name": "service_name"}), exact: true},
		{file: "connect-LabelValues-service_name.json", method: "LabelValues", body: rng(map[string]any{"name": "service_name"})},
		{file: "connectjson-ProfileTypes-notime.json", method: "ProfileTypes", body: map[string]any{}, exact: true},
		{file: "connectjson-ProfileTypes.json", method: "ProfileTypes", body: rng(map[string]any{}), exact: true},
		{file: "connect-ProfileTypes.json", method: "ProfileTypes", body: rng(map[string]any{})},
		{file: "connectjson-SelectMergeProfile-cpu.json", method: "SelectMergeProfile", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel})},
		{file: "connectjson-SelectMergeStacktraces-cpu-tree.json", method: "SelectMergeStacktraces", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel, "format": "PROFILE_FORMAT_TREE"})},
		{file: "connectjson-SelectMergeStacktraces-cpu.json", method: "SelectMergeStacktraces", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel, "maxNodes": "16"})},
		{file: "connectjson-SelectSeries-cpu.json", method: "SelectSeries", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel, "groupBy": []string{"env"}, "step": 15})},
		{file: "connect-SelectSeries-cpu.json", method: "SelectSeries", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel, "step": 15})},
		{file: "connectjson-SelectSeries-nostep.json", method: "SelectSeries", body: rng(map[string]any{"profileTypeID": cpuType, "labelSelector": sel}), exact: true},
		{file: "connectjson-Series.json", method: "Series", body: rng(map[string]any{"matchers": []string{sel}, "labelNames": []string{"__profile_type__", "service_name"}}), exact: true},
		{file: "connectjson-Series-alllabels.json", method: "Series", body: rng(map[string]any{"matchers": []string{sel}}), exact: true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			status, got := postJSON(t, base, tc.method, tc.body)
			if ws := sampleStatus(t, dir, tc.file); status != ws {
				t.Fatalf("status %d, real server %d; body %s", status, ws, got)
			}
			wv, gv := decodeJSON(t, tc.file, want), decodeJSON(t, "response", got)
			if tc.exact {
				if !reflect.DeepEqual(wv, gv) {
					t.Errorf("body differs from the real server's:\n got %s\nwant %s", strings.TrimSpace(string(got)), strings.TrimSpace(string(want)))
				}
				return
			}
			for _, d := range shapeDiff("$", jsonShape(wv), jsonShape(gv)) {
				t.Error(d)
			}
		})
	}
}
