package sim

import (
	"fmt"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
)

// stepPacket feeds a packet that arrived at the broker on c.
func (r *runner) stepPacket(c netsim.ConnID, p packet.Packet) {
	in := broker.Input{Kind: broker.InPacket, Conn: broker.ConnID(c), Packet: p}
	if m, ok := p.(*malformed); ok {
		in = broker.Input{Kind: broker.InMalformed, Conn: broker.ConnID(c), Err: m.err}
	}
	if pub, ok := p.(*packet.Publish); ok {
		r.curUID = uidOf(pub.Payload)
	}
	r.step(in)
	r.curUID = 0
}

// step drives the core exactly as the TCP server does: one input with the
// current time, then hand the step's record to the watcher (the ledger and
// the observer), perform every output in order, and re-arm the single broker
// timer from NextDeadline. The timer is lazy: the armed event is replaced only by an
// earlier deadline. When a later one was wanted, the armed event fires
// early, the InDeadline is a no-op for the core (as its contract says), and
// the timer is re-armed after it. (The broker has one timer, so the stale
// events are few; devices use timers instead.)
func (r *runner) step(in broker.Input) {
	if r.disk.down {
		return // the broker is down: nothing reaches it
	}
	r.rec = r.core.Step(r.now, in) // a field, so that observers' &r.rec does not allocate
	rec := &r.rec
	rec.At, rec.Input = r.now, in // what the simulator fed, whatever the core says
	if r.trace != nil {
		fmt.Fprintf(r.trace, "%v   broker <- %v\n", r.now, in)
		for _, o := range rec.Outputs {
			fmt.Fprintf(r.trace, "%v   broker -> %v\n", r.now, o)
		}
	}
	if r.disk.on && (len(rec.Changes) > 0 || len(r.disk.held) > 0) {
		r.hold(rec, r.curUID)
	} else {
		r.w.step(rec, r.curUID)
		r.perform(rec)
	}
	r.armBroker()
}

// perform carries out a step's outputs in order.
func (r *runner) perform(rec *broker.Record) {
	for i := range rec.Outputs {
		o := &rec.Outputs[i]
		r.dg.output(r.now, o)
		switch o.Kind {
		case broker.OutSend:
			c := netsim.ConnID(o.Conn)
			if h, ok := r.net.Host(c); ok {
				r.send(c, netsim.Server, int32(h), o.Packet)
			}
		case broker.OutClose:
			if nt, ok := r.net.Close(r.now, netsim.ConnID(o.Conn), netsim.Server); ok {
				r.notices([]netsim.Notice{nt})
			}
		}
	}
}

// armBroker re-arms the broker timer from NextDeadline.
func (r *runner) armBroker() {
	if t, ok := r.core.NextDeadline(); ok && (r.brokerAt < 0 || t < r.brokerAt) {
		r.brokerAt = max(t, r.now)
		r.at(r.brokerAt, event{kind: evBrokerTimer, dev: -1})
	}
}
