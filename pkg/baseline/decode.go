package baseline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeSeries decodes a series file's JSON.
//
// Series files have one fixed shape, and decoding them with encoding/json
// (reflection, and a validating pre-scan of the whole input before decoding
// it) was most of the cost of loading a large snapshot. So decodeSeries first
// tries a hand-written single-pass decoder for that shape, and falls back to
// encoding/json for anything the fast decoder does not fully understand:
// null, duplicate or case-variant keys, escapes it does not handle exactly as
// encoding/json does, floats, out-of-range numbers, malformed input. The fast
// decoder therefore never decides anything encoding/json would decide
// differently (FuzzDecodeSeriesAgreesWithEncodingJSON checks this), and every
// error message is encoding/json's.
func decodeSeries(data []byte) (*Series, error) {
	if se, ok := fastDecodeSeries(data); ok {
		return se, nil
	}
	var se Series
	if err := json.Unmarshal(data, &se); err != nil {
		return nil, err
	}
	return &se, nil
}

// fastDecodeSeries is the fast path of decodeSeries. ok is false when it
// gives up; the input is then decoded by encoding/json.
func fastDecodeSeries(data []byte) (se *Series, ok bool) {
	d := &seriesDecoder{b: data}
	se = new(Series)
	if !d.series(se) {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return se, true
}

// maxHint caps the element counts that buffers are sized for ahead of use.
const maxHint = 1 << 16

// maxSkipDepth bounds the nesting of unknown values the fast decoder skips;
// deeper input goes to encoding/json, which has its own limit.
const maxSkipDepth = 64

type seriesDecoder struct {
	b []byte
	i int
	// frames is the unused tail of the current chunk that stack frames
	// are carved from, so that each stack is not its own allocation.
	frames []int32
	// str is scratch space for strings with escapes.
	str []byte
}

// Field names of each decoded struct, for refusing keys that encoding/json
// would match case-insensitively.
var (
	seriesFields   = []string{"service", "profile_type", "sample_type", "period_type", "period", "functions", "windows", "stacks"}
	valueTypeField = []string{"type", "unit"}
	functionFields = []string{"name", "raw", "file", "line", "self_vw", "cum_vw"}
	windowFields   = []string{"start", "end", "total", "samples", "period", "run", "self", "cum"}
)

func (d *seriesDecoder) series(se *Series) bool {
	var seen uint
	return d.object(func(key []byte) bool {
		var bit uint
		ok := false
		switch string(key) {
		case "service":
			bit = 1
			se.Service, ok = d.string()
		case "profile_type":
			bit = 2
			se.ProfileType, ok = d.string()
		case "sample_type":
			bit = 4
			ok = d.valueType(&se.SampleType)
		case "period_type":
			bit = 8
			ok = d.valueType(&se.PeriodType)
		case "period":
			bit = 16
			se.Period, ok = d.int()
		case "functions":
			bit = 32
			se.Functions, ok = d.functions()
		case "windows":
			bit = 64
			se.Windows, ok = d.windows()
		case "stacks":
			bit = 128
			se.Stacks, ok = d.stacks()
		default:
			return d.unknown(key, seriesFields)
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

func (d *seriesDecoder) valueType(vt *ValueType) bool {
	var seen uint
	return d.object(func(key []byte) bool {
		var bit uint
		ok := false
		switch string(key) {
		case "type":
			bit = 1
			vt.Type, ok = d.string()
		case "unit":
			bit = 2
			vt.Unit, ok = d.string()
		default:
			return d.unknown(key, valueTypeField)
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

func (d *seriesDecoder) functions() ([]Function, bool) {
	if !d.consume('[') {
		return nil, false
	}
	// All of the table's strings share one allocation: they are appended
	// to arena and cut out of it once the table is read. The buffers are
	// sized from a guess at where the table ends (the first `}],"`): a
	// wrong guess costs only some regrowing.
	region := d.b[d.i:]
	if end := bytes.Index(region, []byte(`}],"`)); end >= 0 {
		region = region[:end]
	}
	// A real function entry takes 30 bytes or more (`{"name":"main.f","line":1},`);
	// sizing for that and no more keeps a hostile file full of braces from
	// making it allocate much ahead of use (a table of shorter entries only
	// regrows).
	n := min(bytes.Count(region, []byte{'{'}), len(region)/32+1, maxHint)
	fs := make([]Function, 0, n)
	type span struct{ name, raw, file [2]int }
	spans := make([]span, 0, n)
	arena := make([]byte, 0, len(region))
	if !d.consume(']') {
		for {
			var f Function
			var sp span
			var seen uint
			ok := d.object(func(key []byte) bool {
				var bit uint
				ok := false
				var at *[2]int
				switch string(key) {
				case "name":
					bit, at = 1, &sp.name
				case "raw":
					bit, at = 2, &sp.raw
				case "file":
					bit, at = 4, &sp.file
				case "line":
					bit = 8
					f.Line, ok = d.int()
				case "self_vw":
					bit = 16
					f.SelfVW, ok = d.float()
				case "cum_vw":
					bit = 32
					f.CumVW, ok = d.float()
				default:
					return d.unknown(key, functionFields)
				}
				if seen&bit != 0 {
					return false
				}
				seen |= bit
				if at != nil {
					at[0] = len(arena)
					arena, ok = d.appendString(arena)
					at[1] = len(arena)
				}
				return ok
			})
			if !ok {
				return nil, false
			}
			fs = append(fs, f)
			spans = append(spans, sp)
			if !d.more(']') {
				if d.i > len(d.b) {
					return nil, false
				}
				break
			}
		}
	}
	all := string(arena)
	for k := range fs {
		sp := &spans[k]
		fs[k].Name = all[sp.name[0]:sp.name[1]]
		fs[k].RawName = all[sp.raw[0]:sp.raw[1]]
		fs[k].File = all[sp.file[0]:sp.file[1]]
	}
	return fs, true
}

func (d *seriesDecoder) windows() ([]Window, bool) {
	if !d.consume('[') {
		return nil, false
	}
	ws := []Window{}
	if d.consume(']') {
		return ws, true
	}
	for {
		var w Window
		var seen uint
		ok := d.object(func(key []byte) bool {
			var bit uint
			ok := false
			switch string(key) {
			case "start":
				bit = 1
				ok = d.time(&w.Start)
			case "end":
				bit = 2
				ok = d.time(&w.End)
			case "total":
				bit = 4
				w.Total, ok = d.int()
			case "samples":
				bit = 8
				w.Samples, ok = d.int()
			case "period":
				bit = 16
				w.Period, ok = d.int()
			case "run":
				bit = 128
				var r int64
				r, ok = d.int()
				ok = ok && r >= 0 && r <= math.MaxInt32
				w.Run = int32(r)
			case "self":
				bit = 32
				w.Self, ok = d.values()
			case "cum":
				bit = 64
				w.Cum, ok = d.values()
			default:
				return d.unknown(key, windowFields)
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			return ok
		})
		if !ok {
			return nil, false
		}
		ws = append(ws, w)
		if !d.more(']') {
			if d.i > len(d.b) {
				return nil, false
			}
			return ws, true
		}
	}
}

// values reads the flat [f0,v0,f1,v1,...] form of Values, with the checks
// of Values.UnmarshalJSON.
func (d *seriesDecoder) values() (Values, bool) {
	if !d.consume('[') {
		return nil, false
	}
	// Integer arrays hold no strings or brackets: the next ']' ends this
	// one when it is well formed (and when it is not, the decoder gives
	// up). Counting its commas sizes the list exactly.
	end := bytes.IndexByte(d.b[d.i:], ']')
	if end < 0 {
		return nil, false
	}
	n := bytes.Count(d.b[d.i:d.i+end], []byte{','}) + 1
	if 2*n-1 > end+1 && end > 0 {
		return nil, false // more commas than numbers could fit: malformed
	}
	vs := make(Values, 0, n/2)
	if d.consume(']') {
		return vs, true
	}
	b, i := d.b, d.i
	for {
		f, i1, ok := parseInt(b, skipSpace(b, i))
		if !ok || f < 0 || f > math.MaxInt32 {
			return nil, false
		}
		if i1 = skipSpace(b, i1); i1 >= len(b) || b[i1] != ',' {
			return nil, false
		}
		v, i2, ok := parseInt(b, skipSpace(b, i1+1))
		if !ok {
			return nil, false
		}
		vs = append(vs, Value{F: int32(f), V: v})
		if i = skipSpace(b, i2); i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			d.i = i + 1
			return vs, true
		default:
			return nil, false
		}
	}
}

func (d *seriesDecoder) stacks() ([]Stack, bool) {
	if !d.consume('[') {
		return nil, false
	}
	if d.consume(']') {
		return []Stack{}, true
	}
	// Stacks are usually the file's last array, and then the brackets and
	// commas left count its stacks and frames exactly; either way they
	// bound them, as a stack takes at least 4 bytes and a frame 2.
	// (The caps keep a hostile file from making it allocate much ahead
	// of use.)
	rest := d.b[d.i:]
	sts := make([]Stack, 0, min(bytes.Count(rest, []byte{'['})+1, len(rest)/6+1, maxHint))
	d.frames = make([]int32, min(bytes.Count(rest, []byte{','}), len(rest)/2, 16*maxHint))
	for {
		var st Stack
		if !d.stack(&st) {
			return nil, false
		}
		sts = append(sts, st)
		if !d.more(']') {
			if d.i > len(d.b) {
				return nil, false
			}
			return sts, true
		}
	}
}

// stack reads the flat [value, root, ..., leaf] form of a Stack, with the
// checks of Stack.UnmarshalJSON.
func (d *seriesDecoder) stack(st *Stack) bool {
	if !d.consume('[') {
		return false
	}
	end := bytes.IndexByte(d.b[d.i:], ']')
	if end < 0 {
		return false
	}
	n := bytes.Count(d.b[d.i:d.i+end], []byte{','}) // frames, when well formed
	if n < 1 || 2*n+1 > end {
		return false // fewer than two numbers (Stack.UnmarshalJSON's error), or malformed
	}
	b := d.b
	v, i, ok := parseInt(b, skipSpace(b, d.i))
	if !ok {
		return false
	}
	if len(d.frames) < n {
		d.frames = make([]int32, max(n, 16<<10))
	}
	frames := d.frames[:n:n]
	d.frames = d.frames[n:]
	for k := range frames {
		if i = skipSpace(b, i); i >= len(b) || b[i] != ',' {
			return false
		}
		f, next, ok := parseInt(b, skipSpace(b, i+1))
		if !ok || f < 0 || f > math.MaxInt32 {
			return false
		}
		frames[k] = int32(f)
		i = next
	}
	if i = skipSpace(b, i); i >= len(b) || b[i] != ']' {
		return false
	}
	d.i = i + 1
	st.Value, st.Frames = v, frames
	return true
}

// time reads a time.Time the way encoding/json does: by handing the quoted
// literal to time.Time.UnmarshalJSON.
func (d *seriesDecoder) time(t *time.Time) bool {
	d.ws()
	start := d.i
	if _, ok := d.rawString(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

// unknown skips the value of a key the struct does not have, as
// encoding/json ignores it, unless encoding/json would match the key to a
// field case-insensitively.
func (d *seriesDecoder) unknown(key []byte, fields []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return false // Unicode case folding: leave it to encoding/json
		}
	}
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return false
		}
	}
	return d.skip(0)
}

// skip reads over any one JSON value, validating it strictly.
func (d *seriesDecoder) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(func([]byte) bool { return d.skip(depth + 1) })
	case c == '[':
		d.i++
		if d.consume(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if !d.more(']') {
				return d.i <= len(d.b)
			}
		}
	case c == '"':
		_, ok := d.appendString(d.str[:0])
		return ok
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		return d.number()
	}
}

func (d *seriesDecoder) literal(s string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// number reads over a JSON number of any form.
func (d *seriesDecoder) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return false
		}
	}
	d.i = i
	return true
}

// object reads a JSON object, calling field with each key (unescaped, and
// only valid until the next read) with the decoder at the key's value.
func (d *seriesDecoder) object(field func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		d.ws()
		key, ok := d.rawString()
		if !ok || !d.consume(':') || !field(key) {
			return false
		}
		if !d.more('}') {
			return d.i <= len(d.b)
		}
	}
}

// more reads the separator after an element of an array or object: true
// after a comma, false after the closing bracket. Anything else is an error,
// reported by moving the decoder past the end of the input.
func (d *seriesDecoder) more(closing byte) bool {
	d.ws()
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ',':
			d.i++
			return true
		case closing:
			d.i++
			return false
		}
	}
	d.i = len(d.b) + 1
	return false
}

