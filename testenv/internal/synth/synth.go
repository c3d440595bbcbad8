// Package synth makes synthetic snapshots of the bank stack's fraud
// service, for the tests that judge sides without starting a stack (duets,
// calibration replays, duetnoise): its CPU profile drawn from bench/gen's
// model, with the fraud.rules hot spot's function planted in it.
package synth

import (
	"math/rand/v2"

	"github.com/profdiff/profdiff/bench/gen"
	"github.com/profdiff/profdiff/pkg/baseline"
	"github.com/profdiff/profdiff/services/bank"
)

// Fraud is the fraud.rules hot spot, whose service and function the
// snapshots carry.
var Fraud, _ = bank.HotspotByInject("fraud.rules")

// FraudModel is bench/gen's model of 30 functions drawn with seed, the
// function nearest a fifth of the profile renamed to the hot spot's
// (Fraud.Function) and doing factor times its work (gen.Model.Scale).
func FraudModel(seed uint64, factor float64) *gen.Model {
	m := gen.NewModel(seed, 30)
	hot := m.Closest(0.2)
	m.Rename(hot, Fraud.Function, "services/bank/fraud.go")
	if factor != 1 {
		m = m.Scale(hot, factor)
	}
	return m
}

// Runs draws n single-run snapshots of the fraud service's CPU from m in
// turn, each of windows windows of samples samples with jitter
// (gen.Model.Series): one per run of a baseline, or per pair of a duet's
// side.
func Runs(m *gen.Model, rng *rand.Rand, n, windows, samples int, jitter float64) []*baseline.Snapshot {
	out := make([]*baseline.Snapshot, 0, n)
	for range n {
		s := &baseline.Snapshot{Meta: baseline.Meta{Source: "test"}}
		s.Put(m.Series(rng, Fraud.Service, windows, samples, jitter))
		out = append(out, s)
	}
	return out
}
