package reporttest

import "testing"

// The fixture's series must be valid snapshots' series, or renderer tests
// would pass on data the real pipeline can never produce.
func TestFixtureSeriesValid(t *testing.T) {
	for _, s := range Result().Series {
		if s.Base != nil {
			if err := s.Base.Validate(); err != nil {
				t.Errorf("%s base: %v", s.Service, err)
			}
		}
		if s.Cur != nil {
			if err := s.Cur.Validate(); err != nil {
				t.Errorf("%s current: %v", s.Service, err)
			}
		}
	}
}
