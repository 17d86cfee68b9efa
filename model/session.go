package model

import (
	"unicode/utf8"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// connect accepts or refuses a CONNECT on connection c, which has none yet.
func (m *Model) connect(c *conn, p *packet.Connect) {
	v31 := p.V31() // MQTT 3.1: "MQIsdp", level 3
	if !v31 && (p.ProtocolName != "MQTT" || p.ProtocolLevel != 4) {
		m.refuse(c, packet.RefusedProtocolVersion) // [MQTT-3.1.2-2]
		return
	}
	if n := utf8.RuneCountInString(p.ClientID); v31 && n > 23 {
		m.refuse(c, packet.RefusedIdentifierRejected) // MQTT V3.1 section 3.1: 1 to 23 characters
		return
	}
	if p.ClientID == "" {
		// Refused with CleanSession=0 [MQTT-3.1.3-8]. With CleanSession=1 a
		// server may assign an id [MQTT-3.1.3-6]; the model leaves that out
		// of its scope and refuses too (the suites never send it).
		m.refuse(c, packet.RefusedIdentifierRejected)
		return
	}
	if old := m.session(p.ClientID); old != nil && old.conn != 0 {
		m.takeover(old)
	}
	present := false
	s := m.session(p.ClientID)
	switch {
	case s != nil && p.CleanSession:
		m.discard(s) // [MQTT-3.1.2-6]
		s = nil
	case s != nil:
		present = true // [MQTT-3.2.2-2]
	}
	if s == nil {
		s = &session{client: p.ClientID, clean: p.CleanSession, lastPID: m.pidBase}
		m.sessions = append(m.sessions, s)
		m.emit(broker.Event{Kind: broker.EvSessionCreated, Conn: c.id, ClientID: s.client, Clean: s.clean})
	} else {
		m.emit(broker.Event{Kind: broker.EvSessionResumed, Conn: c.id, ClientID: s.client})
	}
	c.client = p.ClientID
	c.keepalive = broker.Time(p.KeepAlive) * 1e9
	if p.WillFlag {
		c.will = &packet.Publish{QoS: p.WillQoS, Retain: p.WillRetain, Topic: p.WillTopic, Payload: p.WillPayload}
	}
	s.conn, s.expires = c.id, false // never expires while connected [MQTT-4.1.0-1]
	m.emit(broker.Event{Kind: broker.EvConnected, Conn: c.id, ClientID: s.client, SessionPresent: present, Clean: p.CleanSession})
	// [MQTT-3.2.2-1], [MQTT-3.2.2-2]; MQTT 3.1's CONNACK has no session
	// present flag (MQTT V3.1 section 3.2: the byte is reserved).
	m.send(c.id, &packet.Connack{SessionPresent: present && !v31})
	m.resume(s)
}

// refuse answers a CONNECT with a failure code and closes the connection
// [MQTT-3.2.2-4], [MQTT-3.2.2-5].
func (m *Model) refuse(c *conn, rc packet.ReturnCode) {
	m.emit(broker.Event{Kind: broker.EvRefused, Conn: c.id, ReturnCode: rc})
	m.send(c.id, &packet.Connack{ReturnCode: rc})
	m.closeConn(c)
}

// takeover closes the connection holding s so that a new one can take its
// ClientId [MQTT-3.1.4-2]. It closes without DISCONNECT, so the Will fires.
func (m *Model) takeover(s *session) {
	old := m.conn(s.conn)
	m.emit(broker.Event{Kind: broker.EvSessionTakenOver, Conn: old.id, ClientID: s.client})
	m.lose(old, broker.ReasonTakeover, true)
}

// resume re-sends what was in flight [MQTT-4.4.0-1]: a PUBREL at once for
// each QoS 2 copy already PUBRECed; the unacknowledged PUBLISHes, with DUP=1
// and their packet ids, in order [MQTT-4.6.0-1], but as part of the stored
// backlog, which pacing spaces: the AWS page counts "unacknowledged QoS 1
// messages" among the stored messages "sent at a maximum rate of 10 messages
// per second", and the Tencent page lists them with the stored messages it sends "at
// 500 ms intervals". Everything queued becomes stored backlog too.
func (m *Model) resume(s *session) {
	resend, pubrel := Resume(s.inflight, func(cp *copyOf) bool { return cp.completed })
	for _, cp := range pubrel {
		m.transmit(s, cp, true)
	}
	for _, cp := range resend {
		cp.resend = true
	}
	for _, cp := range s.queue {
		cp.stored = true
	}
	s.replaySent = nil
	m.pump(s)
}

// lose forgets connection c: its session goes offline (a clean one ends) and
// its Will, if it still has one, is published [MQTT-3.1.2-8]. closeOut asks
// the driver to close the socket (not needed when the driver reported it).
func (m *Model) lose(c *conn, reason broker.Reason, closeOut bool) {
	if closeOut {
		m.closeConn(c)
	} else {
		m.forget(c)
	}
	if c.client == "" {
		return
	}
	s := m.session(c.client)
	m.emit(broker.Event{Kind: broker.EvDisconnected, Conn: c.id, ClientID: c.client, Reason: reason})
	if s.clean {
		m.discard(s) // [MQTT-3.1.2-6]
	} else {
		s.conn = 0
		for _, cp := range s.inflight {
			cp.resend = false // resent at the next resume anyway
		}
		s.expireAt, s.expires = m.expiry(), m.pol.SessionExpiry > 0
	}
	if c.will != nil && WillFires(reason) {
		m.publishWill(c.client, c.id, c.will)
	}
}

// expiry returns when a session going offline now expires.
func (m *Model) expiry() broker.Time { return ExpiryTime(m.pol, m.now) }

// discard ends s without expiring it; every copy it still owes is dropped.
func (m *Model) discard(s *session) {
	m.dropAll(s, broker.ReasonSessionDiscarded)
	m.emit(broker.Event{Kind: broker.EvSessionDiscarded, ClientID: s.client})
	m.removeSession(s)
}

// expire ends the offline session s at its expiry time (the Tencent and AWS pages).
func (m *Model) expire(s *session) {
	m.dropAll(s, broker.ReasonSessionExpired)
	m.emit(broker.Event{Kind: broker.EvSessionExpired, ClientID: s.client})
	m.removeSession(s)
}

// dropAll drops every copy s still owes, in flight first, with reason. A
// QoS 2 copy already PUBRECed was delivered and is not dropped again.
func (m *Model) dropAll(s *session, reason broker.Reason) {
	for _, cp := range append(append([]*copyOf(nil), s.inflight...), s.queue...) {
		if !cp.completed {
			m.drop(s, cp, reason)
		}
	}
	s.inflight, s.queue = nil, nil
}

// removeSession forgets s.
func (m *Model) removeSession(s *session) {
	for i, x := range m.sessions {
		if x == s {
			m.sessions = append(m.sessions[:i:i], m.sessions[i+1:]...)
			return
		}
	}
}

// closeConn asks the driver to close c and forgets it.
func (m *Model) closeConn(c *conn) {
	m.out = append(m.out, broker.Output{Kind: broker.OutClose, Conn: c.id})
	m.forget(c)
}

// forget removes c from the open connections.
func (m *Model) forget(c *conn) {
	for i, x := range m.conns {
		if x == c {
			m.conns = append(m.conns[:i:i], m.conns[i+1:]...)
			return
		}
	}
}
