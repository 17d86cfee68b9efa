// Package rng derives independent, reproducible random streams from one
// simulation seed.
//
// Every component of a run (a device, a link, the swarm knob draw) owns its
// own Stream, keyed by the run seed, a component name and an index. Streams
// never share state, so adding a device or drawing one more number in one
// component leaves every other component's numbers unchanged. The generator
// is SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number
// generators", OOPSLA 2014): one uint64 of state, full period 2^64, and it
// passes BigCrush, which is plenty for fault injection and jitter.
package rng

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// golden is the SplitMix64 increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// Stream is one SplitMix64 random stream. The zero value is a valid stream
// (seeded with 0); use New to derive a keyed one. A Stream is a value: copy it
// to fork a replayable copy, pass a pointer to share it.
type Stream struct{ state uint64 }

// New returns the stream for component name and index under seed. The same
// three inputs give the same stream on every machine.
func New(seed uint64, name string, index int) Stream {
	h := mix(seed ^ golden)
	for i := 0; i < len(name); i++ { // FNV-1a over the name, folded into h
		h = (h ^ uint64(name[i])) * 0x100000001b3
	}
	h = mix(h ^ uint64(index)*golden)
	return Stream{state: h}
}

// mix is the SplitMix64 output function (a bijective finaliser).
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Uint64 returns the next 64 uniformly random bits.
func (s *Stream) Uint64() uint64 {
	s.state += golden
	return mix(s.state)
}

// Float64 returns a uniform number in [0, 1).
func (s *Stream) Float64() float64 {
	return float64(s.Uint64()>>11) / (1 << 53)
}

// Intn returns a uniform integer in [0, n), and 0 when n <= 0. It uses
// Lemire's multiply-shift with rejection, so there is no modulo bias.
func (s *Stream) Intn(n int) int {
	if n <= 0 {
		return 0
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(s.Uint64(), bound)
	if lo < bound {
		floor := -bound % bound
		for lo < floor {
			hi, lo = bits.Mul64(s.Uint64(), bound)
		}
	}
	return int(hi)
}

// Bool returns true with probability p (clamped to [0, 1]).
func (s *Stream) Bool(p float64) bool {
	return s.Float64() < p
}

// Exp returns an exponentially distributed duration with the given mean, the
// waiting time of a Poisson process; 0 when mean <= 0.
func (s *Stream) Exp(mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	u := 1 - s.Float64() // (0, 1]
	return clamp(-log(u) * float64(mean))
}

// Uniform returns a duration uniform in [lo, hi); lo when hi <= lo.
func (s *Stream) Uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.Uint64()%uint64(hi-lo))
}

// Normal returns a standard normal variate (Marsaglia's polar method, one
// of the pair: no trigonometry, so it is portable; see log).
func (s *Stream) Normal() float64 {
	for {
		u := float64(2*s.Float64()) - 1 // explicit rounding: no fused multiply-add
		v := float64(2*s.Float64()) - 1
		q := float64(u*u) + float64(v*v)
		if q > 0 && q < 1 {
			return u * math.Sqrt(-2*log(q)/q)
		}
	}
}

// LogNormal returns a log-normal duration with the given median and shape
// sigma (the standard deviation of its logarithm); median when sigma <= 0.
func (s *Stream) LogNormal(median time.Duration, sigma float64) time.Duration {
	if sigma <= 0 {
		return median
	}
	return clamp(float64(median) * exp(sigma*s.Normal()))
}

// Pareto returns a Pareto (type I) duration with scale xm (its minimum) and
// shape alpha; smaller alpha means a heavier tail. It returns xm when
// alpha <= 0.
func (s *Stream) Pareto(xm time.Duration, alpha float64) time.Duration {
	if alpha <= 0 {
		return xm
	}
	u := 1 - s.Float64()
	return clamp(float64(xm) / pow(u, 1/alpha))
}

// maxDuration caps drawn durations at about 292 years / 4 so that adding
// them to a virtual clock can never overflow.
const maxDuration = time.Duration(math.MaxInt64 / 4)

// clamp converts a float nanosecond count to a Duration in [0, maxDuration].
func clamp(ns float64) time.Duration {
	switch {
	case ns <= 0 || math.IsNaN(ns):
		return 0
	case ns >= float64(maxDuration):
		return maxDuration
	}
	return time.Duration(ns)
}

// String describes the stream's position for traces, e.g. "rng(9e37…)".
func (s Stream) String() string { return fmt.Sprintf("rng(%016x)", s.state) }

// Pow returns x**y for x > 0, computed portably: bit-identical on every
// platform, unlike math.Pow (see log in portable.go).
func Pow(x, y float64) float64 { return pow(x, y) }
