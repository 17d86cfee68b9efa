package sim_test

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// ExampleRun runs a small steady fleet for ten minutes under the HiveMQ
// profile, twice, and shows that the same seed gives the same run.
func ExampleRun() {
	sc, _ := scenario.Builtin("steady")
	sc = sc.Scaled(50).WithDuration(10 * time.Minute)
	policy, _ := broker.Profile("hivemq")
	fmt.Println(sc)
	fmt.Println("knobs:", sim.Knobs(sc, 42))
	a, _ := sim.Run(sc, policy, 42, sim.Options{})
	b, _ := sim.Run(sc, policy, 42, sim.Options{Wire: true})
	m := a.Metrics
	fmt.Println("conserved:", m.Copies == m.Delivered+m.DroppedTotal+m.Pending)
	fmt.Println("same digest with the byte codec in the loop:", a.Digest == b.Digest)
	// Output:
	// steady: 51 devices in 3 groups, 10m0s + 10m0s healed, 0 events
	// knobs: resets=0.05/h
	// conserved: true
	// same digest with the byte codec in the loop: true
}
