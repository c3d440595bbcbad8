//go:build race

package bank

// raceEnabled reports a -race build, whose instrumentation distorts timing.
const raceEnabled = true
