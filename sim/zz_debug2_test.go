package sim

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

type dbgObs struct {
	t *testing.T
	n int
}

func (o *dbgObs) Input(now broker.Time, in broker.Input) {
	if in.Kind != broker.InPacket {
		if o.n < 400 && now > 3*time.Hour+20*time.Minute {
			o.t.Logf("%v IN %d conn=%d", now, in.Kind, in.Conn)
			o.n++
		}
		return
	}
	if now > 3*time.Hour+20*time.Minute && o.n < 400 {
		o.t.Logf("%v IN conn=%d %v", now, in.Conn, in.Packet)
		o.n++
	}
}
func (o *dbgObs) Output(now broker.Time, out broker.Output) {
	if now > 3*time.Hour+20*time.Minute && o.n < 400 && out.Kind != broker.OutEvent {
		o.t.Logf("%v OUT %d conn=%d %v", now, out.Kind, out.Conn, out.Packet)
		o.n++
	}
}
func (o *dbgObs) Received(broker.Time, string, *packet.Publish) {}

func TestDebugOverflow(t *testing.T) {
	sc := small(t, "overflow", 2, 0)
	r, _ := Run(sc, broker.Policy{Name: "fake"}, 7, Options{NewCore: newFakeCore, Observer: &dbgObs{t: t}})
	t.Logf("%v", r)
}
