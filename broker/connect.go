package broker

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// handleConnect validates a CONNECT and, when accepted, attaches c to a new or
// resumed session. Refusals answer CONNACK with a non-zero return code and
// close the connection [MQTT-3.2.2-5].
func (b *Broker) handleConnect(c *conn, p *packet.Connect) {
	if c.sess != nil {
		b.protocolError(c) // a second CONNECT [MQTT-3.1.0-2]
		return
	}
	v31 := p.V31() // MQTT 3.1: "MQIsdp", level 3
	if !v31 && (p.ProtocolName != "MQTT" || p.ProtocolLevel != 4) {
		b.refuse(c, p.ClientID, packet.RefusedProtocolVersion) // [MQTT-3.1.2-2]
		return
	}
	if v31 && !validClientID31(p.ClientID) {
		// MQTT V3.1 section 3.1, Client Identifier: "between 1 and 23
		// characters long"; otherwise CONNACK return code 2, Identifier
		// Rejected. 3.1 has no zero-length client identifier.
		b.refuse(c, p.ClientID, packet.RefusedIdentifierRejected)
		return
	}
	if p.WillFlag && !validTopic(p.WillTopic) {
		b.protocolError(c) // a Will topic is a topic name [MQTT-3.1.2-9]
		return
	}
	id := p.ClientID
	if id == "" {
		if !p.CleanSession {
			b.refuse(c, id, packet.RefusedIdentifierRejected) // [MQTT-3.1.3-8]
			return
		}
		id = b.assignID() // [MQTT-3.1.3-6]
	}
	user := p.Username
	if b.cfg.Auth != nil {
		var rc packet.ReturnCode
		if rc, user = b.cfg.Auth.Authenticate(p); rc != packet.Accepted {
			b.refuse(c, id, rc)
			return
		}
	}
	c.user, c.keepalive, c.will, c.v31 = user, Time(p.KeepAlive)*time.Second, b.willOf(p), v31
	b.attach(c, id, p.CleanSession)
}

// attach ends any live connection of id (takeover [MQTT-3.1.4-2]), discards
// an old session when clean is set [MQTT-3.1.2-6], and brings the session
// for id online on c.
func (b *Broker) attach(c *conn, id string, clean bool) {
	if s := b.sessions[id]; s != nil && !s.online() {
		b.settleSession(s) // a late deadline input: drop and expire what is due first
	}
	s := b.sessions[id]
	if s != nil && s.online() {
		old := s.conn
		b.emit(Event{Kind: EvSessionTakenOver, Conn: old.id, ClientID: id})
		b.lose(old, ReasonTakeover, true)
	}
	if s = b.sessions[id]; s != nil && clean {
		b.discard(s)
		s = nil
	}
	present := s != nil // [MQTT-3.2.2-2], [MQTT-3.2.2-3]
	if s == nil {
		s = b.createSession(c.id, id, clean)
	} else {
		b.emit(Event{Kind: EvSessionResumed, Conn: c.id, ClientID: id})
	}
	b.becomeOnline(s, c, present)
}

// willOf returns the Will of p as the PUBLISH it becomes, or nil.
func (b *Broker) willOf(p *packet.Connect) *packet.Publish {
	if !p.WillFlag {
		return nil
	}
	return &packet.Publish{QoS: min(p.WillQoS, b.pol.MaxQoS), Retain: p.WillRetain, Topic: p.WillTopic, Payload: p.WillPayload}
}

// refuse answers CONNACK with rc and closes c [MQTT-3.2.2-4], [MQTT-3.2.2-5].
func (b *Broker) refuse(c *conn, id string, rc packet.ReturnCode) {
	b.send(c, b.pkts.newConnack(false, rc))
	b.emit(Event{Kind: EvRefused, Conn: c.id, ClientID: id, ReturnCode: rc})
	delete(b.conns, c.id)
	b.out = append(b.out, Output{Kind: OutClose, Conn: c.id})
}

// validClientID31 reports whether id is a valid MQTT 3.1 client identifier:
// 1 to 23 characters (MQTT V3.1 section 3.1, Client Identifier).
func validClientID31(id string) bool {
	n := utf8.RuneCountInString(id)
	return n >= 1 && n <= 23
}

// assignID returns a ClientId no session uses, from a deterministic sequence.
func (b *Broker) assignID() string {
	for {
		b.autoIDs++
		id := "auto-" + strconv.FormatUint(b.autoIDs, 10)
		if b.sessions[id] == nil {
			return id
		}
	}
}

// createSession registers a new, offline session for id, created by a
// CONNECT on conn.
func (b *Broker) createSession(conn ConnID, id string, clean bool) *session {
	b.sessSeq++
	s := &session{clientID: id, seq: b.sessSeq, clean: clean, nextPID: b.cfg.PacketIDBase}
	b.sessions[id] = s
	b.emit(Event{Kind: EvSessionCreated, Conn: conn, ClientID: id, Clean: clean})
	return s
}

