package sim

import (
	"fmt"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/client"
)

// clientActions performs what device dev's session asked for, then
// re-arms its timer at exactly the session's next deadline (moving it in
// place, see timers). Actions are handled in order; none re-enters the
// session.
func (r *runner) clientActions(dev int32) {
	d := &r.devs[dev]
	for _, a := range d.sess.Actions() {
		if r.trace != nil {
			fmt.Fprintf(r.trace, "%v   %s %v\n", r.now, d.id, a)
		}
		switch a.Kind {
		case client.Dial:
			r.dial(dev)
		case client.Send:
			r.send(d.conn, netsim.Client, dev, a.Packet)
		case client.Close:
			if nt, ok := r.net.Close(r.now, d.conn, netsim.Client); ok {
				r.notices([]netsim.Notice{nt})
			}
			r.deviceDown(dev)
		case client.Abort:
			r.net.Fail(r.now, d.conn, netsim.HalfOpen) // the broker hears nothing
			r.net.Close(r.now, d.conn, netsim.Client)
			r.deviceDown(dev)
		case client.Up:
			r.w.up(r.now, dev, a.SessionPresent)
		case client.Deliver:
			r.w.received(r.now, dev, a.Publish)
		case client.Drop:
			r.m.ClientDropped[a.Reason.String()]++
		}
	}
	t, ok := d.sess.NextDeadline()
	switch {
	case !ok && d.timerAt >= 0:
		r.timers.clear(dev)
		d.timerAt = -1
	case ok && max(t, r.now) != d.timerAt:
		d.timerAt = max(t, r.now)
		r.q.seq++ // timers share the queue's sequence: ties fire in schedule order
		r.timers.set(dev, d.timerAt, r.q.seq)
	}
}

// dial starts a connection for dev and schedules its outcome.
func (r *runner) dial(dev int32) {
	dl := r.net.Dial(r.now, int(dev))
	r.at(dl.ClientAt, event{kind: evDialed, dev: dev, conn: uint64(dl.Conn)})
	if !dl.OK {
		return
	}
	r.at(dl.ServerAt, event{kind: evServerOpen, dev: dev, conn: uint64(dl.Conn)})
	if dl.Fault != netsim.NoFault && !r.healed {
		r.at(dl.FaultAt, event{kind: evLinkFault, dev: dev, conn: uint64(dl.Conn), arg: uint16(dl.Fault)})
	}
}

// dialed hands a dial's outcome to the device. A connection reset while
// the handshake was under way is handed over as established; the device
// learns of the reset when its notice arrives, as a real socket would.
func (r *runner) dialed(e *event) {
	d := &r.devs[e.dev]
	c := netsim.ConnID(e.conn)
	_, alive := r.net.Host(c)
	ok := c != 0 && alive
	if ok {
		d.conn = c
	}
	d.sess.Dialed(r.now, ok)
	r.clientActions(e.dev)
}

// send puts p on conn from side, scheduling its arrival.
func (r *runner) send(conn netsim.ConnID, from netsim.Side, dev int32, p packet.Packet) {
	if conn == 0 {
		return
	}
	if r.opts.Wire {
		p = r.wire(p)
	}
	if at, ok := r.net.Send(r.now, conn, from, p); ok {
		r.at(at, event{kind: evArrive, dev: dev, conn: uint64(conn), arg: uint16(from.Peer())})
	}
}

// arrive delivers the next packet travelling toward a side of a connection.
func (r *runner) arrive(e *event) {
	c, to := netsim.ConnID(e.conn), netsim.Side(e.arg)
	p, ok := r.net.Arrive(c, to)
	if !ok {
		return
	}
	if to == netsim.Server {
		r.stepPacket(c, p)
		return
	}
	d := &r.devs[e.dev]
	if d.conn != c {
		return // the device has moved on to another connection
	}
	if r.disk.on {
		r.acked(e.dev, p)
	}
	d.sess.Receive(r.now, p)
	r.clientActions(e.dev)
}

// notice tells a side that its connection is gone.
func (r *runner) notice(e *event) {
	c, side := netsim.ConnID(e.conn), netsim.Side(e.arg)
	if !r.net.Noticed(c, side) {
		return
	}
	if side == netsim.Server {
		r.step(broker.Input{Kind: broker.InLost, Conn: broker.ConnID(c)})
		return
	}
	d := &r.devs[e.dev]
	if d.conn == c {
		r.deviceDown(e.dev)
		d.sess.Lost(r.now)
		r.clientActions(e.dev)
	}
}

// deviceDown forgets the device's connection and tells the watcher.
func (r *runner) deviceDown(dev int32) {
	d := &r.devs[dev]
	if d.conn == 0 {
		return
	}
	d.conn = 0
	r.w.down(r.now, dev)
}

// notices schedules each notice for its side.
func (r *runner) notices(ns []netsim.Notice) {
	for _, n := range ns {
		h, _ := r.net.Host(n.Conn)
		r.at(n.At, event{kind: evNotice, dev: int32(h), conn: uint64(n.Conn), arg: uint16(n.Side)})
	}
}
