package check

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// willCore is the real core with the Will path broken: the CONNECT's Will
// is stripped (no Will on abrupt loss), or a DISCONNECT is stepped as a
// lost connection (a Will after DISCONNECT).
type willCore struct {
	*broker.Broker
	strip, disconnectAsLoss bool
}

func (c *willCore) Step(now broker.Time, in broker.Input) broker.Record {
	switch p := in.Packet.(type) {
	case *packet.Connect:
		if c.strip && p.WillFlag {
			q := *p
			q.WillFlag, q.WillQoS, q.WillRetain, q.WillTopic, q.WillPayload = false, 0, false, "", nil
			in.Packet = &q
		}
	case *packet.Disconnect:
		if c.disconnectAsLoss {
			in = broker.Input{Kind: broker.InLost, Conn: in.Conn}
		}
	}
	return c.Broker.Step(now, in)
}

// TestStatusWorkloadChecksWills runs the status workload (a built-in, and
// devices that leave gracefully) under the real core, which passes, and
// under cores that lose Wills or publish them after DISCONNECT, which the
// checker catches (invariant 18).
func TestStatusWorkloadChecksWills(t *testing.T) {
	flaky, err := scenario.Builtin("flaky-cellular")
	if err != nil {
		t.Fatal(err)
	}
	flaky = flaky.Scaled(20)
	graceful := flaky
	graceful.Groups = append([]scenario.Group(nil), flaky.Groups...)
	graceful.Groups[1].Offline = &scenario.Offline{Start: 10 * time.Minute, Every: 20 * time.Minute, For: 5 * time.Minute, Graceful: true}
	for _, tt := range []struct {
		name          string
		sc            scenario.Scenario
		strip, asLoss bool
		want          broker.Invariant
	}{
		{"real core", flaky, false, false, 0},
		{"real core, graceful", graceful, false, false, 0},
		{"Wills lost", flaky, true, false, broker.InvWill},
		{"Will after DISCONNECT", graceful, false, true, broker.InvWill},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := sim.Options{NewCore: func(cfg broker.Config) (sim.Core, error) {
				b, err := broker.New(cfg)
				return &willCore{Broker: b, strip: tt.strip, disconnectAsLoss: tt.asLoss}, err
			}}
			res, v, err := Run(tt.sc, profile(t, "hivemq"), 3, opts)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == 0 && v != nil:
				t.Fatalf("got violation:\n%s", v.Report())
			case tt.want != 0 && (v == nil || v.Inv != tt.want):
				t.Fatalf("got %v, want a violation of %v", v, tt.want)
			}
			if m := &res.Metrics; tt.want == 0 && (m.WillsPublished == 0 || m.RetainedReplayed == 0) {
				t.Errorf("%d Wills, %d retained replays: the workload did not exercise them", m.WillsPublished, m.RetainedReplayed)
			}
		})
	}
}
