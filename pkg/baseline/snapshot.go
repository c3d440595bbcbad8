// Package baseline defines profdiff's snapshot: one run's profile
// measurements, kept in the shape the comparison needs, and stored on disk as
// a directory small enough to commit to git. Its job is that model, its
// on-disk store and codec, and merging the snapshots of several runs
// (MergeRuns); turning pprof profiles into a series' windows is package
// reduce's.
//
// A snapshot holds, per (service, profile type), a Series: an ordered list of
// time windows, each the self and cumulative value of every function in one
// profile covering that window, plus the window's total. A baseline is simply
// an accepted snapshot, in the same format.
//
// Keeping per-window values (rather than one merged profile) is what lets the
// comparison see how much a function's share varies from window to window, and
// so tell a real regression from sampling noise. Keeping the merged call
// stacks lets reports draw a differential flame graph.
//
// On disk a snapshot is a directory with a versioned manifest.json and one
// gzipped JSON file per series. Writes are atomic: series files are named by
// their content hash and the manifest is replaced by a rename, so a crash or
// Ctrl-C mid-write leaves the previous snapshot readable and intact.
package baseline

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/profdiff/profdiff/pkg/profiletype"
)

// SchemaVersion is the version of the on-disk format this package writes.
// Readers accept any minor version of the same major version and refuse other
// majors, so an old profdiff never misreads a newer baseline.
const SchemaVersion = "1.1"

// Snapshot is one run's measurement: metadata and one Series per
// (service, profile type).
type Snapshot struct {
	Meta   Meta
	Series []*Series
}

// Meta describes where and when a snapshot was taken.
type Meta struct {
	ProfdiffVersion string            `json:"profdiff_version"`
	CreatedAt       time.Time         `json:"created_at"`
	Source          string            `json:"source,omitempty"` // e.g. "pyroscope http://127.0.0.1:4040" or "pprof files"
	From            time.Time         `json:"from,omitzero"`
	Until           time.Time         `json:"until,omitzero"`
	Window          Duration          `json:"window,omitempty"`
	Selector        string            `json:"selector,omitempty"` // Prometheus-style matchers used to select profiles
	Labels          map[string]string `json:"labels,omitempty"`
	GitCommit       string            `json:"git_commit,omitempty"`
}

// Series is the measurement of one profile type of one service.
type Series struct {
	Service     string    `json:"service"`
	ProfileType string    `json:"profile_type"` // full Pyroscope ID
	SampleType  ValueType `json:"sample_type"`
	PeriodType  ValueType `json:"period_type,omitzero"`
	Period      int64     `json:"period,omitempty"`
	// Functions is the function table that Windows and Stacks index into.
	Functions []Function `json:"functions"`
	Windows   []Window   `json:"windows"`
	// Stacks are the call stacks merged over all windows, for flame graphs.
	Stacks []Stack `json:"stacks,omitempty"`
}

// NewSeries returns an empty series for service and profile type pt, ready
// for windows (package reduce adds them from pprof profiles).
func NewSeries(service string, pt profiletype.ID) *Series {
	return &Series{
		Service:     service,
		ProfileType: pt.String(),
		SampleType:  ValueType{Type: pt.SampleType, Unit: pt.SampleUnit},
		PeriodType:  ValueType{Type: pt.PeriodType, Unit: pt.PeriodUnit},
	}
}

// ValueType is a pprof value type: what is measured and in which unit.
type ValueType struct {
	Type string `json:"type"`
	Unit string `json:"unit"`
}

func (v ValueType) String() string { return v.Type + "/" + v.Unit }

