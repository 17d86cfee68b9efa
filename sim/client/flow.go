package client

import (
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Publish is the application publishing at now. QoS 0 goes out only when
// connected (else it is dropped, DropOffline); QoS 1 and 2 wait in the
// outbox until the connection is up and the in-flight window has room.
// The session keeps p; the caller must not change it afterwards.
func (s *Session) Publish(now time.Duration, p *packet.Publish) {
	switch {
	case s.state == Idle:
		s.emit(Action{Kind: Drop, Publish: p, Reason: DropStopped})
	case p.QoS == 0 && s.state != Connected:
		s.emit(Action{Kind: Drop, Publish: p, Reason: DropOffline})
	case p.QoS == 0:
		s.send(now, p)
	case len(s.outbox) >= s.cfg.OutboxCap:
		s.emit(Action{Kind: Drop, Publish: p, Reason: DropOutboxFull})
	default:
		s.outbox = append(s.outbox, p)
		s.flush(now)
	}
}

// flush sends outbox messages while connected and the window has room.
func (s *Session) flush(now time.Duration) {
	if s.state != Connected {
		return
	}
	n := 0
	for ; n < len(s.outbox) && len(s.inflight) < s.cfg.Inflight; n++ {
		p := s.outbox[n]
		p.PacketID = s.allocID()
		s.inflight = append(s.inflight, flight{pub: p})
		s.send(now, p)
	}
	if n > 0 {
		clear(s.outbox[:n])
		s.outbox = append(s.outbox[:0], s.outbox[n:]...)
	}
}

// resend re-sends every unacknowledged message in original order: PUBLISH
// with DUP=1 and the same packet id, or PUBREL for a QoS 2 message whose
// PUBREC arrived [MQTT-4.4.0-1], [MQTT-3.3.1-1].
func (s *Session) resend(now time.Duration) {
	for i := range s.inflight {
		f := &s.inflight[i]
		s.stats.Resends++
		if f.released {
			s.send(now, &packet.Pubrel{PacketID: f.pub.PacketID})
			continue
		}
		dup := *f.pub // the original may still be travelling: copy
		dup.Dup = true
		f.pub = &dup
		s.send(now, f.pub)
	}
}

// requeueInflight moves unacknowledged messages back to the front of the
// outbox, to be published afresh (new packet id, DUP=0). A QoS 2 message
// whose PUBREC arrived was received by the old session and is dropped.
func (s *Session) requeueInflight() {
	var again []*packet.Publish
	for _, f := range s.inflight {
		if !f.released {
			p := *f.pub
			p.Dup, p.PacketID = false, 0
			again = append(again, &p)
		}
	}
	clear(s.inflight)
	s.inflight = s.inflight[:0]
	if len(again) > 0 {
		s.outbox = append(again, s.outbox...)
	}
}

// allocID returns a packet id not used by any in-flight message or pending
// SUBSCRIBE [MQTT-2.3.1-2]; ids are non-zero [MQTT-2.3.1-1].
func (s *Session) allocID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if s.nextID != s.subID && s.findFlight(s.nextID) < 0 {
			return s.nextID
		}
	}
}

func (s *Session) findFlight(id uint16) int {
	for i := range s.inflight {
		if s.inflight[i].pub.PacketID == id {
			return i
		}
	}
	return -1
}

// Receive handles a packet from the server at now.
func (s *Session) Receive(now time.Duration, p packet.Packet) {
	if c, ok := p.(*packet.Connack); ok {
		s.connack(now, c)
		return
	}
	if s.state != Connected {
		s.protocolError(now) // the first packet must be CONNACK [MQTT-3.2.0-1]
		return
	}
	switch p := p.(type) {
	case *packet.Publish:
		s.publish(now, p)
	case *packet.Puback:
		s.acked(now, p.PacketID, 1)
	case *packet.Pubrec:
		if i := s.findFlight(p.PacketID); i >= 0 && s.inflight[i].pub.QoS == 2 {
			s.inflight[i].released = true
		}
		s.send(now, &packet.Pubrel{PacketID: p.PacketID}) // [MQTT-4.3.3-1]
	case *packet.Pubcomp:
		s.acked(now, p.PacketID, 2)
	case *packet.Pubrel:
		s.released(p.PacketID)
		s.send(now, &packet.Pubcomp{PacketID: p.PacketID}) // [MQTT-4.3.3-2]
	case *packet.Suback:
		if p.PacketID == s.subID {
			s.subID, s.subscribed = 0, true
		}
	case *packet.Pingresp:
		s.pinging = false
	default:
		s.protocolError(now) // a server never sends CONNECT, SUBSCRIBE, ...
	}
}

// publish handles an inbound PUBLISH: QoS 1 is delivered and acknowledged
// [MQTT-4.3.2-2]; QoS 2 is delivered once and its id remembered until
// PUBREL, so a re-sent copy is acknowledged but not delivered again
// [MQTT-4.3.3-2].
func (s *Session) publish(now time.Duration, p *packet.Publish) {
	switch p.QoS {
	case 0:
		s.emit(Action{Kind: Deliver, Publish: p})
	case 1:
		s.emit(Action{Kind: Deliver, Publish: p})
		s.send(now, &packet.Puback{PacketID: p.PacketID})
	default:
		if s.hasQoS2(p.PacketID) {
			s.stats.Duplicates++
		} else {
			s.qos2In = append(s.qos2In, p.PacketID)
			s.emit(Action{Kind: Deliver, Publish: p})
		}
		s.send(now, &packet.Pubrec{PacketID: p.PacketID})
	}
}

func (s *Session) hasQoS2(id uint16) bool {
	for _, x := range s.qos2In {
		if x == id {
			return true
		}
	}
	return false
}

func (s *Session) released(id uint16) {
	for i, x := range s.qos2In {
		if x == id {
			s.qos2In = append(s.qos2In[:i], s.qos2In[i+1:]...)
			return
		}
	}
}

// InFlight returns the PUBLISH in flight with packet id id, or nil.
func (s *Session) InFlight(id uint16) *packet.Publish {
	if i := s.findFlight(id); i >= 0 {
		return s.inflight[i].pub
	}
	return nil
}

// acked completes the in-flight message id of the given QoS (PUBACK for 1,
// PUBCOMP for 2) and refills the window. An ack for an unknown id is ignored.
func (s *Session) acked(now time.Duration, id uint16, qos packet.QoS) {
	i := s.findFlight(id)
	if i < 0 || s.inflight[i].pub.QoS != qos {
		return
	}
	s.inflight = append(s.inflight[:i], s.inflight[i+1:]...)
	s.flush(now)
}
