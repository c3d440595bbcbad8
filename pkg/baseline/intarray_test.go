package baseline

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseIntArrayAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[1,2,3]`, `[ 0 , -5 ,9223372036854775807 ]`, `[-9223372036854775807]`,
		`[1.5]`, `[1e3]`, `[01]`, `[1,]`, `[,1]`, `[1 2]`, `[1]x`, `[9223372036854775808]`, `["1"]`, `[-]`, `[`, ``, `null`, `[true]`,
	} {
		got, ok := parseIntArray([]byte(in), nil)
		var want []int64
		err := json.Unmarshal([]byte(in), &want)
		if ok && (err != nil || !reflect.DeepEqual(got, want) && len(got)+len(want) > 0) {
			t.Errorf("%q: fast path gave %v, encoding/json %v (%v)", in, got, want, err)
		}
		if !ok && in == `[1,2,3]` {
			t.Errorf("%q: fast path refused a plain array", in)
		}
	}
}

func FuzzParseIntArray(f *testing.F) {
	f.Add([]byte(`[1,-2,3]`))
	f.Add([]byte(`[9223372036854775807]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseIntArray(b, nil)
		if !ok {
			return
		}
		var want []int64
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", b, err)
		}
		if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %v vs %v", b, got, want)
		}
	})
}