// Function is one entry of a series' function table. Name is the identity
// functions are compared by (package reduce normalizes it: closure numbers
// and generic type arguments replaced by placeholders); RawName is the name
// the profile carried when it differs.
type Function struct {
	Name    string `json:"name"`
	RawName string `json:"raw,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int64  `json:"line,omitempty"`
	// SelfVW and CumVW sum, over the series' windows, each sampled value
	// of the function (self, cumulative) times the value one of its
	// sampling events stands for. Divided by the function's summed value
	// they are the mean weight of its events, which sets the variance
	// sampling alone gives it: a function of tiny objects in an allocation
	// profile weighs thousands of objects an event, one of 1 MiB buffers
	// one. 0 when the profile's sampling could not tell (see package
	// reduce's WindowOptions.Companion).
	SelfVW float64 `json:"self_vw,omitempty"`
	CumVW  float64 `json:"cum_vw,omitempty"`
}

// DisplayName returns the raw name when there is one, else the identity.
func (f Function) DisplayName() string {
	if f.RawName != "" {
		return f.RawName
	}
	return f.Name
}

// Window is what the comparison needs from one profile covering
// [Start, End): the profile's total and every function's self and cumulative
// value, as sparse lists sorted by function index.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Total int64     `json:"total"`
	// Samples estimates how many sampling events the window holds (e.g. CPU
	// time divided by the sampling period); 0 means unknown. It bounds how
	// precisely a share can be known, whatever the windows agree on.
	Samples int64 `json:"samples,omitempty"`
	Period  int64 `json:"period,omitempty"`
	// Run numbers the independent run (one start of the services) the
	// window was measured in, when a snapshot merges several (MergeRuns).
	// Windows of one run share whatever that run did differently — a
	// process's memory layout, its scheduling, its lock timing — so the
	// comparison can tell run-to-run variation from window-to-window noise.
	Run  int32  `json:"run,omitempty"`
	Self Values `json:"self"`
	Cum  Values `json:"cum"`
}

// Seconds is the window's length, or 0 when it is unknown.
func (w Window) Seconds() float64 {
	if w.End.After(w.Start) {
		return w.End.Sub(w.Start).Seconds()
	}
	return 0
}

// Value is one function's value in a window.
type Value struct {
	F int32 // index into Series.Functions
	V int64
}

// Values is a sparse list of function values sorted by function index. It is
// stored as a flat JSON array [f0,v0,f1,v1,...] to keep baselines small.
type Values []Value

// Get returns the value of function f, or 0.
func (vs Values) Get(f int32) int64 {
	i := sort.Search(len(vs), func(i int) bool { return vs[i].F >= f })
	if i < len(vs) && vs[i].F == f {
		return vs[i].V
	}
	return 0
}

// MarshalJSON writes the flat [f,v,f,v,...] form.
func (vs Values) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(vs)*12+2)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v.F), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, v.V, 10)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads the flat [f,v,f,v,...] form.
func (vs *Values) UnmarshalJSON(b []byte) error {
	flat, ok := parseIntArray(b, nil)
	if !ok {
		if err := json.Unmarshal(b, &flat); err != nil {
			return err
		}
	}
	if len(flat)%2 != 0 {
		return fmt.Errorf("values: odd length %d, want [function,value,...] pairs", len(flat))
	}
	out := make(Values, len(flat)/2)
	for i := range out {
		f := flat[2*i]
		if f < 0 || f > math.MaxInt32 {
			return fmt.Errorf("values: function index %d out of range", f)
		}
		out[i] = Value{F: int32(f), V: flat[2*i+1]}
	}
	*vs = out
	return nil
}

// Stack is one call stack and its value summed over all windows. Frames are
// function indices, root first.
type Stack struct {
	Frames []int32
	Value  int64
}

// MarshalJSON writes the flat [value, root, ..., leaf] form.
func (s Stack) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(s.Frames)*6+16)
	b = append(b, '[')
	b = strconv.AppendInt(b, s.Value, 10)
	for _, f := range s.Frames {
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(f), 10)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads the flat [value, root, ..., leaf] form.
func (s *Stack) UnmarshalJSON(b []byte) error {
	var buf [32]int64
	flat, ok := parseIntArray(b, buf[:0])
	if !ok {
		if err := json.Unmarshal(b, &flat); err != nil {
			return err
		}
	}
	if len(flat) < 2 {
		return fmt.Errorf("stack: want [value, frame, ...], got %d numbers", len(flat))
	}
	s.Value = flat[0]
	s.Frames = make([]int32, len(flat)-1)
	for i, f := range flat[1:] {
		if f < 0 || f > math.MaxInt32 {
			return fmt.Errorf("stack: function index %d out of range", f)
		}
		s.Frames[i] = int32(f)
	}
	return nil
}

// Duration is a time.Duration that reads and writes as "10s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Lookup returns the series of (service, profileType), or nil.
func (s *Snapshot) Lookup(service, profileType string) *Series {
	for _, se := range s.Series {
		if se.Service == service && se.ProfileType == profileType {
			return se
		}
	}
	return nil
}

// Put adds a series, replacing any with the same service and profile type,
// and keeps Series sorted by service then profile type.
func (s *Snapshot) Put(se *Series) {
	for i, old := range s.Series {
		if old.Service == se.Service && old.ProfileType == se.ProfileType {
			s.Series[i] = se
			return
		}
	}
	s.Series = append(s.Series, se)
	sort.Slice(s.Series, func(i, j int) bool {
		a, b := s.Series[i], s.Series[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ProfileType < b.ProfileType
	})
}

// Services returns the distinct service names, sorted.
func (s *Snapshot) Services() []string {
	seen := map[string]bool{}
	var out []string
	for _, se := range s.Series {
		if !seen[se.Service] {
			seen[se.Service] = true
			out = append(out, se.Service)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks the invariants the comparison relies on. Errors name the
// series and window at fault.
func (s *Snapshot) Validate() error {
	seen := map[string]bool{}
	for _, se := range s.Series {
		key := se.Service + " " + se.ProfileType
		if seen[key] {
			return fmt.Errorf("series %s %s appears twice", se.Service, se.ProfileType)
		}
		seen[key] = true
		if err := se.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks one series, as pprof's CheckValid checks a profile: names
// present, the sample type the profile type's, indices in range, values
// non-negative, self never above cumulative and self values summing to no
// more than the window's total.
func (se *Series) Validate() error {
	where := fmt.Sprintf("series %s %s", se.Service, se.ProfileType)
	if se.Service == "" {
		return fmt.Errorf("series with profile type %q: empty service name", se.ProfileType)
	}
	if strings.ContainsAny(se.Service, "/\\\x00") || se.Service == "." || se.Service == ".." {
		return fmt.Errorf("%s: service name may not contain '/', '\\' or NUL", where)
	}
	id, err := profiletype.ParseID(se.ProfileType)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	if se.SampleType.Type == "" {
		return fmt.Errorf("%s: empty sample type", where)
	}
	// The profile type names its sample type: a series whose values are
	// of another kind would be compared as if they were these.
	if se.SampleType.Type != id.SampleType || se.SampleType.Unit != id.SampleUnit {
		return fmt.Errorf("%s: sample type %s contradicts its profile type, whose samples are %s/%s", where, se.SampleType, id.SampleType, id.SampleUnit)
	}
	n := int32(len(se.Functions))
	for i, f := range se.Functions {
		if f.Name == "" {
			return fmt.Errorf("%s: function %d has no name", where, i)
		}
	}
	for wi, w := range se.Windows {
		ww := fmt.Sprintf("%s window %d", where, wi)
		if w.Total < 0 || w.Samples < 0 {
			return fmt.Errorf("%s: negative total or sample count", ww)
		}
		if !w.End.IsZero() && w.End.Before(w.Start) {
			return fmt.Errorf("%s: ends before it starts", ww)
		}
		for _, list := range []struct {
			name string
			vs   Values
		}{{"self", w.Self}, {"cum", w.Cum}} {
			prev := int32(-1)
			for _, v := range list.vs {
				if v.F < 0 || v.F >= n {
					return fmt.Errorf("%s: %s refers to function %d of %d", ww, list.name, v.F, n)
				}
				if v.F <= prev {
					return fmt.Errorf("%s: %s not sorted by function", ww, list.name)
				}
				if v.V < 0 {
					return fmt.Errorf("%s: %s value of %s is negative", ww, list.name, se.Functions[v.F].Name)
				}
				prev = v.F
			}
		}
		// Self values split the window's total among the functions whose
		// own code was sampled, so they cannot add up to more than it; a
		// window that says otherwise would give shares above 100%.
		var selfSum int64
		for _, v := range w.Self {
			if selfSum > math.MaxInt64-v.V {
				return fmt.Errorf("%s: self values sum past the int64 maximum", ww)
			}
			selfSum += v.V
		}
		if selfSum > w.Total {
			return fmt.Errorf("%s: total %d is less than the sum of its functions' self values (%d)", ww, w.Total, selfSum)
		}
		// Both lists are sorted (checked above): one merge walk finds each
		// self value's cumulative value, where a Get per value would be a
		// binary search each.
		j := 0
		for _, v := range w.Self {
			for j < len(w.Cum) && w.Cum[j].F < v.F {
				j++
			}
			var c int64
			if j < len(w.Cum) && w.Cum[j].F == v.F {
				c = w.Cum[j].V
			}
			if v.V > c {
				return fmt.Errorf("%s: self value of %s (%d) exceeds its cumulative value (%d)", ww, se.Functions[v.F].Name, v.V, c)
			}
		}
	}
	for si, st := range se.Stacks {
		if len(st.Frames) == 0 {
			return fmt.Errorf("%s: stack %d is empty", where, si)
		}
		if st.Value < 0 {
			return fmt.Errorf("%s: stack %d has a negative value (a sum past the int64 maximum?)", where, si)
		}
		for _, f := range st.Frames {
			if f < 0 || f >= n {
				return fmt.Errorf("%s: stack %d refers to function %d of %d", where, si, f, n)
			}
		}
	}
	return nil
}
