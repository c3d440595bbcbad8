package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// jsonFloat is a float64 that encodes non-finite values as null, because
// encoding/json refuses ±Inf and NaN and a new hot path's Change is +Inf.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// findingJSON shadows Finding's float fields with null-safe ones: encoding/json
// prefers the shallower of two fields with the same name.
type findingJSON struct {
	plainFinding
	Baseline      jsonFloat  `json:"baseline"`
	Current       jsonFloat  `json:"current"`
	Change        jsonFloat  `json:"change"`
	ChangeLow     jsonFloat  `json:"change_low"`
	ChangeHigh    jsonFloat  `json:"change_high"`
	P             jsonFloat  `json:"p"`
	Q             jsonFloat  `json:"q"`
	MinDetectable *jsonFloat `json:"min_detectable_change,omitempty"`
}

type plainFinding Finding

// MarshalJSON writes Finding with non-finite numbers as null: "change": null
// means the function is new (its baseline was zero, so the change is
// unbounded).
func (f Finding) MarshalJSON() ([]byte, error) {
	j := findingJSON{
		plainFinding: plainFinding(f),
		Baseline:     jsonFloat(f.Baseline),
		Current:      jsonFloat(f.Current),
		Change:       jsonFloat(f.Change),
		ChangeLow:    jsonFloat(f.ChangeLow),
		ChangeHigh:   jsonFloat(f.ChangeHigh),
		P:            jsonFloat(f.P),
		Q:            jsonFloat(f.Q),
	}
	if f.MinDetectable != 0 && !math.IsNaN(f.MinDetectable) {
		m := jsonFloat(f.MinDetectable)
		j.MinDetectable = &m
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; a null change (or bound) reads
// back as +Inf, the only non-finite value Compare produces.
func (f *Finding) UnmarshalJSON(b []byte) error {
	var j struct {
		plainFinding
		Baseline      *float64 `json:"baseline"`
		Current       *float64 `json:"current"`
		Change        *float64 `json:"change"`
		ChangeLow     *float64 `json:"change_low"`
		ChangeHigh    *float64 `json:"change_high"`
		P             *float64 `json:"p"`
		Q             *float64 `json:"q"`
		MinDetectable *float64 `json:"min_detectable_change"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Finding(j.plainFinding)
	val := func(p *float64, null float64) float64 {
		if p == nil {
			return null
		}
		return *p
	}
	inf := math.Inf(1)
	f.Baseline = val(j.Baseline, 0)
	f.Current = val(j.Current, 0)
	f.Change = val(j.Change, inf)
	f.ChangeLow = val(j.ChangeLow, inf)
	f.ChangeHigh = val(j.ChangeHigh, inf)
	f.P = val(j.P, 0)
	f.Q = val(j.Q, 0)
	f.MinDetectable = val(j.MinDetectable, 0)
	return nil
}

// ReadResult reads a result in its JSON form (as profdiff compare --format
// json writes it). It refuses a result of another major schema version. A
// result read back has no snapshots behind its series (SeriesResult.Base
// and Cur), so the cause model cannot be run again on it; its causes, call
// trees and findings are as they were written.
func ReadResult(r io.Reader) (*Result, error) {
	var res Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("diff: reading a JSON result: %w", err)
	}
	major, _, _ := strings.Cut(res.SchemaVersion, ".")
	if want, _, _ := strings.Cut(ResultSchemaVersion, "."); major != want {
		return nil, fmt.Errorf("diff: the result has schema version %q; this profdiff reads %s.x (write it again with this profdiff's compare)", res.SchemaVersion, want)
	}
	return &res, nil
}