// becomeOnline attaches c to s, answers CONNACK and starts the resume:
// un-completed QoS 2 copies get their PUBREL again, unacknowledged PUBLISHes
// and the stored queue are (paced) re-sent in order [MQTT-4.4.0-1].
func (b *Broker) becomeOnline(s *session, c *conn, present bool) {
	s.conn, c.sess = c, s
	s.user = c.user
	s.expires, s.expireAt = false, 0 // never expires while connected [MQTT-4.1.0-1]
	b.keepSession(s)
	// MQTT V3.1 section 3.2 has no session present flag: the byte before
	// the return code is reserved ("Topic Name Compression Response", not
	// used), so a 3.1 client gets 0 there. The event still says whether a
	// session was present.
	b.send(c, b.pkts.newConnack(present && !c.v31, packet.Accepted)) // [MQTT-3.2.0-1]
	b.emit(Event{Kind: EvConnected, Conn: c.id, ClientID: s.clientID, SessionPresent: present, Clean: s.clean})
	for i := 0; i < s.queue.Len(); i++ {
		s.queue.at(i).stored = true
	}
	s.backlog = s.queue.Len()
	s.replayed = false
	for i := range s.inflight {
		d := &s.inflight[i]
		if d.state == copyWaitComp {
			d.lastSent = b.now
			b.send(c, b.pkts.newPubrel(d.pid)) // [MQTT-4.4.0-1]
		} else {
			d.resend = true
			s.resends++
		}
	}
	b.armConn(c)
	b.pump(s)
	b.touch(s)
}

// becomeOffline detaches s from its connection. A clean session is discarded
// [MQTT-3.1.2-6]; a persistent one starts its expiry, timed from now, the
// moment the disconnect was detected.
func (b *Broker) becomeOffline(s *session, reason Reason) {
	c := s.conn
	s.conn, c.sess = nil, nil
	b.emit(Event{Kind: EvDisconnected, Conn: c.id, ClientID: s.clientID, Reason: reason})
	if s.clean {
		b.discard(s)
		return
	}
	s.offlineAt = b.now
	b.keepSession(s)
	for i := range s.inflight {
		s.inflight[i].resend = false
	}
	s.resends = 0
	if b.pol.SessionExpiry > 0 {
		s.expires, s.expireAt = true, b.expiryTime(b.now)
	}
	b.touch(s)
}

// expiryTime is when a session disconnected at t expires: t+SessionExpiry,
// rounded up to the next multiple of ExpirySweep when the policy sweeps.
func (b *Broker) expiryTime(t Time) Time {
	at := t + b.pol.SessionExpiry
	if sw := b.pol.ExpirySweep; sw > 0 {
		if r := at % sw; r != 0 {
			at += sw - r
		}
	}
	return at
}

// expire ends an offline persistent session whose expiry has passed.
func (b *Broker) expire(s *session) {
	b.end(s, ReasonSessionExpired)
	b.emit(Event{Kind: EvSessionExpired, ClientID: s.clientID})
}

// discard ends a session without expiry: a clean session going offline, or
// any session replaced by a CleanSession=1 CONNECT [MQTT-3.1.2-6].
func (b *Broker) discard(s *session) {
	b.end(s, ReasonSessionDiscarded)
	b.emit(Event{Kind: EvSessionDiscarded, ClientID: s.clientID, Clean: s.clean})
}

// end drops every copy s still owes with reason and forgets s.
func (b *Broker) end(s *session, reason Reason) {
	if !s.clean {
		b.change(Change{Kind: ChSessionEnded, ClientID: s.clientID, Reason: reason})
	}
	for i := range s.inflight {
		s.inflight[i].kept = false // the session's end covers its copies
	}
	for i := 0; i < s.queue.Len(); i++ {
		s.queue.at(i).kept = false
	}
	for _, d := range s.inflight {
		b.forget(s, d, reason)
	}
	s.inflight, s.resends = nil, 0
	for s.queue.Len() > 0 {
		b.drop(s, s.queue.pop(), reason)
	}
	for _, sub := range s.subs {
		b.subs.remove(sub.filter, s)
	}
	s.subs, s.inbound2, s.backlog = nil, nil, 0
	delete(b.sessions, s.clientID)
	b.next.known = false
}

// forget removes an in-flight copy: one still waiting for PUBACK or PUBREC is
// dropped with reason; one waiting for PUBCOMP was already delivered.
func (b *Broker) forget(s *session, d delivery, reason Reason) {
	if d.state == copyWaitComp {
		b.keepGone(s, &d, reason)
		b.release(d.msg)
		return
	}
	b.drop(s, d, reason)
}
