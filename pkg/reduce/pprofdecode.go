package reduce

import (
	"errors"

	"github.com/google/pprof/profile"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/profdiff/profdiff/pkg/baseline"
)

// rawProfile is what a window is built from: a pprof profile's sample
// types, period, time, and its samples as indices into flat tables of
// functions and locations. Two things make one: toRaw, from a parsed
// profile.Profile (what Pyroscope's client has), and decodeRaw, straight
// from the protobuf wire format. decodeRaw is the fast path for files:
// google/pprof's parser builds an object per sample, location and line and
// resolves every string, which made it most of the cost of reading a
// profile; decodeRaw makes a handful of flat slices and converts only the
// strings a window uses.
type rawProfile struct {
	sampleTypes   []baseline.ValueType
	periodType    baseline.ValueType
	hasPeriodType bool
	period        int64
	timeNanos     int64
	durationNanos int64

	funcs []rawFunc
	locs  []rawLoc
	lines []rawLine // the locations' lines: locs[i] has lines[lo:hi]
	// samples[i] has locations locIdx[loc0:loc1] (leaf first) and values
	// values[i*len(sampleTypes):]
	samples []rawSample
	locIdx  []int32
	values  []int64
	// minValues is the fewest values a sample holds; only a profile built
	// by hand (not read by a parser, which checks it) has fewer than its
	// sample types, padded with zeros here.
	minValues int
}

// rawFunc is a function of the profile. Its name and file are bytes: of
// the decoded message when the fast decoder read it (a string is made only
// for a function new to the series), copies when a parsed profile was
// flattened.
type rawFunc struct {
	name, file []byte
	startLine  int64
}

type rawLoc struct {
	addr   uint64
	lo, hi int32
}

type rawLine struct {
	fn   int32 // index into funcs
	line int64
}

type rawSample struct{ loc0, loc1 int32 }

func (r *rawProfile) value(i, idx int) int64 { return r.values[i*len(r.sampleTypes)+idx] }

func (r *rawProfile) sampleLocs(i int) []int32 {
	s := r.samples[i]
	return r.locIdx[s.loc0:s.loc1]
}

// sampleIndex is the index of r's sample values of type vt, or -1.
func (r *rawProfile) sampleIndex(vt baseline.ValueType) int {
	for i, st := range r.sampleTypes {
		if st == vt {
			return i
		}
	}
	return -1
}

// toRaw flattens a parsed profile. Nil locations and lines without a
// function are dropped, as AddProfile always dropped them.
func toRaw(p *profile.Profile) *rawProfile {
	r := &rawProfile{period: p.Period, timeNanos: p.TimeNanos, durationNanos: p.DurationNanos}
	for _, st := range p.SampleType {
		r.sampleTypes = append(r.sampleTypes, baseline.ValueType{Type: st.Type, Unit: st.Unit})
	}
	if p.PeriodType != nil {
		r.periodType, r.hasPeriodType = baseline.ValueType{Type: p.PeriodType.Type, Unit: p.PeriodType.Unit}, true
	}
	fi := make(map[*profile.Function]int32, len(p.Function))
	for _, f := range p.Function {
		fi[f] = int32(len(r.funcs))
		r.funcs = append(r.funcs, rawFunc{name: []byte(f.Name), file: []byte(f.Filename), startLine: f.StartLine})
	}
	li := make(map[*profile.Location]int32, len(p.Location))
	addLoc := func(l *profile.Location) int32 {
		if i, ok := li[l]; ok {
			return i
		}
		loc := rawLoc{addr: l.Address, lo: int32(len(r.lines))}
		for _, ln := range l.Line {
			if ln.Function == nil {
				continue
			}
			f, ok := fi[ln.Function]
			if !ok { // a function missing from p.Function: keep it anyway
				f = int32(len(r.funcs))
				fi[ln.Function] = f
				r.funcs = append(r.funcs, rawFunc{name: []byte(ln.Function.Name), file: []byte(ln.Function.Filename), startLine: ln.Function.StartLine})
			}
			r.lines = append(r.lines, rawLine{fn: f, line: ln.Line})
		}
		loc.hi = int32(len(r.lines))
		i := int32(len(r.locs))
		r.locs = append(r.locs, loc)
		li[l] = i
		return i
	}
	n := len(r.sampleTypes)
	r.minValues = n
	for _, s := range p.Sample {
		r.minValues = min(r.minValues, len(s.Value))
		rs := rawSample{loc0: int32(len(r.locIdx))}
		for _, l := range s.Location {
			if l != nil {
				r.locIdx = append(r.locIdx, addLoc(l))
			}
		}
		rs.loc1 = int32(len(r.locIdx))
		r.samples = append(r.samples, rs)
		// Values are kept n a sample; a short sample is padded so that
		// AddProfile reports it rather than reading past it.
		vals := s.Value
		for j := range n {
			v := int64(0)
			if j < len(vals) {
				v = vals[j]
			}
			r.values = append(r.values, v)
		}
	}
	return r
}

