package tcp

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// ownerState is what the owner goroutine alone reads and writes.
type ownerState struct {
	conns connTable       // connections the core knows
	lost  []broker.ConnID // overflowed while draining; to step as InLost
	timer *time.Timer
	users map[broker.ConnID]string // connected users, for the disconnect log line (logConnections)
	rec   broker.Record            // the last step's record: observers get a pointer to it, which allocates nothing
}

// run is the owner goroutine: the only caller of the core. It steps inputs in
// arrival order and deadlines when the timer fires, until Close.
func (s *Server) run() {
	defer close(s.ownerDone)
	o := &s.owner
	o.timer = time.NewTimer(time.Hour)
	o.timer.Stop()
	var committed chan commitResult // the running commit's result, when durable
	if s.dur != nil {
		committed = s.dur.done
	}
	for {
		select {
		case a := <-s.inputs:
			s.step(a)
		case <-o.timer.C:
			s.step(arrival{in: broker.Input{Kind: broker.InDeadline}})
		case r := <-committed:
			s.committed(r)
		case <-s.quit:
			o.timer.Stop()
			if s.dur != nil {
				s.commitOnClose()
			}
			o.conns.all((*conn).abort)
			return
		}
		if s.dur != nil {
			s.maybeCommit()
		}
		s.rearm()
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.connections.Set(float64(o.conns.len()))
		}
	}
}

// now is the broker's clock: the time since the server started. It is the
// only clock reading that reaches the core.
func (s *Server) now() broker.Time { return time.Since(s.start) }

// step feeds one arrival to the core and performs the outputs, then steps the
// connections that overflowed while doing so as lost.
func (s *Server) step(a arrival) {
	o := &s.owner
	in := a.in
	switch in.Kind {
	case broker.InOpen:
		o.conns.put(a.conn)
	case broker.InPacket, broker.InLost, broker.InMalformed:
		if o.conns.get(in.Conn) == nil {
			s.unreserve(in)
			return // the core has forgotten it (closed or overflowed)
		}
	}
	s.feed(in)
	if in.Kind == broker.InLost || in.Kind == broker.InMalformed {
		s.forget(in.Conn) // the core has too; make sure the socket is shut
	}
	for i := 0; i < len(o.lost); i++ { // feeding may overflow more connections
		s.feed(broker.Input{Kind: broker.InLost, Conn: o.lost[i]})
	}
	o.lost = o.lost[:0]
}

// feed steps one input at the current time and performs its outputs in
// order (a durable server once its changes are durable: see output).
func (s *Server) feed(in broker.Input) {
	s.owner.rec = s.core.Step(s.now(), in)
	rec := &s.owner.rec
	s.settle(in) // before the outputs: a client that reads its PUBACK sees the count updated
	if connect, ok := in.Packet.(*packet.Connect); ok && s.prepare != nil {
		s.prepare.Forget(connect) // if the core refused it without asking
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.step(rec)
	}
	s.logConnections(rec)
	if s.cfg.Observer != nil {
		s.cfg.Observer(rec)
	}
	s.output(rec)
	*rec = broker.Record{} // keep no packet alive until the next step
}

// perform carries out one output of the core.
func (s *Server) perform(out broker.Output) {
	o := &s.owner
	switch out.Kind {
	case broker.OutSend:
		c := o.conns.get(out.Conn)
		if c == nil {
			return
		}
		if !c.send(out.Packet) {
			s.cfg.Logger.Warn("write buffer full: connection treated as lost",
				"conn", uint64(out.Conn), "remote", c.remote(), "limit", s.cfg.WriteBuffer)
			s.forget(out.Conn)
			o.lost = append(o.lost, out.Conn)
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.overflows.Inc()
			}
		}
	case broker.OutClose:
		if c := o.conns.remove(out.Conn); c != nil {
			c.closeAfterFlush()
		}
	}
}

// forget drops a connection the core no longer knows and closes its socket.
func (s *Server) forget(id broker.ConnID) {
	if c := s.owner.conns.remove(id); c != nil {
		c.abort()
	}
}

// rearm sets the single timer to the core's next deadline.
func (s *Server) rearm() {
	t := s.owner.timer
	t.Stop()
	if at, ok := s.core.NextDeadline(); ok {
		t.Reset(max(at-s.now(), 0))
	}
}
