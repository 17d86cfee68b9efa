package netsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// testRand is the Rand of netsim's own tests: math/rand/v2's PCG with the
// textbook distributions. (The simulator passes its portable streams,
// sim/rng, which netsim must not import.)
type testRand struct{ r *rand.Rand }

func newTestRand(seed uint64, index int) *testRand {
	return &testRand{rand.New(rand.NewPCG(seed, uint64(index)))}
}

// seeded returns a Config.HostRand giving host h the stream (seed, h).
func seeded(seed uint64) func(int) Rand {
	return func(h int) Rand { return newTestRand(seed, h) }
}

func (t *testRand) Float64() float64    { return t.r.Float64() }
func (t *testRand) Bool(p float64) bool { return t.r.Float64() < p }

func (t *testRand) Exp(mean time.Duration) time.Duration {
	return clampTest(t.r.ExpFloat64() * float64(mean))
}

func (t *testRand) Uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(t.r.Int64N(int64(hi-lo)))
}

func (t *testRand) LogNormal(median time.Duration, sigma float64) time.Duration {
	if sigma <= 0 {
		return median
	}
	return clampTest(float64(median) * math.Exp(sigma*t.r.NormFloat64()))
}

func (t *testRand) Pareto(xm time.Duration, alpha float64) time.Duration {
	if alpha <= 0 {
		return xm
	}
	return clampTest(float64(xm) / math.Pow(1-t.r.Float64(), 1/alpha))
}

// clampTest converts nanoseconds to a Duration that cannot overflow a clock.
func clampTest(ns float64) time.Duration {
	const limit = math.MaxInt64 / 4
	if ns >= limit || math.IsNaN(ns) {
		return limit
	}
	return time.Duration(max(ns, 0))
}
