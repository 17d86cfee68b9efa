package check

import (
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