// errWire is any departure from the profile.proto wire format that
// decodeRaw does not handle itself; the caller then parses with
// google/pprof, whose error (or acceptance, for legacy formats) stands.
var errWire = errors.New("not a profile.proto message decodeRaw reads")

// The field numbers of profile.proto.
const (
	fSampleType    = 1
	fSample        = 2
	fMapping       = 3
	fLocation      = 4
	fFunction      = 5
	fStringTable   = 6
	fDropFrames    = 7
	fKeepFrames    = 8
	fTimeNanos     = 9
	fDurationNanos = 10
	fPeriodType    = 11
	fPeriod        = 12
	fComment       = 13
	fDefaultSample = 14
	fDocURL        = 15
)

// decodeRaw decodes an uncompressed profile.proto message. It accepts only
// what google/pprof's ParseData accepts (string indices in range, non-zero
// unique IDs, lines naming a function, samples naming known locations and
// holding one value per sample type) and returns errWire for anything
// else, legacy text formats included.
func decodeRaw(data []byte) (*rawProfile, error) {
	r := &rawProfile{}
	var (
		strs                       [][]byte
		sampleTypes, samples       [][]byte
		mappings, locations, funcs [][]byte
		periodTypes                [][]byte
		strIdx                     []uint64 // every string index seen, checked once the table is known
		haveStrings                bool
	)
	// Count the repeated messages first, so that each list is allocated
	// once: a large profile has tens of thousands of each.
	var counts [fDocURL + 1]int
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errWire
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return nil, errWire
		}
		b = b[n:]
		if num <= fDocURL {
			counts[num]++
		}
	}
	strs = make([][]byte, 0, counts[fStringTable])
	sampleTypes = make([][]byte, 0, counts[fSampleType])
	samples = make([][]byte, 0, counts[fSample])
	mappings = make([][]byte, 0, counts[fMapping])
	locations = make([][]byte, 0, counts[fLocation])
	funcs = make([][]byte, 0, counts[fFunction])
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errWire
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.StartGroupType, protowire.EndGroupType:
			return nil, errWire // pprof's decoder knows no groups
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, errWire
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && num == fSampleType:
			sampleTypes = append(sampleTypes, v)
		case typ == protowire.BytesType && num == fSample:
			samples = append(samples, v)
		case typ == protowire.BytesType && num == fMapping:
			mappings = append(mappings, v)
		case typ == protowire.BytesType && num == fLocation:
			locations = append(locations, v)
		case typ == protowire.BytesType && num == fFunction:
			funcs = append(funcs, v)
		case typ == protowire.BytesType && num == fStringTable:
			strs = append(strs, v)
			haveStrings = true
		case typ == protowire.BytesType && num == fPeriodType:
			periodTypes = append(periodTypes, v) // each is decoded, as pprof does; the last wins
		case typ == protowire.VarintType && (num == fDropFrames || num == fKeepFrames || num == fComment || num == fDefaultSample || num == fDocURL):
			strIdx = append(strIdx, x)
		case typ == protowire.BytesType && num == fComment: // packed
			ids, ok := varints(v)
			if !ok {
				return nil, errWire
			}
			strIdx = append(strIdx, ids...)
		case typ == protowire.VarintType && num == fTimeNanos:
			r.timeNanos = int64(x)
		case typ == protowire.VarintType && num == fDurationNanos:
			r.durationNanos = int64(x)
		case typ == protowire.VarintType && num == fPeriod:
			r.period = int64(x)
		case num >= fSampleType && num <= fDocURL:
			return nil, errWire // a known field in an unexpected wire type
		}
	}
	if !haveStrings || len(strs[0]) != 0 {
		return nil, errWire // pprof: "string_table[0] must be ''"
	}
	str := func(i uint64) (string, bool) {
		if i >= uint64(len(strs)) {
			return "", false
		}
		return string(strs[i]), true
	}
	for _, i := range strIdx {
		if i >= uint64(len(strs)) {
			return nil, errWire
		}
	}
	valueType := func(m []byte) (baseline.ValueType, bool) {
		var t, u uint64
		ok := fields(m, 2, func(num protowire.Number, x uint64, sub []byte) bool {
			switch num {
			case 1:
				t = x
			case 2:
				u = x
			}
			return sub == nil
		})
		ts, ok1 := str(t)
		us, ok2 := str(u)
		return baseline.ValueType{Type: ts, Unit: us}, ok && ok1 && ok2
	}
	for _, m := range sampleTypes {
		vt, ok := valueType(m)
		if !ok {
			return nil, errWire
		}
		r.sampleTypes = append(r.sampleTypes, vt)
	}
	for _, m := range periodTypes {
		vt, ok := valueType(m)
		if !ok {
			return nil, errWire
		}
		r.periodType, r.hasPeriodType = vt, true
	}

	// Mappings: only checked (IDs non-zero and unique, strings in range).
	mapIDs := make(map[uint64]bool, len(mappings))
	for _, m := range mappings {
		var id uint64
		ok := fields(m, 10, func(num protowire.Number, x uint64, sub []byte) bool {
			switch num {
			case 1:
				id = x
			case 5, 6: // filename, build_id
				return sub == nil && x < uint64(len(strs))
			}
			return sub == nil
		})
		if !ok || id == 0 || mapIDs[id] {
			return nil, errWire
		}
		mapIDs[id] = true
	}

	funcIdx := newIDIndex(len(funcs))
	r.funcs = make([]rawFunc, 0, len(funcs))
	for _, m := range funcs {
		var id, name, sys, file uint64
		var start int64
		ok := fields(m, 5, func(num protowire.Number, x uint64, sub []byte) bool {
			if sub != nil {
				return false
			}
			switch num {
			case 1:
				id = x
			case 2:
				name = x
			case 3:
				sys = x
			case 4:
				file = x
			case 5:
				start = int64(x)
			}
			return true
		})
		if !ok || id == 0 || sys >= uint64(len(strs)) || name >= uint64(len(strs)) || file >= uint64(len(strs)) || !funcIdx.add(id, int32(len(r.funcs))) {
			return nil, errWire
		}
		r.funcs = append(r.funcs, rawFunc{name: strs[name], file: strs[file], startLine: start})
	}

	locIdx := newIDIndex(len(locations))
	r.locs = make([]rawLoc, 0, len(locations))
	r.lines = make([]rawLine, 0, len(locations)+len(locations)/4)
	for _, m := range locations {
		loc := rawLoc{lo: int32(len(r.lines))}
		var id uint64
		ok := fields(m, 5, func(num protowire.Number, x uint64, sub []byte) bool {
			if (num == 4) != (sub != nil) {
				return false // a Line is a message, the rest are varints
			}
			switch num {
			case 1:
				id = x
			case 3:
				loc.addr = x
			case 4: // a Line
				var fid uint64
				var line int64
				if !fields(sub, 3, func(n protowire.Number, y uint64, ysub []byte) bool {
					switch n {
					case 1:
						fid = y
					case 2:
						line = int64(y)
					}
					return ysub == nil
				}) {
					return false
				}
				f, ok := funcIdx.get(fid)
				if !ok {
					return false // pprof: "a line with nil function"
				}
				r.lines = append(r.lines, rawLine{fn: f, line: line})
			}
			return true
		})
		loc.hi = int32(len(r.lines))
		if !ok || id == 0 || !locIdx.add(id, int32(len(r.locs))) {
			return nil, errWire
		}
		r.locs = append(r.locs, loc)
	}

	nv := len(r.sampleTypes)
	r.minValues = nv
	if nv == 0 && len(samples) > 0 {
		return nil, errWire // pprof: "missing sample type information"
	}
	r.samples = make([]rawSample, 0, len(samples))
	r.values = make([]int64, 0, len(samples)*nv)
	// Every varint ends in a byte below 0x80, so counting those bytes of
	// the samples bounds their location IDs (and values, tags, lengths):
	// the IDs' list is allocated once.
	nv8 := 0
	for _, m := range samples {
		for _, c := range m {
			if c < 0x80 {
				nv8++
			}
		}
	}
	r.locIdx = make([]int32, 0, nv8)
	for _, m := range samples {
		s := rawSample{loc0: int32(len(r.locIdx))}
		vals := 0
		ok := true
		for b := m; len(b) > 0 && ok; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return nil, errWire
			}
			b = b[n:]
			switch {
			case num == 1 && typ == protowire.VarintType:
				x, n := protowire.ConsumeVarint(b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
				li, found := locIdx.get(x)
				ok = found
				r.locIdx = append(r.locIdx, li)
			case num == 1 && typ == protowire.BytesType:
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
				for len(v) > 0 && ok {
					x, k := protowire.ConsumeVarint(v)
					if k < 0 {
						return nil, errWire
					}
					v = v[k:]
					li, found := locIdx.get(x)
					ok = found
					r.locIdx = append(r.locIdx, li)
				}
			case num == 2 && typ == protowire.VarintType:
				x, n := protowire.ConsumeVarint(b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
				r.values = append(r.values, int64(x))
				vals++
			case num == 2 && typ == protowire.BytesType:
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
				for len(v) > 0 {
					x, k := protowire.ConsumeVarint(v)
					if k < 0 {
						return nil, errWire
					}
					v = v[k:]
					r.values = append(r.values, int64(x))
					vals++
				}
			case num == 3 && typ == protowire.BytesType: // a Label: its strings must be in range
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
				ok = fields(v, 4, func(n protowire.Number, y uint64, ysub []byte) bool {
					return ysub == nil && (n == 3 || y < uint64(len(strs))) // key, str, num_unit are strings; num is not
				})
			case num <= 3 || typ == protowire.StartGroupType || typ == protowire.EndGroupType:
				return nil, errWire
			default:
				n := protowire.ConsumeFieldValue(num, typ, b)
				if n < 0 {
					return nil, errWire
				}
				b = b[n:]
			}
		}
		if !ok || vals != nv {
			return nil, errWire // pprof: "sample has nil location", "mismatch: sample has N values"
		}
		s.loc1 = int32(len(r.locIdx))
		r.samples = append(r.samples, s)
	}
	return r, nil
}

