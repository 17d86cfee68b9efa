package swarm

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// runCase runs c under the checker and fails t with the shrinkable report.
func runCase(t interface {
	Helper()
	Fatalf(string, ...any)
}, c Case) *sim.Result {
	t.Helper()
	pol, err := broker.Profile(c.Profile)
	if err != nil {
		t.Fatalf("%v", err)
	}
	res, v, err := check.Run(c.Scenario, pol, c.Seed, sim.Options{})
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	if v != nil {
		t.Fatalf("%v\n%s", c, c.Failure(v))
	}
	return res
}

// TestSwarm draws whole small scenarios and holds every run to the
// invariants its profile promises. A failure shrinks to a minimal scenario
// and prints it as YAML with the commands that replay it.
func TestSwarm(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		runCase(t, Gen().Draw(t, "case"))
	})
}

// TestDeterminism runs drawn cases twice: same seed and scenario, same
// digest and same metrics (invariant 17).
func TestDeterminism(t *testing.T) {
	checks := 20
	if testing.Short() {
		checks = 5
	}
	for i := 0; i < checks; i++ {
		c := Gen().Example(i)
		pol, err := broker.Profile(c.Profile)
		if err != nil {
			t.Fatal(err)
		}
		a, err := sim.Run(c.Scenario, pol, c.Seed, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := sim.Run(c.Scenario, pol, c.Seed, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := b.DigestHex(), a.DigestHex(); got != want || b.Events != a.Events {
			t.Errorf("%v: second run digest %s (%d events), first %s (%d events)", c, got, b.Events, want, a.Events)
		}
	}
}

// TestBuiltins sweeps every built-in scenario under every profile for a
// few seeds, scaled down to a handful of devices.
func TestBuiltins(t *testing.T) {
	seeds := uint64(3)
	if testing.Short() {
		seeds = 1
	}
	for _, name := range scenario.Names() {
		for _, profile := range broker.ProfileNames() {
			t.Run(name+"/"+profile, func(t *testing.T) {
				sc, err := scenario.Builtin(name)
				if err != nil {
					t.Fatal(err)
				}
				sc = sc.Scaled(8)
				for seed := uint64(1); seed <= seeds; seed++ {
					res := runCase(t, Case{Scenario: sc, Profile: profile, Seed: seed})
					if m := res.Metrics; m.Copies == 0 && len(m.PublishRefused) == 0 {
						t.Errorf("seed %d: no message was routed or refused; the run checked nothing", seed)
					}
				}
			})
		}
	}
}

// TestYAMLRoundTrip wants every drawn scenario to survive the YAML a
// failure prints: what a user saves is what was run.
func TestYAMLRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Gen().Draw(t, "case")
		doc, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		got, err := scenario.Parse("swarm.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		again, err := Case{Scenario: got}.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if again != doc || got.String() != c.Scenario.String() {
			t.Fatalf("round trip changed the scenario:\ngot\n%s\nwant\n%s", again, doc)
		}
	})
}
