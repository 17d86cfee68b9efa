package check

import (
	"time"

	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// countingObserver counts what it is handed, to prove the chaining of
// sim.Observer and of the optional sim.PhaseObserver and sim.DeviceObserver.
type countingObserver struct{ inputs, outputs, received, healed, ups, downs int }

func (o *countingObserver) Healed(broker.Time)                 { o.healed++ }
func (o *countingObserver) DeviceUp(broker.Time, string, bool) { o.ups++ }
func (o *countingObserver) DeviceDown(broker.Time, string)     { o.downs++ }

func (o *countingObserver) Input(broker.Time, broker.Input)   { o.inputs++ }
func (o *countingObserver) Output(broker.Time, broker.Output) { o.outputs++ }
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
