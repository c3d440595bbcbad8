package diff

import (
	"encoding/json"
	"math"
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
