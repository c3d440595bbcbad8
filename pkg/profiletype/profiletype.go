// Package profiletype names the profile types profdiff compares.
//
// Grafana Pyroscope identifies a profile type by an ID of five colon-separated
// parts, "<name>:<sample type>:<sample unit>:<period type>:<period unit>", for
// example "process_cpu:cpu:nanoseconds:cpu:nanoseconds". People would rather
// type "cpu", so this package maps short aliases (and the groups "alloc" and
// "lock") to those IDs and back. The full ID is always accepted as well, so a
// profile type profdiff has no alias for can still be gated.
package profiletype

import (
	"fmt"
	"sort"
	"strings"
)

// ID is a parsed Pyroscope profile type ID.
type ID struct {
	Name       string // e.g. "process_cpu", "memory", "mutex"
	SampleType string // e.g. "cpu", "alloc_space", "delay"
	SampleUnit string // e.g. "nanoseconds", "bytes", "count"
	PeriodType string // e.g. "cpu", "space", "contentions"
	PeriodUnit string // e.g. "nanoseconds", "bytes", "count"
}

// String returns the five-part Pyroscope form of the ID.
func (id ID) String() string {
	return id.Name + ":" + id.SampleType + ":" + id.SampleUnit + ":" + id.PeriodType + ":" + id.PeriodUnit
}

// Alias returns the short alias of id, or its full form when it has none.
func (id ID) Alias() string {
	s := id.String()
	for _, a := range aliases {
		if a.id == s {
			return a.alias
		}
	}
	return s
}

// Kind groups profile types by what they measure, which decides how a
// regression is worded and which SARIF rule it falls under.
type Kind string

// The kinds of profile types.
const (
	KindCPU       Kind = "cpu"
	KindAlloc     Kind = "alloc"
	KindInuse     Kind = "inuse"
	KindLock      Kind = "lock"
	KindBlock     Kind = "block"
	KindGoroutine Kind = "goroutine"
	KindOther     Kind = "other"
)

// Kind reports what the profile type measures.
func (id ID) Kind() Kind {
	switch {
	case id.Name == "process_cpu" || id.SampleType == "cpu":
		return KindCPU
	case id.Name == "memory" && strings.HasPrefix(id.SampleType, "alloc_"):
		return KindAlloc
	case id.Name == "memory" && strings.HasPrefix(id.SampleType, "inuse_"):
		return KindInuse
	case id.Name == "mutex":
		return KindLock
	case id.Name == "block":
		return KindBlock
	case id.Name == "goroutine" || id.Name == "goroutines":
		return KindGoroutine
	}
	return KindOther
}

var aliases = []struct{ alias, id string }{
	{"cpu", "process_cpu:cpu:nanoseconds:cpu:nanoseconds"},
	{"alloc_space", "memory:alloc_space:bytes:space:bytes"},
	{"alloc_objects", "memory:alloc_objects:count:space:bytes"},
	{"inuse_space", "memory:inuse_space:bytes:space:bytes"},
	{"inuse_objects", "memory:inuse_objects:count:space:bytes"},
	{"mutex_delay", "mutex:delay:nanoseconds:contentions:count"},
	{"mutex_count", "mutex:contentions:count:contentions:count"},
	{"block_delay", "block:delay:nanoseconds:contentions:count"},
	{"block_count", "block:contentions:count:contentions:count"},
	{"goroutines", "goroutine:goroutine:count:goroutine:count"},
}

var groups = map[string][]string{
	"alloc": {"alloc_space", "alloc_objects"},
	"lock":  {"mutex_delay", "mutex_count"},
	"inuse": {"inuse_space", "inuse_objects"},
	"block": {"block_delay", "block_count"},
}

// Aliases returns every alias and group name, sorted, for help texts.
func Aliases() []string {
	var out []string
	for _, a := range aliases {
		out = append(out, a.alias)
	}
	for g := range groups {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// ParseID parses a full five-part profile type ID.
func ParseID(s string) (ID, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 5 {
		return ID{}, fmt.Errorf("profile type %q: want an alias (%s) or a full ID name:sample_type:sample_unit:period_type:period_unit", s, strings.Join(Aliases(), ", "))
	}
	for i, p := range parts {
		if p == "" {
			return ID{}, fmt.Errorf("profile type %q: part %d is empty", s, i+1)
		}
	}
	return ID{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}

// Parse resolves an alias, a group or a full ID to one or more IDs.
func Parse(s string) ([]ID, error) {
	s = strings.TrimSpace(s)
	if members, ok := groups[s]; ok {
		var out []ID
		for _, m := range members {
			ids, _ := Parse(m)
			out = append(out, ids...)
		}
		return out, nil
	}
	for _, a := range aliases {
		if a.alias == s {
			id, err := ParseID(a.id)
			return []ID{id}, err
		}
	}
	id, err := ParseID(s)
	if err != nil {
		return nil, err
	}
	return []ID{id}, nil
}

// ParseList resolves several aliases, groups or IDs (each may itself be a
// comma-separated list) into a de-duplicated list in first-seen order.
func ParseList(items []string) ([]ID, error) {
	var out []ID
	seen := map[string]bool{}
	for _, item := range items {
		for _, s := range strings.Split(item, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			ids, err := Parse(s)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if !seen[id.String()] {
					seen[id.String()] = true
					out = append(out, id)
				}
			}
		}
	}
	return out, nil
}

// Default is the set of profile types profdiff collects and gates when none
// is named: CPU, allocations and lock contention (docs/cli.md, "Profile
// types").
func Default() []ID {
	ids, _ := ParseList([]string{"cpu", "alloc", "lock"})
	return ids
}

// MustAlias returns the alias of a full ID string, or the string itself when
// it has no alias or does not parse.
func MustAlias(s string) string {
	id, err := ParseID(s)
	if err != nil {
		return s
	}
	return id.Alias()
}

// Companion returns the profile type that counts the same sampling events
// in the other unit — alloc_space for alloc_objects and back, a lock's
// contention count for its delay and back — and whether there is one. A
// merged profile from Pyroscope holds one sample type only, and how many
// events make up a value (the sampling weight) needs both: a sampled 16-byte
// allocation stands for about R/16 objects, a sampled 1 MiB one for one.
func (id ID) Companion() (ID, bool) {
	c := id
	switch {
	case id.Name == "memory" && strings.HasSuffix(id.SampleType, "_objects"):
		c.SampleType, c.SampleUnit = strings.TrimSuffix(id.SampleType, "_objects")+"_space", "bytes"
	case id.Name == "memory" && strings.HasSuffix(id.SampleType, "_space"):
		c.SampleType, c.SampleUnit = strings.TrimSuffix(id.SampleType, "_space")+"_objects", "count"
	case (id.Name == "mutex" || id.Name == "block") && id.SampleType == "delay":
		c.SampleType, c.SampleUnit = "contentions", "count"
	case (id.Name == "mutex" || id.Name == "block") && id.SampleType == "contentions":
		c.SampleType, c.SampleUnit = "delay", "nanoseconds"
	default:
		return ID{}, false
	}
	return c, true
}
