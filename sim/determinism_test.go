package sim

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// cores lists the cores the engine tests run against.
func cores(t *testing.T) []struct {
	name   string
	policy broker.Policy
	opts   Options
} {
	t.Helper()
	type core = struct {
		name   string
		policy broker.Policy
		opts   Options
	}
	out := []core{{"fake", broker.Policy{Name: "fake"}, Options{NewCore: newFakeCore}}}
	for _, name := range broker.ProfileNames() {
		p, err := broker.Profile(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, core{name, p, Options{}})
	}
	return out
}

// TestSameSeedSameDigest is invariant 17 (determinism) for every built-in
// scenario: the same seed gives the same digest and metrics, another seed
// a different digest.
func TestSameSeedSameDigest(t *testing.T) {
	for _, c := range cores(t) {
		for _, name := range scenario.Names() {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				sc := small(t, name, 24, 0)
				a, err := Run(sc, c.policy, 7, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := Run(sc, c.policy, 7, c.opts)
				other, _ := Run(sc, c.policy, 8, c.opts)
				if a.Digest != b.Digest || a.Events != b.Events {
					t.Errorf("same seed: digests %s, %s; events %d, %d", a.DigestHex(), b.DigestHex(), a.Events, b.Events)
				}
				if a.Metrics.Published != b.Metrics.Published || a.Metrics.Received != b.Metrics.Received {
					t.Errorf("same seed, different metrics: %v vs %v", a, b)
				}
				if a.Digest == other.Digest {
					t.Errorf("seeds 7 and 8 give the same digest %s", a.DigestHex())
				}
				if a.Metrics.Published == 0 && len(a.Metrics.PublishRefused) == 0 || a.Events < 100 {
					t.Errorf("run did too little: %v", a)
				}
			})
		}
	}
}

// TestWireModeChangesNothing runs with every packet encoded and decoded:
// a faithful codec leaves the whole trace, and so the digest, unchanged.
func TestWireModeChangesNothing(t *testing.T) {
	for _, c := range cores(t) {
		sc := small(t, "flaky-cellular", 20, 30*time.Minute)
		plain, err := Run(sc, c.policy, 3, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		wopts := c.opts
		wopts.Wire = true
		wired, _ := Run(sc, c.policy, 3, wopts)
		if wired.Metrics.WireErrors != 0 {
			t.Errorf("%s: %d packets did not survive the codec", c.name, wired.Metrics.WireErrors)
		}
		if plain.Digest != wired.Digest {
			t.Errorf("%s: digest %s plain, %s wired", c.name, plain.DigestHex(), wired.DigestHex())
		}
	}
}

// connectLog is an Observer recording when each CONNECT reaches the broker.
type connectLog struct{ at map[string][]time.Duration }

func (l *connectLog) Step(rec *broker.Record) {
	if c, ok := rec.Input.Packet.(*packet.Connect); ok {
		l.at[c.ClientID] = append(l.at[c.ClientID], rec.At)
	}
}
func (l *connectLog) Received(broker.Time, string, *packet.Publish) {}

// TestAddingADeviceChangesNoOtherDevice checks that randomness is split
// per device: with one more device in the fleet, every other device
// connects at exactly the same instants.
func TestAddingADeviceChangesNoOtherDevice(t *testing.T) {
	sc, _ := scenario.Builtin("flaky-cellular")
	sc.Groups = []scenario.Group{sc.Groups[0]} // telemetry only: no routing between devices
	sc.Groups[0].Count = 5
	sc.Duration = time.Hour
	logs := [2]*connectLog{{map[string][]time.Duration{}}, {map[string][]time.Duration{}}}
	for i, l := range logs {
		sc.Groups[0].Count = 5 + i
		if _, err := Run(sc, broker.Policy{Name: "fake"}, 11, Options{NewCore: newFakeCore, Observer: l}); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range logs[0].at {
		got := logs[1].at[id]
		if len(got) != len(want) || len(want) < 2 {
			t.Fatalf("%s connects at %v with 6 devices, %v with 5 (want several, equal)", id, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s connect %d at %v with 6 devices, %v with 5", id, i, got[i], want[i])
			}
		}
	}
}

// goldenDigests pins the digest of every built-in scenario, shrunk to 12
// devices, seed 99, under the test core: the simulator's own behaviour
// (engine, network, clients, workload) on any machine and Go version. A
// deliberate change to any of them changes these; update them then, and
// say why in the commit. (Digests under the real core are not pinned here:
// the core evolves on its own.)
var goldenDigests = []struct {
	scenario string
	digest   string
	events   int64
}{
	{"steady", "b3039f7d2d01d799", 3860},
	{"nightly-offline", "cec91e749a5c8dbd", 54667},
	{"outage-storm", "86dd4a5c0eb236ae", 8715},
	{"flaky-cellular", "42233a4ac50b6544", 9107},
	{"expiry-cliff", "9f23d2fa0198dc22", 15966},
	{"overflow", "8e7d4811b97d518a", 120887},
	{"exactly-once", "f75b21de7ec77caa", 3915},
	{"broker-crash", "85dbc0eaa9e15075", 17571},
	{"swarm", "171ddcf6949aacb5", 8700},
	{"ttl-edge", "1a614415682654bc", 10922},
	{"mixed", "7c44423d6b32f283", 36995},
}

func TestGoldenDigests(t *testing.T) {
	if got, want := len(goldenDigests), len(scenario.Names()); got != want {
		t.Errorf("%d golden digests for %d built-in scenarios", got, want)
	}
	for _, g := range goldenDigests {
		res, err := Run(small(t, g.scenario, 12, 0), broker.Policy{Name: "fake"}, 99, Options{NewCore: newFakeCore})
		if err != nil {
			t.Fatal(err)
		}
		if res.DigestHex() != g.digest || res.Events != g.events {
			t.Errorf("%s: digest %s after %d events, want %s after %d", g.scenario, res.DigestHex(), res.Events, g.digest, g.events)
		}
	}
}

// TestConcurrentRunsAgree runs the same seed in parallel goroutines, as
// the CLI does with one run per profile: runs share no state, so the
// digests agree (run with -race to check for shared state directly).
func TestConcurrentRunsAgree(t *testing.T) {
	sc := small(t, "mixed", 20, 3*time.Hour)
	p := profile(t, "emqx")
	digests := make([]uint64, 4)
	done := make(chan int)
	for i := range digests {
		go func() {
			res, err := Run(sc, p, 21, Options{Wire: i%2 == 1})
			if err == nil {
				digests[i] = res.Digest
			}
			done <- i
		}()
	}
	for range digests {
		<-done
	}
	for i, d := range digests {
		if d == 0 || d != digests[0] {
			t.Fatalf("digests %x: run %d differs", digests, i)
		}
	}
}
