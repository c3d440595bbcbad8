package profstore

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	profilev1 "github.com/grafana/pyroscope/api/gen/proto/go/google/v1"
)

// decodeProfile reads a pprof profile, gzipped or not, refusing to inflate
// more than maxDecompressed bytes.
func decodeProfile(b []byte, maxDecompressed int64) (*profilev1.Profile, error) {
	raw := b
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(zr, maxDecompressed+1))
		if err != nil {
			return nil, err
		}
		if n > maxDecompressed {
			return nil, fmt.Errorf("decompressed profile exceeds the limit of %d bytes", maxDecompressed)
		}
		raw = buf.Bytes()
	}
	p := new(profilev1.Profile)
	if err := p.UnmarshalVT(raw); err != nil {
		return nil, err
	}
	if err := validateProfile(p); err != nil {
		return nil, err
	}
	return p, nil
}

// validateProfile checks every reference inside a profile, so that the query
// code can index without re-checking and garbage is refused at the door
// rather than crashing a later query.
func validateProfile(p *profilev1.Profile) error {
	nstr := int64(len(p.StringTable))
	if nstr == 0 || p.StringTable[0] != "" {
		return errors.New("invalid profile: string table must start with an empty string")
	}
	str := func(i int64) bool { return i >= 0 && i < nstr }
	if len(p.SampleType) == 0 {
		return errors.New("invalid profile: no sample types")
	}
	for _, st := range p.SampleType {
		if st == nil || !str(st.Type) || !str(st.Unit) {
			return errors.New("invalid profile: sample type refers outside the string table")
		}
	}
	if pt := p.PeriodType; pt != nil && (!str(pt.Type) || !str(pt.Unit)) {
		return errors.New("invalid profile: period type refers outside the string table")
	}
	mappings := make(map[uint64]bool, len(p.Mapping))
	for _, m := range p.Mapping {
		if m == nil || m.Id == 0 || !str(m.Filename) || !str(m.BuildId) {
			return errors.New("invalid profile: bad mapping")
		}
		mappings[m.Id] = true
	}
	funcs := make(map[uint64]bool, len(p.Function))
	for _, f := range p.Function {
		if f == nil || f.Id == 0 || !str(f.Name) || !str(f.SystemName) || !str(f.Filename) {
			return errors.New("invalid profile: bad function")
		}
		funcs[f.Id] = true
	}
	locs := make(map[uint64]bool, len(p.Location))
	for _, l := range p.Location {
		if l == nil || l.Id == 0 {
			return errors.New("invalid profile: bad location")
		}
		if l.MappingId != 0 && !mappings[l.MappingId] {
			return fmt.Errorf("invalid profile: location %d refers to unknown mapping %d", l.Id, l.MappingId)
		}
		for _, ln := range l.Line {
			if ln == nil || !funcs[ln.FunctionId] {
				return fmt.Errorf("invalid profile: location %d refers to an unknown function", l.Id)
			}
		}
		locs[l.Id] = true
	}
	for i, s := range p.Sample {
		if s == nil || len(s.Value) != len(p.SampleType) {
			return fmt.Errorf("invalid profile: sample %d has %d values for %d sample types", i, len(s.GetValue()), len(p.SampleType))
		}
		for _, id := range s.LocationId {
			if !locs[id] {
				return fmt.Errorf("invalid profile: sample %d refers to unknown location %d", i, id)
			}
		}
	}
	return nil
}
