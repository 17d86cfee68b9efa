package sim

import (
	"testing"

	"github.com/sessionlab/sessionlab/sim/rng"
)

func TestSwarmEnablesDifferentSubsets(t *testing.T) {
	enabled := map[string]int{}
	subsets := map[[5]bool]bool{}
	const seeds = 200
	for seed := uint64(0); seed < seeds; seed++ {
		s := rng.New(seed, "netsim/swarm", 0)
		k := swarmKnobs(&s)
		if err := k.Validate(); err != nil {
			t.Fatalf("seed %d: swarmKnobs drew invalid knobs %v: %v", seed, k, err)
		}
		on := [5]bool{k.ResetsPerHour > 0, k.HalfOpenPerHour > 0, k.ConnectFail > 0, k.PartitionsPerDay > 0, k.OutagesPerDay > 0}
		subsets[on] = true
		for i, name := range []string{"resets", "half-open", "connect-fail", "partitions", "outages"} {
			if on[i] {
				enabled[name]++
			}
		}
	}
	if len(subsets) < 20 {
		t.Errorf("%d seeds drew only %d distinct fault subsets", seeds, len(subsets))
	}
	for name, n := range enabled {
		if n == 0 || n == seeds {
			t.Errorf("%s enabled in %d of %d seeds; swarm testing wants it sometimes on, sometimes off", name, n, seeds)
		}
	}
}
