package profstore

import (
	"encoding/binary"

	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
)

// merger sums several profiles of one profile type into one pprof holding a
// single sample type, deduplicating strings, mappings, functions, locations
// and identical stacks. It is what SelectMergeProfile returns and what the
// flame graph endpoints build their trees from.
type merger struct {
	out       *profilev1.Profile
	strings   map[string]int64
	mappings  map[[2]int64]uint64 // filename, build ID
	functions map[[4]int64]uint64 // name, system name, filename, start line
	locations map[string]uint64
	samples   map[string]*profilev1.Sample
	keyBuf    []byte
}

func newMerger() *merger {
	return &merger{
		out:       &profilev1.Profile{StringTable: []string{""}},
		strings:   map[string]int64{"": 0},
		mappings:  make(map[[2]int64]uint64),
		functions: make(map[[4]int64]uint64),
		locations: make(map[string]uint64),
		samples:   make(map[string]*profilev1.Sample),
	}
}

func (m *merger) str(s string) int64 {
	if i, ok := m.strings[s]; ok {
		return i
	}
	i := int64(len(m.out.StringTable))
	m.out.StringTable = append(m.out.StringTable, s)
	m.strings[s] = i
	return i
}

// add merges sample type idx of p. p must have passed validateProfile.
func (m *merger) add(p *profilev1.Profile, idx int) {
	st := p.StringTable
	mapIDs := make(map[uint64]uint64, len(p.Mapping))
	for _, mp := range p.Mapping {
		k := [2]int64{m.str(st[mp.Filename]), m.str(st[mp.BuildId])}
		id, ok := m.mappings[k]
		if !ok {
			id = uint64(len(m.out.Mapping) + 1)
			m.out.Mapping = append(m.out.Mapping, &profilev1.Mapping{
				// Like the real server, keep only what identifies the binary:
				// addresses are meaningless once profiles are merged.
				Id: id, Filename: k[0], BuildId: k[1],
				HasFunctions: mp.HasFunctions, HasFilenames: mp.HasFilenames,
				HasLineNumbers: mp.HasLineNumbers, HasInlineFrames: mp.HasInlineFrames,
			})
			m.mappings[k] = id
		}
		mapIDs[mp.Id] = id
	}
	fnIDs := make(map[uint64]uint64, len(p.Function))
	for _, f := range p.Function {
		k := [4]int64{m.str(st[f.Name]), m.str(st[f.SystemName]), m.str(st[f.Filename]), f.StartLine}
		id, ok := m.functions[k]
		if !ok {
			id = uint64(len(m.out.Function) + 1)
			m.out.Function = append(m.out.Function, &profilev1.Function{
				Id: id, Name: k[0], SystemName: k[1], Filename: k[2], StartLine: k[3],
			})
			m.functions[k] = id
		}
		fnIDs[f.Id] = id
	}
	locIDs := make(map[uint64]uint64, len(p.Location))
	for _, l := range p.Location {
		key := m.keyBuf[:0]
		mid := mapIDs[l.MappingId]
		key = binary.AppendUvarint(key, mid)
		addr := l.Address
		if len(l.Line) > 0 {
			addr = 0 // symbolized: the address adds nothing and varies per build
		}
		key = binary.AppendUvarint(key, addr)
		for _, ln := range l.Line {
			key = binary.AppendUvarint(key, fnIDs[ln.FunctionId])
			key = binary.AppendVarint(key, ln.Line)
		}
		m.keyBuf = key
		id, ok := m.locations[string(key)]
		if !ok {
			id = uint64(len(m.out.Location) + 1)
			lines := make([]*profilev1.Line, len(l.Line))
			for i, ln := range l.Line {
				lines[i] = &profilev1.Line{FunctionId: fnIDs[ln.FunctionId], Line: ln.Line}
			}
			m.out.Location = append(m.out.Location, &profilev1.Location{
				Id: id, MappingId: mid, Address: addr, Line: lines, IsFolded: l.IsFolded,
			})
			m.locations[string(key)] = id
		}
		locIDs[l.Id] = id
	}
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v == 0 {
			continue
		}
		key := m.keyBuf[:0]
		for _, id := range s.LocationId {
			key = binary.AppendUvarint(key, locIDs[id])
		}
		m.keyBuf = key
		if ex, ok := m.samples[string(key)]; ok {
			ex.Value[0] += v
			continue
		}
		ids := make([]uint64, len(s.LocationId))
		for i, id := range s.LocationId {
			ids[i] = locIDs[id]
		}
		smp := &profilev1.Sample{LocationId: ids, Value: []int64{v}}
		m.out.Sample = append(m.out.Sample, smp)
		m.samples[string(key)] = smp
	}
}

// profile finishes the merged pprof with the metadata the real server sets:
// exactly the selected sample type, the period guessed from the profile
// name, time_nanos at the given time, duration_nanos 0.
func (m *merger) profile(t profileType, timeNanos int64) *profilev1.Profile {
	p := m.out
	p.SampleType = []*profilev1.ValueType{{Type: m.str(t.SampleType), Unit: m.str(t.SampleUnit)}}
	p.DefaultSampleType = p.SampleType[0].Type
	p.PeriodType = &profilev1.ValueType{Type: m.str(t.PeriodType), Unit: m.str(t.PeriodUnit)}
	p.Period = mergedPeriod(t.Name)
	p.TimeNanos = timeNanos
	return p
}

// stacks calls fn for every sample of a merged profile with its function
// names ordered root first, the order flame graphs are built in. Inlined
// frames of a location come out as separate frames.
func (m *merger) stacks(fn func(names []string, v int64)) {
	p := m.out
	var names []string
	for _, s := range p.Sample {
		names = names[:0]
		for i := len(s.LocationId) - 1; i >= 0; i-- {
			loc := p.Location[s.LocationId[i]-1]
			if len(loc.Line) == 0 {
				names = append(names, hexAddr(loc.Address))
				continue
			}
			for j := len(loc.Line) - 1; j >= 0; j-- {
				f := p.Function[loc.Line[j].FunctionId-1]
				names = append(names, p.StringTable[f.Name])
			}
		}
		fn(names, s.Value[0])
	}
}

func hexAddr(a uint64) string {
	const digits = "0123456789abcdef"
	if a == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for a > 0 {
		i--
		b[i] = digits[a&15]
		a >>= 4
	}
	return string(b[i:])
}