// fields calls fn for each field of message m numbered up to known: with
// its value for a varint (sub nil), with its bytes for a length-delimited
// one (x 0). A field numbered up to known in another wire type fails, as
// google/pprof's decoder fails on it; higher-numbered fields are skipped.
// It reports false on malformed input or when fn does.
func fields(m []byte, known protowire.Number, fn func(num protowire.Number, x uint64, sub []byte) bool) bool {
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		if n < 0 {
			return false
		}
		m = m[n:]
		switch {
		case typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(m)
			if n < 0 || (num <= known && !fn(num, x, nil)) {
				return false
			}
			m = m[n:]
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(m)
			if n < 0 || (num <= known && !fn(num, 0, v)) {
				return false
			}
			m = m[n:]
		case num <= known || typ == protowire.StartGroupType || typ == protowire.EndGroupType:
			return false // pprof's decoder knows no groups
		default:
			n := protowire.ConsumeFieldValue(num, typ, m)
			if n < 0 {
				return false
			}
			m = m[n:]
		}
	}
	return true
}

// idIndex maps a profile's IDs (usually 1..n, as every pprof writer
// numbers them) to table indices: a slice when they are dense, a map
// otherwise.
type idIndex struct {
	dense  []int32 // dense[id] = index+1; 0 is absent
	sparse map[uint64]int32
}

