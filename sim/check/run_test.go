package check

import (
	"time"

	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// countingObserver counts what it is handed, to prove the chaining.
type countingObserver struct{ inputs, outputs, received int }

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
			if next.inputs == 0 || next.outputs == 0 || next.received == 0 {
				t.Errorf("chained observer saw %+v, want every kind of call", *next)
			}
			if got := res.Metrics.Copies; got != res.Metrics.Delivered+res.Metrics.DroppedTotal+res.Metrics.Pending || got == 0 {
				t.Errorf("copies %d != delivered %d + dropped %d + pending %d", got, res.Metrics.Delivered, res.Metrics.DroppedTotal, res.Metrics.Pending)
			}
		})
	}
}

// lossyCore is the real core with every PUBLISH it sends after cut
// silently lost: the broker believes it sent them, no device gets them.
type lossyCore struct {
	sim.Core
	now, cut broker.Time
	outs     []broker.Output
}

func (c *lossyCore) Step(now broker.Time, in broker.Input) {
	c.now = now
	c.Core.Step(now, in)
}

func (c *lossyCore) Outputs() []broker.Output {
	c.outs = c.outs[:0]
	for _, o := range c.Core.Outputs() {
		if _, pub := o.Packet.(*packet.Publish); o.Kind == broker.OutSend && pub && c.now >= c.cut {
			continue
		}
		c.outs = append(c.outs, o)
	}
	return c.outs
}

// TestRunLossyCoreIsLivenessFailure runs a core that stops delivering in
// the healed phase: no safety invariant breaks, but messages stay pending
// past the bound, which is a liveness failure.
func TestRunLossyCoreIsLivenessFailure(t *testing.T) {
	sc, err := scenario.Builtin("steady")
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Scaled(6)
	sc.Heal = 30 * time.Minute
	pol := profile(t, "hivemq")
	opts := sim.Options{NewCore: func(cfg broker.Config) (sim.Core, error) {
		b, err := broker.New(cfg)
		return &lossyCore{Core: b, cut: sc.Duration}, err
	}}
	_, v, err := Run(sc, pol, 3, opts)
	if err != nil {
		t.Fatal(err)
	}
	if v == nil || v.Kind != Liveness || v.Inv != broker.InvLiveness {
		t.Fatalf("got %v, want a liveness failure", v)
	}
	if v.At < sc.Duration+Bound(sc, pol) || v.At > sc.End() {
		t.Errorf("got failure at %v, want within [heal+bound, end] = [%v, %v]", v.At, sc.Duration+Bound(sc, pol), sc.End())
	}
}
