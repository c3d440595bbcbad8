package pyroscope

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/pprof/profile"
	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// fromProto converts the Connect API's pprof message into google/pprof's
// model directly. The message has already been decoded by the Connect
// codec; encoding it again only for profile.ParseData to decode it a second
// time costs a merged profile's size in bytes and allocations twice over,
// on every window of every series Collect fetches.
//
// It keeps ParseData's contract: the result is what
// profile.ParseData(msg.MarshalVT()) returns, and it refuses what ParseData
// refuses — a string index out of range, a sample or line that refers to a
// location or function that does not exist, an ID that is zero or
// repeated, a sample whose value count differs from the sample types'.
// References ParseData resolves leniently stay lenient: a location whose
// mapping does not exist has no mapping. Fields the message type does not
// declare but pprof does (doc_link, a line's column) are read from the
// message's unknown fields, as the wire format would carry them.
func fromProto(msg *profilev1.Profile) (*profile.Profile, error) {
	c := converter{strs: msg.GetStringTable()}
	if len(c.strs) == 0 {
		return nil, errors.New("string table is empty")
	}
	if c.strs[0] != "" {
		return nil, fmt.Errorf("string table starts with %q; it must start with an empty string", c.strs[0])
	}
	p := &profile.Profile{
		TimeNanos:     msg.GetTimeNanos(),
		DurationNanos: msg.GetDurationNanos(),
		Period:        msg.GetPeriod(),
	}

	mappings := make([]profile.Mapping, len(msg.GetMapping()))
	p.Mapping = make([]*profile.Mapping, len(mappings))
	mappingByID := newIDTable[profile.Mapping](len(mappings))
	for i, m := range msg.GetMapping() {
		pm := &mappings[i]
		*pm = profile.Mapping{
			ID:              m.GetId(),
			Start:           m.GetMemoryStart(),
			Limit:           m.GetMemoryLimit(),
			Offset:          m.GetFileOffset(),
			File:            c.str(m.GetFilename(), "mapping file name"),
			BuildID:         c.str(m.GetBuildId(), "mapping build ID"),
			HasFunctions:    m.GetHasFunctions(),
			HasFilenames:    m.GetHasFilenames(),
			HasLineNumbers:  m.GetHasLineNumbers(),
			HasInlineFrames: m.GetHasInlineFrames(),
		}
		const kernel = "[kernel.kallsyms]"
		if rest, ok := strings.CutPrefix(pm.File, kernel); ok {
			pm.KernelRelocationSymbol = rest
		}
		if err := mappingByID.add("mapping", pm.ID, pm); err != nil {
			return nil, err
		}
		p.Mapping[i] = pm
	}

	functions := make([]profile.Function, len(msg.GetFunction()))
	p.Function = make([]*profile.Function, len(functions))
	functionByID := newIDTable[profile.Function](len(functions))
	for i, f := range msg.GetFunction() {
		pf := &functions[i]
		*pf = profile.Function{
			ID:         f.GetId(),
			Name:       c.str(f.GetName(), "function name"),
			SystemName: c.str(f.GetSystemName(), "function system name"),
			Filename:   c.str(f.GetFilename(), "function file name"),
			StartLine:  f.GetStartLine(),
		}
		if err := functionByID.add("function", pf.ID, pf); err != nil {
			return nil, err
		}
		p.Function[i] = pf
	}

	nlines := 0
	for _, l := range msg.GetLocation() {
		nlines += len(l.GetLine())
	}
	lines := make([]profile.Line, nlines)
	locations := make([]profile.Location, len(msg.GetLocation()))
	p.Location = make([]*profile.Location, len(locations))
	locationByID := newIDTable[profile.Location](len(locations))
	for i, l := range msg.GetLocation() {
		pl := &locations[i]
		*pl = profile.Location{
			ID:       l.GetId(),
			Mapping:  mappingByID.get(l.GetMappingId()),
			Address:  l.GetAddress(),
			IsFolded: l.GetIsFolded(),
		}
		if n := len(l.GetLine()); n > 0 {
			pl.Line, lines = lines[:n:n], lines[n:]
			for j, ln := range l.GetLine() {
				f := functionByID.get(ln.GetFunctionId())
				if f == nil {
					return nil, fmt.Errorf("location %d, line %d: function %d does not exist", pl.ID, j, ln.GetFunctionId())
				}
				pl.Line[j] = profile.Line{Function: f, Line: ln.GetLine()}
				if col, ok := unknownVarint(ln, 3); ok {
					pl.Line[j].Column = int64(col)
				}
			}
		}
		if err := locationByID.add("location", pl.ID, pl); err != nil {
			return nil, err
		}
		p.Location[i] = pl
	}

	types := make([]profile.ValueType, len(msg.GetSampleType()))
	p.SampleType = make([]*profile.ValueType, len(types))
	for i, st := range msg.GetSampleType() {
		types[i] = profile.ValueType{Type: c.str(st.GetType(), "sample type"), Unit: c.str(st.GetUnit(), "sample unit")}
		p.SampleType[i] = &types[i]
	}

	if err := c.samples(p, msg.GetSample(), locationByID); err != nil {
		return nil, err
	}

	pt := msg.GetPeriodType()
	p.PeriodType = &profile.ValueType{Type: c.str(pt.GetType(), "period type"), Unit: c.str(pt.GetUnit(), "period unit")}
	p.DropFrames = c.str(msg.GetDropFrames(), "drop_frames")
	p.KeepFrames = c.str(msg.GetKeepFrames(), "keep_frames")
	for _, x := range msg.GetComment() {
		p.Comments = append(p.Comments, c.str(x, "comment"))
	}
	p.DefaultSampleType = c.str(msg.GetDefaultSampleType(), "default sample type")
	docURL, _ := unknownVarint(msg, 15)
	p.DocURL = c.str(int64(docURL), "doc_link")
	if c.err != nil {
		return nil, c.err
	}
	// ParseData leaves the tables nil when the message has none.
	p.SampleType = nilIfEmpty(p.SampleType)
	p.Sample = nilIfEmpty(p.Sample)
	p.Mapping = nilIfEmpty(p.Mapping)
	p.Location = nilIfEmpty(p.Location)
	p.Function = nilIfEmpty(p.Function)
	return p, nil
}