// rawString reads a string that has no escapes and only printable ASCII or
// valid UTF-8, and returns its bytes (a slice of the input).
func (d *seriesDecoder) rawString() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	b := d.b
	start := d.i + 1
	i := start
	ascii := true
	for {
		// Eight bytes at a time over plain ASCII: a byte that is '"', '\\',
		// a control character or not ASCII sets a high bit of t (some
		// bytes after the first such one may too; that only stops the
		// skip early).
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lo*'"'), x^(lo*'\\')
			t := (q-lo)&^q | (bs-lo)&^bs | (x-lo*0x20)&^x | x
			if t&hi != 0 {
				break
			}
			i += 8
		}
		for i < len(b) {
			c := b[i]
			if c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		if i >= len(b) {
			return nil, false
		}
		c := b[i]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		ascii = false
		i++
	}
	if !ascii && !utf8.Valid(b[start:i]) {
		return nil, false
	}
	d.i = i + 1
	return b[start:i], true
}

func (d *seriesDecoder) string() (string, bool) {
	d.ws()
	if s, ok := d.rawString(); ok {
		return string(s), true
	}
	var ok bool
	d.str, ok = d.appendString(d.str[:0])
	return string(d.str), ok
}

// appendString reads a JSON string and appends its value to dst. It gives up
// on what encoding/json would replace by U+FFFD (invalid UTF-8, lone
// surrogates) rather than reproduce that.
func (d *seriesDecoder) appendString(dst []byte) ([]byte, bool) {
	d.ws()
	if s, ok := d.rawString(); ok {
		return append(dst, s...), true
	}
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return dst, false
	}
	i := d.i + 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return dst, true
		case c < 0x20:
			return dst, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, false
			}
			dst = append(dst, b[i:i+size]...)
			i += size
		case c != '\\':
			dst = append(dst, c)
			i++
		default:
			if i+1 >= len(b) {
				return dst, false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				dst = append(dst, e)
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(b[i+2:])
				if !ok {
					return dst, false
				}
				if utf16.IsSurrogate(r) {
					if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return dst, false
					}
					r2, ok := hex4(b[i+8:])
					if !ok {
						return dst, false
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return dst, false
					}
					i += 6
				}
				dst = utf8.AppendRune(dst, r)
				i += 4
			default:
				return dst, false
			}
			i += 2
		}
	}
	return dst, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// int reads a JSON integer that fits an int64.
// float reads a JSON number as a float64.
func (d *seriesDecoder) float() (float64, bool) {
	d.i = skipSpace(d.b, d.i)
	start := d.i
	if !d.number() {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	return v, err == nil
}

func (d *seriesDecoder) int() (int64, bool) {
	n, i, ok := parseInt(d.b, skipSpace(d.b, d.i))
	if ok {
		d.i = i
	}
	return n, ok
}

// parseInt reads a JSON integer at b[i:] and returns it and the index after
// it. Fractions and exponents (which encoding/json refuses for integer
// fields), more than 19 digits and overflow make it give up; so does -2^63,
// which is left to encoding/json for simplicity.
func parseInt(b []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n uint64 // 19 decimal digits cannot overflow it
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		n = n*10 + uint64(c)
	}
	digits := i - start
	if digits == 0 || digits > 19 || n > math.MaxInt64 || b[start] == '0' && digits > 1 {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
		return 0, 0, false
	}
	if neg {
		return -int64(n), i, true
	}
	return int64(n), i, true
}

func (d *seriesDecoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *seriesDecoder) consume(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}
