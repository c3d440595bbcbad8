// Package reduce turns pprof profiles into the windows of a snapshot
// series: each profile, covering one time window, becomes a
// baseline.Window holding the profile's total and every function's self
// and cumulative value, and its call stacks are merged into the series'.
//
// Windows are kept, rather than the profiles merged into one, because
// how much a function's share varies from window to window is what lets
// the comparison tell a real regression from sampling noise. To that end
// the reduction also estimates how many sampling events each window holds
// and what each of a function's events weighs (baseline.Window.Samples,
// baseline.Function.SelfVW): the variance sampling alone gives a value
// depends on them, and a pprof value does not say them directly (see
// WindowOptions).
//
// Functions are known by a normalized name (NormalizeFunctionName), so
// that a closure renumbered or a generic instantiated differently by
// another build is still the same function.
//
// Profiles come from a parsed *profile.Profile (AddProfile, as a
// Pyroscope client has them) or from pprof files (AddProfileFiles), which
// are decoded straight from the protobuf wire format, several at a time,
// with the series' function and stack indexes kept across windows: the
// fast path `profdiff snapshot` and `profdiff compare DIR DIR` take.
//
// Data moves one way: pprof, then this package, then package baseline's
// snapshot model and its on-disk store. Package baseline does not import
// this one.
package reduce
