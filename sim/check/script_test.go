package check

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// script drives a Checker by hand, playing the broker and the simulator,
// so that each test states exactly the history it judges. It gathers each
// step's record: an input starts one, outputs join it, and the checker sees
// it whole when the next step starts, a receipt comes or the test asks for
// the verdict. Outputs played at a new time without an input form a
// deadline step.
type script struct {
	k   *Checker
	now time.Duration
	rec *broker.Record // the step being played, nil when none
}

func newScript(pol broker.Policy) *script {
	return &script{k: New(Config{Policy: pol, HealAt: time.Hour, Bound: 10 * time.Minute})}
}

// at moves the clock, ending the step being played.
func (s *script) at(t time.Duration) *script {
	if t != s.now {
		s.flush()
	}
	s.now = t
	return s
}

// flush hands the step being played to the checker.
func (s *script) flush() {
	if s.rec != nil {
		s.k.Step(s.rec)
		s.rec = nil
	}
}

func (s *script) in(in broker.Input) {
	s.flush()
	s.rec = &broker.Record{At: s.now, Input: in}
}

// out adds an output to the step being played.
func (s *script) out(o broker.Output) {
	if s.rec == nil {
		s.in(broker.Input{Kind: broker.InDeadline})
	}
	s.rec.Outputs = append(s.rec.Outputs, o)
}

// finish ends the run at end and returns the checker's verdict.
func (s *script) finish(end time.Duration) *Violation {
	s.flush()
	return s.k.Finish(end)
}

// violation returns the first violation found so far.
func (s *script) violation() *Violation {
	s.flush()
	return s.k.Violation()
}

func (s *script) packetIn(c broker.ConnID, p packet.Packet) {
	s.in(broker.Input{Kind: broker.InPacket, Conn: c, Packet: p})
}

func (s *script) send(c broker.ConnID, p packet.Packet) {
	s.out(broker.Output{Kind: broker.OutSend, Conn: c, Packet: p})
}

func (s *script) ev(e broker.Event) {
	e.At = s.now
	s.out(broker.Output{Kind: broker.OutEvent, Event: e})
}

func (s *script) recv(id string, p *packet.Publish) {
	s.flush()
	s.k.Received(s.now, id, p)
}

// connect opens conn c for id and plays the broker accepting it with the
// given SessionPresent; a new session is created when sp is false.
func (s *script) connect(c broker.ConnID, id string, clean bool, keepalive uint16, sp bool) {
	s.in(broker.Input{Kind: broker.InOpen, Conn: c})
	s.packetIn(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id, CleanSession: clean, KeepAlive: keepalive})
	if sp {
		s.ev(broker.Event{Kind: broker.EvSessionResumed, Conn: c, ClientID: id})
	} else {
		s.ev(broker.Event{Kind: broker.EvSessionCreated, ClientID: id, Clean: clean})
	}
	s.send(c, &packet.Connack{SessionPresent: sp})
	s.ev(broker.Event{Kind: broker.EvConnected, Conn: c, ClientID: id, SessionPresent: sp, Clean: clean})
}

// lose plays conn c of id breaking without DISCONNECT.
func (s *script) lose(c broker.ConnID, id string) {
	s.in(broker.Input{Kind: broker.InLost, Conn: c})
	s.ev(broker.Event{Kind: broker.EvDisconnected, Conn: c, ClientID: id, Reason: broker.ReasonConnLost})
}

// publish plays a PUBLISH with payload id uid arriving from publisher on
// conn c and being accepted as message m owing copies.
func (s *script) publish(c broker.ConnID, publisher string, m broker.MsgID, uid uint64, topic string, qos packet.QoS, copies int) {
	s.packetIn(c, &packet.Publish{QoS: qos, Topic: topic, PacketID: uint16(uid), Payload: payload(uid)})
	s.ev(broker.Event{Kind: broker.EvPublished, ClientID: publisher, Msg: m, Topic: topic, QoS: qos, Copies: copies, Publisher: publisher,
		Cause: broker.Cause{Kind: broker.CausePublish, Conn: c, PacketID: uint16(uid)}})
}

// sent plays the broker sending message m to id on conn c.
func (s *script) sent(c broker.ConnID, id string, m broker.MsgID, uid uint64, topic string, qos packet.QoS, pid uint16, dup, stored bool) {
	s.send(c, &packet.Publish{Dup: dup, QoS: qos, Topic: topic, PacketID: pid, Payload: payload(uid)})
	s.ev(broker.Event{Kind: broker.EvSent, Conn: c, ClientID: id, Msg: m, Topic: topic, QoS: qos, PacketID: pid,
		Dup: dup, Stored: stored, Publisher: "pub"})
}

// copyEv plays a copy event of kind for message m and id.
func (s *script) copyEv(kind broker.EventKind, id string, m broker.MsgID, qos packet.QoS, r broker.Reason) {
	s.ev(broker.Event{Kind: kind, ClientID: id, Msg: m, Topic: "t", QoS: qos, Reason: r, Publisher: "pub"})
}

// payload returns the simulator's 8-byte big-endian payload for uid.
func payload(uid uint64) []byte {
	p := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		p[i] = byte(uid)
		uid >>= 8
	}
	return p
}
