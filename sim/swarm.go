package sim

import (
	"time"

	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/rng"
)

// swarmKnobs draws network fault knobs for swarm testing (Groce et al.,
// "Swarm Testing", ISSTA 2012): each fault is enabled with probability 1/2,
// and an enabled fault's rate is drawn log-uniformly over about two
// decades, so different seeds explore different mixes instead of all
// faults at once.
func swarmKnobs(s *rng.Stream) netsim.Knobs {
	var k netsim.Knobs
	if s.Bool(0.5) {
		k.ResetsPerHour = logUniform(s, 0.01, 2)
	}
	if s.Bool(0.5) {
		k.HalfOpenPerHour = logUniform(s, 0.01, 1)
	}
	if s.Bool(0.5) {
		k.ConnectFail = logUniform(s, 0.005, 0.3)
	}
	if s.Bool(0.5) {
		k.PartitionsPerDay = logUniform(s, 0.1, 4)
		k.PartitionMean = time.Duration(logUniform(s, 10, 3600)) * time.Second
	}
	if s.Bool(0.25) {
		k.OutagesPerDay = logUniform(s, 0.1, 2)
		k.OutageMean = time.Duration(logUniform(s, 30, 1800)) * time.Second
	}
	return k
}

// logUniform draws from [lo, hi) with a uniform logarithm.
func logUniform(s *rng.Stream, lo, hi float64) float64 {
	return lo * rng.Pow(hi/lo, s.Float64())
}
