package check

import (
	"time"

	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// countingObserver counts what it is handed, to prove the chaining of
// sim.Observer and of the optional sim.PhaseObserver and sim.DeviceObserver.
type countingObserver struct{ inputs, outputs, received, healed, ups, downs int }

func (o *countingObserver) Healed(broker.Time)                 { o.healed++ }
func (o *countingObserver) DeviceUp(broker.Time, string, bool) { o.ups++ }
func (o *countingObserver) DeviceDown(broker.Time, string)     { o.downs++ }

func (o *countingObserver) Step(rec *broker.Record) { o.inputs++; o.outputs += len(rec.Outputs) }
func (o *countingObserver) Received(broker.Time, string, *packet.Publish) {
	o.received++
}

// TestRunSteady runs a small steady fleet under every profile: the real
// core passes, the checker saw the whole run, and the chained observer saw
// it too.
func TestRunSteady(t *testing.T) {
	for _, name := range broker.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Builtin("steady")
			if err != nil {
				t.Fatal(err)
			}
			sc = sc.Scaled(12)
			next := &countingObserver{}
			res, v, err := Run(sc, profile(t, name), 7, sim.Options{Observer: next})
			if err != nil {
				t.Fatal(err)
			}
			if v != nil {
				t.Fatalf("got violation:\n%s", v.Report())
			}
			if next.inputs == 0 || next.outputs == 0 || next.received == 0 || next.healed != 1 || next.ups == 0 {
				t.Errorf("chained observer saw %+v, want every kind of call", *next)
			}
			if got := res.Metrics.Copies; got != res.Metrics.Delivered+res.Metrics.DroppedTotal+res.Metrics.Pending || got == 0 {
				t.Errorf("copies %d != delivered %d + dropped %d + pending %d", got, res.Metrics.Delivered, res.Metrics.DroppedTotal, res.Metrics.Pending)
			}
		})
	}
}

// TestRunSlowReplayIsLivenessFailure runs a broker that replays stored
// messages one per 10 minutes (which breaks no safety invariant: pacing
// only bounds the rate from above) against the liveness bound of the real
// tencent profile: copies stay pending past the bound after the heal.
func TestRunSlowReplayIsLivenessFailure(t *testing.T) {
	sc, err := scenario.Builtin("overflow")
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Scaled(4)
	real := profile(t, "tencent")
	slow := real
	slow.ReplayInterval = 10 * time.Minute
	k := New(Config{Policy: slow, HealAt: sc.Duration, Bound: Bound(sc, real)})
	if _, err := sim.Run(sc, slow, 3, sim.Options{Observer: k}); err != nil {
		t.Fatal(err)
	}
	v := k.Finish(sc.End())
	if v == nil || v.Kind != Liveness || v.Inv != broker.InvLiveness {
		t.Fatalf("got %v, want a liveness failure", v)
	}
	if lo := sc.Duration + Bound(sc, real); v.At < lo || v.At > sc.End() {
		t.Errorf("got failure at %v, want within [heal+bound, end] = [%v, %v]", v.At, lo, sc.End())
	}
}

// TestRunStopsAtFirstViolation runs a core whose replay is faster than the
// policy the checker holds it to: the run stops at the violation, long
// before its end.
func TestRunStopsAtFirstViolation(t *testing.T) {
	sc, err := scenario.Builtin("overflow")
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Scaled(4)
	pol := profile(t, "tencent")
	opts := sim.Options{NewCore: func(cfg broker.Config) (sim.Core, error) {
		cfg.Policy.ReplayInterval = 100 * time.Millisecond
		return broker.New(cfg)
	}}
	res, v, err := Run(sc, pol, 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	if v == nil || v.Inv != broker.InvPacing {
		t.Fatalf("got %v, want a pacing violation", v)
	}
	full, err := sim.Run(sc, pol, 1, sim.Options{NewCore: opts.NewCore})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Events >= full.Events {
		t.Errorf("got truncated=%v after %d events, want a stop before the full run's %d", res.Truncated, res.Events, full.Events)
	}
}

// TestHeavyTailLiveness is FuzzParse's finding: one command device, a
// backend publishing every second, and a link whose every packet takes a
// Pareto delay of shape 0.2 (no mean). Unclamped, one packet took longer
// than the run and the liveness bound, which counted only the network's
// latency at 4 x its tail scale, failed a run whose core did nothing wrong.
// Delays are now clamped at Latency.Limit and the bound is taken from the
// slowest group's own links.
func TestHeavyTailLiveness(t *testing.T) {
	// FuzzParse's input as it found it (names and all: they key the random
	// streams).
	sc, err := scenario.Parse("heavy.json", []byte(`{"duration":"1h","groups":[{"count":1,"kind":"command","name":000,"qos":1},{"count":1,"kind":"backend","name":0,"publish_every":"1s","qos":1}],"heal":"17m","name":0,"network":{"latency":{"tail":"pareto","tail_prob":01,"tail_scale":"1s","tail_shape":.2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := broker.Profile("tencent")
	res, v, err := Run(sc, pol, 1, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		t.Fatalf("after %d events: %v", res.Events, v)
	}
	// A group's own latency counts: the same link on one group only.
	calm := sc
	calm.Network.Latency = netsim.Latency{Base: 50 * time.Millisecond}
	slow := calm
	slow.Groups = append([]scenario.Group(nil), calm.Groups...)
	slow.Groups[0].Latency = &sc.Network.Latency
	if b, c := Bound(slow, pol), Bound(calm, pol); b < c+4*time.Minute {
		t.Errorf("Bound with one heavy-tailed group = %v, without = %v: the group's link was not counted", b, c)
	}
}

// stallingCore is the real core until from; from then on it asks to be
// woken at the instant it was last stepped, for ever: a deadline bug that
// would spin the simulator at one virtual instant.
type stallingCore struct {
	*broker.Broker
	from, now broker.Time
}

func (c *stallingCore) Step(now broker.Time, in broker.Input) broker.Record {
	c.now = now
	return c.Broker.Step(now, in)
}

func (c *stallingCore) NextDeadline() (broker.Time, bool) {
	if c.now >= c.from {
		return c.now, true
	}
	return c.Broker.NextDeadline()
}

// TestStallIsALivenessFailure: a run whose virtual time stops passing ends
// after sim.StallEvents events at that instant and fails as liveness, instead
// of hanging the sweep.
func TestStallIsALivenessFailure(t *testing.T) {
	sc, err := scenario.Builtin("steady")
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Scaled(5)
	pol, _ := broker.Profile("hivemq")
	from := 10 * time.Minute
	res, v, err := Run(sc, pol, 1, sim.Options{NewCore: func(cfg broker.Config) (sim.Core, error) {
		b, err := broker.New(cfg)
		return &stallingCore{Broker: b, from: from}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stalled || res.StalledAt < from || res.StalledAt > sc.End() {
		t.Fatalf("Stalled=%v at %v, want a stall after %v", res.Stalled, res.StalledAt, from)
	}
	if v == nil || v.Kind != Liveness || v.Inv != broker.InvLiveness || v.At != res.StalledAt {
		t.Fatalf("violation = %v, want a liveness failure at %v", v, res.StalledAt)
	}
	t.Logf("stalled at %v after %d events: %v", res.StalledAt, res.Events, v)
	// The real core never stalls the same run.
	if res, v, err := Run(sc, pol, 1, sim.Options{}); err != nil || v != nil || res.Stalled {
		t.Fatalf("the real core: stalled=%v, %v, %v", res.Stalled, v, err)
	}
}
