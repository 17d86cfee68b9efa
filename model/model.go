// Package model is the executable specification of the observable behaviour
// of MQTT 3.1.1 persistent sessions (CleanSession=0) under a broker.Policy.
//
// It is written straight from the MQTT 3.1.1 specification, the policy table
// and invariants of the README and the vendor pages the profiles cite
// (broker/profile.go), and
// shares only data types with the broker core (broker.Input, broker.Output,
// broker.Event, broker.Policy, the packet structs), none of its logic. It is
// sequential and deliberately naive: slices and linear scans, no indexes, no
// heaps, so that a reviewer can check it against the spec in one sitting.
//
// A Model has the same shape as the core: Step(now, input) returns the
// outputs the input causes, and NextDeadline says when time alone will cause
// more. The property suites drive both with the same inputs and compare.
//
// Choices the specification leaves open, made here once and documented where
// they are made:
//   - a message matching several subscriptions of one session is delivered
//     once, at the highest granted QoS [MQTT-3.3.5-1];
//   - inbound QoS 2 is acknowledged with method A (forward on PUBLISH,
//     remember the packet id until PUBREL) [MQTT-4.3.3-2];
//   - a copy waiting in the queue when its session resumes is "stored": it is
//     subject to the policy's replay pacing; copies arriving later are "live";
//   - unacknowledged PUBLISHes re-sent on resume are paced like stored
//     copies, and go first; PUBRELs go at once (see resume);
//   - the resume backlog and live copies are one lane (ReplayBlocksLive) or
//     two that interleave (see pump);
//   - MessageTTL applies to queued copies only, not to copies in flight;
//     RetryFor applies only while a connection is attached;
//   - when a session's timers fall due at one instant, TTLs and retries
//     given up come before the session's expiry; timers of different
//     sessions due at one instant fire keepalives first, then by session
//     creation, an order the suites do not hold the core to;
//   - a retained message sent on SUBSCRIBE is a new message (a new MsgID),
//     as the core's event contract says;
//   - the queue cap counts copies that wait; a copy sent as it arrives was
//     never queued;
//   - a takeover closes the old connection without DISCONNECT, so its Will
//     is published [MQTT-3.1.4-2], [MQTT-3.1.2-8].
package model