func newIDIndex(n int) *idIndex { return &idIndex{dense: make([]int32, n+1)} }

// add records id; it reports false for a duplicate.
func (x *idIndex) add(id uint64, i int32) bool {
	if id < uint64(len(x.dense)) {
		if x.dense[id] != 0 {
			return false
		}
		x.dense[id] = i + 1
		return true
	}
	if x.sparse == nil {
		x.sparse = map[uint64]int32{}
	}
	if _, dup := x.sparse[id]; dup {
		return false
	}
	x.sparse[id] = i
	return true
}

func (x *idIndex) get(id uint64) (int32, bool) {
	if id < uint64(len(x.dense)) {
		i := x.dense[id]
		return i - 1, i != 0 && id != 0
	}
	i, ok := x.sparse[id]
	return i, ok
}

// parseRaw decodes one uncompressed pprof profile: the fast path, or,
// when the data is anything it does not read (a legacy text profile, a
// malformed one), google/pprof's parser, whose error stands.
func parseRaw(data []byte) (*rawProfile, error) {
	if r, err := decodeRaw(data); err == nil {
		return r, nil
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, err
	}
	return toRaw(p), nil
}

// varints decodes a packed list of varints.
func varints(b []byte) ([]uint64, bool) {
	var out []uint64
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, false
		}
		out = append(out, x)
		b = b[n:]
	}
	return out, true
}
