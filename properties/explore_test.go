package properties

import (
	"flag"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/model"
)

var exploreDepth = flag.Int("explore.depth", 6, "depth of TestExplore's breadth-first search")

// TestExplore explores every interleaving of SmallAlphabet (two clients, two
// topics, at most three messages) up to -explore.depth operations under
// every profile (at most 4 with -short), checking the core against the model
// and the per-session specification in every reachable state. Packet ids
// start just before the 16-bit wrap (NearWrap), so paths with two messages
// to one session cross it (from depth 5); the search reaches as many states
// as from id 1, so the wrap costs nothing.
func TestExplore(t *testing.T) {
	for _, name := range broker.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			pol, err := broker.Profile(name)
			if err != nil {
				t.Fatal(err)
			}
			depth := *exploreDepth
			if testing.Short() {
				depth = min(depth, 4)
			}
			e := Explorer{Policy: pol, Clients: 2, Alphabet: SmallAlphabet(pol), Depth: depth, MaxMessages: 3, Counters: NearWrap()}
			rep := e.Run()
			if rep.Violation != nil {
				t.Fatal(rep)
			}
			if rep.Depth != e.Depth {
				t.Fatalf("stopped at depth %d of %d: %v", rep.Depth, e.Depth, rep)
			}
			t.Logf("%s: %v", name, rep)
		})
	}
}

// TestExploreFindsShortestPath plants a bug (the model believes the
// in-flight window is 1) and checks that the explorer finds it along a
// shortest path: connect, subscribe, publish twice.
func TestExploreFindsShortestPath(t *testing.T) {
	pol, err := broker.Profile("hivemq")
	if err != nil {
		t.Fatal(err)
	}
	mutant := pol
	mutant.InflightWindow = 1
	e := Explorer{Policy: pol, Clients: 2, Alphabet: SmallAlphabet(pol), Depth: 6, MaxMessages: 3,
		mutate: func(l *Lockstep) { l.model = model.New(mutant) }}
	rep := e.Run()
	if rep.Violation == nil {
		t.Fatalf("no violation found: %v", rep)
	}
	if got, want := len(rep.Path), 4; got != want {
		t.Errorf("path of %d operations, want %d:\n%v", got, want, rep)
	}
	t.Logf("found as expected: %v", rep)
}
