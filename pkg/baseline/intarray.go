package baseline

import "math"

// parseIntArray parses a flat JSON array of integers, the form Values and
// Stack are stored in, appending to dst. It is a fast path: encoding/json
// through json.Unmarshal into []int64 re-validates and reflects per element,
// which made loading a large snapshot several times slower than the
// comparison itself. ok is false for anything it does not fully understand
// (floats, exponents, overflow, stray characters); the caller then falls back
// to encoding/json, which gives the precise error.
func parseIntArray(b []byte, dst []int64) (out []int64, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return dst, skipSpace(b, i+1) == len(b)
	}
	for {
		neg := false
		if i < len(b) && b[i] == '-' {
			neg = true
			i++
		}
		start := i
		var n int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			d := int64(b[i] - '0')
			if n > (math.MaxInt64-d)/10 {
				return nil, false
			}
			n = n*10 + d
			i++
		}
		if i == start || (b[start] == '0' && i-start > 1) {
			return nil, false
		}
		if neg {
			n = -n
		}
		dst = append(dst, n)
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return dst, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