// samples converts the samples, all locations in one allocation and all
// values in another, as ParseData shares one buffer among the locations.
func (c *converter) samples(p *profile.Profile, in []*profilev1.Sample, locationByID *idTable[profile.Location]) error {
	ntypes := len(p.SampleType)
	if ntypes == 0 && len(in) > 0 {
		return errors.New("the profile has samples but no sample types")
	}
	nlocs := 0
	for _, s := range in {
		nlocs += len(s.GetLocationId())
	}
	locBuf := make([]*profile.Location, nlocs)
	values := make([]int64, len(in)*ntypes)
	samples := make([]profile.Sample, len(in))
	p.Sample = make([]*profile.Sample, len(in))
	for i, s := range in {
		ps := &samples[i]
		if n := len(s.GetValue()); n != ntypes {
			return fmt.Errorf("sample %d has %d values for %d sample types", i, n, ntypes)
		}
		ps.Value, values = values[:ntypes:ntypes], values[ntypes:]
		copy(ps.Value, s.GetValue())
		n := len(s.GetLocationId())
		ps.Location, locBuf = locBuf[:n:n], locBuf[n:]
		for j, id := range s.GetLocationId() {
			if ps.Location[j] = locationByID.get(id); ps.Location[j] == nil {
				return fmt.Errorf("sample %d: location %d does not exist", i, id)
			}
		}
		if len(s.GetLabel()) > 0 {
			c.labels(ps, s.GetLabel())
		}
		p.Sample[i] = ps
	}
	return nil
}

// labels sets a sample's string and numeric labels exactly as ParseData
// does: a label with a string value is a string label (its unit ignored);
// one with a number or a unit is numeric, its units padded with empty
// strings to its values' count; one with neither is dropped.
func (c *converter) labels(s *profile.Sample, in []*profilev1.Label) {
	for _, l := range in {
		key := c.str(l.GetKey(), "label key")
		switch {
		case l.GetStr() != 0:
			if s.Label == nil {
				s.Label = map[string][]string{}
			}
			s.Label[key] = append(s.Label[key], c.str(l.GetStr(), "label value"))
		case l.GetNum() != 0 || l.GetNumUnit() != 0:
			if s.NumLabel == nil {
				s.NumLabel = map[string][]int64{}
			}
			if l.GetNumUnit() != 0 {
				if s.NumUnit == nil {
					s.NumUnit = map[string][]string{}
				}
				units := padStrings(s.NumUnit[key], len(s.NumLabel[key]))
				s.NumUnit[key] = append(units, c.str(l.GetNumUnit(), "label unit"))
			}
			s.NumLabel[key] = append(s.NumLabel[key], l.GetNum())
		}
	}
	for key, units := range s.NumUnit {
		s.NumUnit[key] = padStrings(units, len(s.NumLabel[key]))
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func padStrings(s []string, n int) []string {
	if len(s) >= n {
		return s
	}
	return append(s, make([]string, n-len(s))...)
}

// converter looks strings up in the message's table, keeping the first
// bad index as its error so that the conversion reads straight through.
type converter struct {
	strs []string
	err  error
}

func (c *converter) str(i int64, what string) string {
	if i >= 0 && i < int64(len(c.strs)) {
		return c.strs[i]
	}
	if c.err == nil {
		c.err = fmt.Errorf("%s: string index %d is outside the string table (%d strings)", what, i, len(c.strs))
	}
	return ""
}

// idTable finds mappings, functions and locations by ID: in a slice when
// the IDs are 1..n, as pprof writers number them, else in a map.
type idTable[T any] struct {
	dense  []*T
	sparse map[uint64]*T
}

func newIDTable[T any](n int) *idTable[T] {
	return &idTable[T]{dense: make([]*T, n+1)}
}

func (t *idTable[T]) add(kind string, id uint64, v *T) error {
	if id == 0 {
		return fmt.Errorf("a %s has ID 0, which is reserved", kind)
	}
	if t.get(id) != nil {
		return fmt.Errorf("two %ss have ID %d", kind, id)
	}
	if id < uint64(len(t.dense)) {
		t.dense[id] = v
		return nil
	}
	if t.sparse == nil {
		t.sparse = map[uint64]*T{}
	}
	t.sparse[id] = v
	return nil
}

// get returns nil for an ID not in the table, and for 0.
func (t *idTable[T]) get(id uint64) *T {
	if id < uint64(len(t.dense)) {
		return t.dense[id]
	}
	return t.sparse[id]
}

// unknownVarint returns the last varint the message carries as an unknown
// field num, as a decoder that knows the field would keep it.
func unknownVarint(m proto.Message, num protowire.Number) (uint64, bool) {
	b := m.ProtoReflect().GetUnknown()
	var v uint64
	found := false
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			break
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			x, l := protowire.ConsumeVarint(b)
			if l < 0 {
				break
			}
			v, found = x, true
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			break
		}
		b = b[l:]
	}
	return v, found
}