import (
	"fmt"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Model is the specification's state: connections, sessions by ClientId and
// retained messages. The zero value is not usable; call New.
type Model struct {
	pol      broker.Policy
	now      broker.Time
	conns    []*conn    // open connections, in opening order
	sessions []*session // live sessions, in creation order
	retained []*message // retained messages, one per topic, sorted by topic
	lastMsg  broker.MsgID
	pidBase  uint16 // lastPID of a new session (WithPacketIDBase)
	out      []broker.Output
}

// conn is one open network connection.
type conn struct {
	id        broker.ConnID
	client    string // "" until a CONNECT is accepted
	keepalive broker.Time
	lastRecv  broker.Time
	will      *packet.Publish // nil: no Will, or DISCONNECT discarded it
}

// session is the server-side state of one ClientId.
type session struct {
	client     string
	clean      bool
	conn       broker.ConnID // 0 while offline
	subs       []packet.Subscription
	queue      []*copyOf // not yet sent, oldest first
	inflight   []*copyOf // sent and not yet completed, in first-send order
	inbound2   []uint16  // inbound QoS 2 ids awaiting PUBREL [MQTT-4.3.3-2]
	lastPID    uint16
	expireAt   broker.Time // offline persistent sessions with expiry only
	expires    bool
	replaySent []broker.Time // send times of stored copies since the last resume
}

// message is one accepted application message.
type message struct {
	id        broker.MsgID
	publisher string
	topic     string
	payload   []byte
	qos       packet.QoS
	retain    bool
}

// copyOf is one copy of a message owed to one session.
type copyOf struct {
	msg       *message
	qos       packet.QoS // min(publish QoS, granted QoS)
	retain    bool       // sent with RETAIN=1 (a retained message on SUBSCRIBE)
	queuedAt  broker.Time
	stored    bool // in the queue when the session resumed: paced
	resend    bool // in flight when the session resumed, not yet re-sent: paced
	pid       uint16
	completed bool // QoS 2: PUBREC received, PUBREL sent, awaiting PUBCOMP
	firstSent broker.Time
	lastSent  broker.Time
}

// New returns an empty model of a broker running pol.
func New(pol broker.Policy, opts ...Option) *Model {
	m := &Model{pol: pol}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Option sets a starting value of a new model.
type Option func(*Model)

// WithPacketIDBase starts every new session's outbound packet-id counter at
// id: its first PUBLISH takes id+1, and freeID wraps from 65535 to 1. It is
// the seam broker.Config.PacketIDBase gives the core, so that tests reach
// the wrap within a few messages; zero (the default) starts at 1.
func WithPacketIDBase(id uint16) Option { return func(m *Model) { m.pidBase = id } }

// Policy returns the policy the model specifies.
func (m *Model) Policy() broker.Policy { return m.pol }

// Step applies one input at time now and returns the step's record: the
// outputs the input causes, in the order they happen, as the core's Step
// does. The outputs are reused by the next Step. Inputs for unknown
// connections are ignored, as the core's contract says. Time never goes
// backwards: an earlier now is taken as the current time.
func (m *Model) Step(now broker.Time, in broker.Input) broker.Record {
	m.out = m.out[:0]
	if now > m.now {
		m.now = now
	}
	switch in.Kind {
	case broker.InOpen:
		if c := m.conn(in.Conn); c != nil {
			m.lose(c, broker.ReasonConnLost, false)
		}
		m.conns = append(m.conns, &conn{id: in.Conn, lastRecv: m.now})
	case broker.InPacket:
		if c := m.conn(in.Conn); c != nil {
			c.lastRecv = m.now
			m.packet(c, in.Packet)
		}
	case broker.InLost:
		if c := m.conn(in.Conn); c != nil {
			m.lose(c, broker.ReasonConnLost, false)
		}
	case broker.InMalformed:
		if c := m.conn(in.Conn); c != nil {
			m.protocolError(c)
		}
	case broker.InDeadline:
		m.fireTimers()
	}
	return broker.Record{At: m.now, Input: in, Outputs: m.out}
}

// packet handles one packet from connection c. The first packet must be
// CONNECT [MQTT-3.1.0-1] and only the first [MQTT-3.1.0-2]; packets only a
// server sends are protocol errors [MQTT-4.8.0-1].
func (m *Model) packet(c *conn, p packet.Packet) {
	if cp, ok := p.(*packet.Connect); ok {
		if c.client != "" {
			m.protocolError(c) // [MQTT-3.1.0-2]
			return
		}
		m.connect(c, cp)
		return
	}
	if c.client == "" {
		m.protocolError(c) // [MQTT-3.1.0-1]
		return
	}
	s := m.session(c.client)
	switch p := p.(type) {
	case *packet.Publish:
		m.publish(c, s, p)
	case *packet.Puback:
		m.puback(s, p.PacketID)
	case *packet.Pubrec:
		m.pubrec(s, p.PacketID)
	case *packet.Pubrel:
		s.inbound2 = removeID(s.inbound2, p.PacketID)
		m.send(c.id, &packet.Pubcomp{PacketID: p.PacketID}) // [MQTT-4.3.3-2]
	case *packet.Pubcomp:
		m.pubcomp(s, p.PacketID)
	case *packet.Subscribe:
		m.subscribe(c, s, p)
	case *packet.Unsubscribe:
		m.unsubscribe(c, s, p)
	case *packet.Pingreq:
		m.send(c.id, &packet.Pingresp{}) // [MQTT-3.12.4-1]
	case *packet.Disconnect:
		c.will = nil // [MQTT-3.14.4-3]
		m.lose(c, broker.ReasonClientDisconnect, true)
	default:
		m.protocolError(c) // [MQTT-4.8.0-1]
	}
}

// protocolError closes c; its Will is published [MQTT-4.8.0-1], [MQTT-3.1.2-8].
func (m *Model) protocolError(c *conn) {
	m.emit(broker.Event{Kind: broker.EvProtocolError, Conn: c.id, ClientID: c.client, Reason: broker.ReasonProtocol})
	m.lose(c, broker.ReasonProtocol, true)
}

// conn returns the open connection id, or nil.
func (m *Model) conn(id broker.ConnID) *conn {
	for _, c := range m.conns {
		if c.id == id {
			return c
		}
	}
	return nil
}

// session returns the session of client, or nil.
func (m *Model) session(client string) *session {
	for _, s := range m.sessions {
		if s.client == client {
			return s
		}
	}
	return nil
}

// emit records an observation event at the current time.
func (m *Model) emit(ev broker.Event) {
	ev.At = m.now
	m.out = append(m.out, broker.Output{Kind: broker.OutEvent, Conn: ev.Conn, Event: ev})
}

// send records a packet written on connection id.
func (m *Model) send(id broker.ConnID, p packet.Packet) {
	m.out = append(m.out, broker.Output{Kind: broker.OutSend, Conn: id, Packet: p})
}

// String describes the model's state on one line per session, for failure
// reports.
func (m *Model) String() string {
	s := fmt.Sprintf("model %s t=%v conns=%d", m.pol.Name, m.now, len(m.conns))
	for _, ss := range m.sessions {
		s += "\n  " + ss.String()
	}
	return s
}

// String describes a session on one line.
func (s *session) String() string {
	return fmt.Sprintf("%s clean=%v conn=%d subs=%v queue=%d inflight=%d inbound2=%v expires=%v@%v",
		s.client, s.clean, s.conn, s.subs, len(s.queue), len(s.inflight), s.inbound2, s.expires, s.expireAt)
}

// removeID returns ids without id.
func removeID(ids []uint16, id uint16) []uint16 {
	for i, x := range ids {
		if x == id {
			return append(ids[:i:i], ids[i+1:]...)
		}
	}
	return ids
}
