package netsim

import "time"

// Rand is the randomness a Network draws from: one deterministic stream
// per host (Config.HostRand, Network.SetHostStream). netsim owns no
// generator; the simulator passes its own streams (package sim/rng), so the
// draws, and so the runs, are the simulator's to reproduce.
type Rand interface {
	// Float64 returns a number uniform in [0, 1).
	Float64() float64
	// Bool returns true with probability p.
	Bool(p float64) bool
	// Exp returns an exponentially distributed duration of the given mean.
	Exp(mean time.Duration) time.Duration
	// Uniform returns a duration uniform in [lo, hi); lo when hi <= lo.
	Uniform(lo, hi time.Duration) time.Duration
	// LogNormal returns a log-normal duration of the given median and
	// sigma; median when sigma <= 0.
	LogNormal(median time.Duration, sigma float64) time.Duration
	// Pareto returns a Pareto (type I) duration of minimum xm and shape
	// alpha; xm when alpha <= 0.
	Pareto(xm time.Duration, alpha float64) time.Duration
}
