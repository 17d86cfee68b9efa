package client

import (
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Start begins connecting at now. It does nothing unless the session is Idle.
func (s *Session) Start(now time.Duration) {
	if s.state == Idle {
		s.dial()
	}
}

// Stop ends the session's activity at now: with graceful, a connected
// session sends DISCONNECT and closes [MQTT-3.14.4-3: the Will is then
// discarded]; otherwise the device vanishes (Abort). Stopped sessions do
// not reconnect until Start. Session state (in-flight messages, inbound
// QoS 2 ids, the outbox) is kept, as a device's persistent store would.
func (s *Session) Stop(now time.Duration, graceful bool) {
	switch s.state {
	case Connected:
		if graceful {
			if f := s.cfg.Farewell; f != nil {
				bye := *f
				bye.QoS, bye.PacketID, bye.Dup = 0, 0, false
				s.send(now, &bye)
			}
			s.send(now, &packet.Disconnect{})
			s.emit(Action{Kind: Close})
		} else {
			s.emit(Action{Kind: Abort})
		}
	case Connecting:
		s.emit(Action{Kind: Abort})
	}
	s.state = Idle
	s.pinging = false
}

// Dialed reports the outcome of the Dial at now. A transport that comes up
// after the session stopped is closed at once.
func (s *Session) Dialed(now time.Duration, ok bool) {
	if s.state != Dialing {
		if ok {
			s.emit(Action{Kind: Close})
		}
		return
	}
	if !ok {
		s.retry(now)
		return
	}
	s.state = Connecting
	s.connackBy = now + s.cfg.ConnectTimeout
	c := &packet.Connect{
		ProtocolName: "MQTT", ProtocolLevel: 4, // MQTT 3.1.1 [MQTT-3.1.2-1], [MQTT-3.1.2-2]
		CleanSession: s.cfg.Clean,
		KeepAlive:    uint16(s.cfg.KeepAlive / time.Second),
		ClientID:     s.cfg.ClientID,
	}
	if w := s.cfg.Will; w != nil {
		c.WillFlag, c.WillQoS, c.WillRetain = true, w.QoS, w.Retain // [MQTT-3.1.2-9]
		c.WillTopic, c.WillPayload = w.Topic, w.Payload
	}
	s.send(now, c)
}

// Lost reports at now that the transport broke (reset, EOF). The session
// reconnects after a backoff.
func (s *Session) Lost(now time.Duration) {
	if s.state == Connecting || s.state == Connected {
		s.retry(now)
	}
}

// Deadline handles timers due at now; an early call does nothing.
func (s *Session) Deadline(now time.Duration) {
	switch s.state {
	case Waiting:
		if now >= s.wake {
			s.dial()
		}
	case Connecting:
		if now >= s.connackBy {
			s.emit(Action{Kind: Close})
			s.retry(now)
		}
	case Connected:
		s.keepalive(now)
	}
}

// keepalive pings when nothing was sent for a keepalive period
// [MQTT-3.1.2-23], and declares the link dead when the PINGRESP is late.
func (s *Session) keepalive(now time.Duration) {
	if s.pinging && now >= s.pingBy {
		s.stats.PingTimeouts++
		s.emit(Action{Kind: Close})
		s.retry(now)
		return
	}
	if !s.pinging && s.cfg.KeepAlive > 0 && now >= s.lastSent+s.cfg.KeepAlive {
		s.send(now, &packet.Pingreq{})
		s.pinging, s.pingBy = true, now+s.cfg.PingTimeout
	}
}

// NextDeadline returns when Deadline should next be called, and false when
// no timer is armed.
func (s *Session) NextDeadline() (time.Duration, bool) {
	switch s.state {
	case Waiting:
		return s.wake, true
	case Connecting:
		return s.connackBy, true
	case Connected:
		if s.pinging {
			return s.pingBy, true
		}
		if s.cfg.KeepAlive > 0 {
			return s.lastSent + s.cfg.KeepAlive, true
		}
	}
	return 0, false
}

func (s *Session) dial() {
	s.state = Dialing
	s.stats.Dials++
	s.emit(Action{Kind: Dial})
}

// retry waits before the next dial: the delay doubles from BackoffMin up to
// BackoffMax, and is drawn uniformly from its upper half ("equal jitter"),
// so a fleet that lost the broker at once does not come back at once.
func (s *Session) retry(now time.Duration) {
	s.state = Waiting
	s.pinging = false
	s.subID = 0
	d := s.backoff
	s.wake = now + d/2 + s.rand.Uniform(0, d/2+1)
	s.backoff = min(2*s.backoff, s.cfg.BackoffMax)
}

// connack handles the server's CONNACK.
func (s *Session) connack(now time.Duration, p *packet.Connack) {
	if s.state != Connecting {
		s.protocolError(now) // a second CONNACK
		return
	}
	if p.ReturnCode != packet.Accepted {
		s.emit(Action{Kind: Close})
		s.retry(now)
		return
	}
	s.state = Connected
	s.backoff = s.cfg.BackoffMin
	s.stats.Connects++
	s.emit(Action{Kind: Up, SessionPresent: p.SessionPresent})
	resume := !s.cfg.Clean && p.SessionPresent
	if resume {
		s.stats.Resumes++
		s.resend(now)
	} else {
		// No server session: our session state is stale [MQTT-3.1.2-6];
		// unacknowledged messages are published again as new ones.
		s.qos2In = s.qos2In[:0]
		s.requeueInflight()
		s.subscribed = false
	}
	if !s.subscribed && len(s.cfg.Subscriptions) > 0 {
		s.subscribe(now)
	}
	s.birth(now)
	s.flush(now)
}

// birth publishes a fresh copy of the Birth message: at QoS 0 at once,
// else at the front of the outbox, unless a copy not yet sent is waiting
// there already.
func (s *Session) birth(now time.Duration) {
	b := s.cfg.Birth
	if b == nil {
		return
	}
	p := *b
	p.PacketID, p.Dup = 0, false
	if p.QoS == 0 {
		s.send(now, &p)
		return
	}
	for _, q := range s.outbox {
		if q.Topic == b.Topic && string(q.Payload) == string(b.Payload) {
			return
		}
	}
	s.outbox = append(s.outbox, nil)
	copy(s.outbox[1:], s.outbox)
	s.outbox[0] = &p
}

// protocolError closes a connection whose server broke the protocol.
func (s *Session) protocolError(now time.Duration) {
	if s.state == Connecting || s.state == Connected {
		s.emit(Action{Kind: Close})
		s.retry(now)
	}
}

func (s *Session) subscribe(now time.Duration) {
	s.subID = s.allocID()
	subs := make([]packet.Subscription, len(s.cfg.Subscriptions))
	copy(subs, s.cfg.Subscriptions)
	s.send(now, &packet.Subscribe{PacketID: s.subID, Subscriptions: subs})
}
