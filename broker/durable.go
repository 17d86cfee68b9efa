package broker

import (
	"strconv"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Durable state. With Config.Durable set, every Step lists in Record.Changes
// the changes to the broker's durable state that the step made, in order:
// what a store must keep so that a broker rebuilt from it (Recover) holds
// every promise the old one made before it crashed. Like etcd raft's Ready
// ("persist entries before sending messages"), the rule for drivers is:
//
//	An output of a step is performed only after every change of the step
//	is durable.
//
// The issue that matters is acknowledgements (CONNACK, SUBACK, UNSUBACK,
// PUBACK, PUBREC, PUBCOMP): a client that got one may forget what it sent.
// QoS 2 PUBLISH and PUBREL wait too, because a QoS 2 receiver holds a
// packet id until PUBREL, so the id must not go to another message after a
// crash [MQTT-2.3.1-2], [MQTT-4.3.3-2], and a PUBREL must not precede the
// durable PUBREC it answers, or the copy would be sent again after the
// subscriber completed it. One relaxation is safe: a PUBLISH at QoS 0 or 1
// may go first when nothing earlier on its connection waits, because if
// the step is lost the copy comes again after the restart (at least once,
// [MQTT-4.3.2-1]) and a QoS 1 receiver keeps no packet ids. The simulator's
// disk holds every output of a step (the plain rule); serve --data sends
// those PUBLISHes at once and holds the rest, committing in groups.
//
// What is durable: persistent sessions (CleanSession=0) with their
// subscriptions, queued copies, copies in flight with their packet ids and
// whether PUBREC arrived, inbound QoS 2 packet ids awaiting PUBREL, and the
// time each went offline; message bodies those copies refer to; retained
// messages. What is not: connections, clean sessions (they end with their
// connection, and a crash ends every connection [MQTT-3.1.2-6]), Wills, and
// the pacing and re-send bookkeeping of an online session, which a resume
// starts afresh.
//
// A Will is part of the connection's state, not the session's: "a Will
// Message MUST be stored on the Server and associated with the Network
// Connection" [MQTT-3.1.2-8]. sessionlab does not make it durable, so a
// connection that dies with the broker publishes no Will; every profile
// behaves so, and the simulator's checker knows it.

// ChangeKind says what changed in the durable state.
type ChangeKind uint8

// Change kinds. Each names the fields it uses; the rest are zero.
const (
	// ChSession: the persistent session ClientID (creation sequence Seq,
	// user User) came online (Online, At) or went offline at At, the time
	// the broker detected the disconnect. Creates the session if needed.
	ChSession ChangeKind = iota + 1
	// ChSessionEnded: the session ClientID was discarded or expired
	// (Reason): forget it with all it holds.
	ChSessionEnded
	// ChSubscribed: ClientID subscribed to filter Topic with granted QoS.
	ChSubscribed
	// ChUnsubscribed: ClientID unsubscribed from filter Topic.
	ChUnsubscribed
	// ChMessage: the body of message Msg (Publisher, Topic, Payload, QoS,
	// Retain), which durable copies or the retained store refer to. It
	// precedes the first change that refers to Msg.
	ChMessage
	// ChMessageGone: nothing durable refers to Msg any more.
	ChMessageGone
	// ChQueued: a copy of Msg at QoS was queued for ClientID at At. Queued
	// copies are in Msg order (message ids grow in acceptance order).
	ChQueued
	// ChSent: a copy of Msg at QoS was sent to ClientID for the first time
	// at At with PacketID (QoS 1 and 2), from its queue or directly. Copies
	// in flight are in the order of their ChSent.
	ChSent
	// ChPubrec: the PUBREC of ClientID's copy of Msg arrived; it now waits
	// for PUBCOMP.
	ChPubrec
	// ChCopyGone: ClientID's copy of Msg is done: acknowledged, delivered at
	// QoS 0 from the queue, or dropped (Reason).
	ChCopyGone
	// ChInbound: ClientID's QoS 2 PUBLISH PacketID was accepted and waits
	// for PUBREL [MQTT-4.3.3-2].
	ChInbound
	// ChReleased: ClientID's PUBREL for PacketID arrived.
	ChReleased
	// ChRetained: topic Topic retains message Msg, or none when Msg is 0
	// [MQTT-3.3.1-5], [MQTT-3.3.1-10].
	ChRetained
	// ChMsgIDs: message ids up to Msg may be in use; a recovered broker
	// assigns ids above it, so no id names two messages across a crash.
	ChMsgIDs
)

var changeKindNames = [...]string{"", "session", "session-ended", "subscribed", "unsubscribed",
	"message", "message-gone", "queued", "sent", "pubrec", "copy-gone", "inbound", "released",
	"retained", "msg-ids"}

// String returns the kind's name, e.g. "queued".
func (k ChangeKind) String() string { return enumName(changeKindNames[:], int(k), "change") }

// Change is one change to the durable state. Fields not used by its Kind
// are zero.
type Change struct {
	At        Time
	Msg       MsgID
	Seq       uint64 // ChSession: the session's creation sequence
	ClientID  string
	Topic     string // ChSubscribed, ChUnsubscribed: the filter; ChMessage, ChRetained: the topic
	User      string // ChSession
	Publisher string // ChMessage
	Payload   []byte // ChMessage: shared with the broker, never written
	Kind      ChangeKind
	QoS       packet.QoS
	PacketID  uint16
	Online    bool // ChSession
	Retain    bool // ChMessage: a retained message replayed on SUBSCRIBE
	Reason    Reason
}

// String describes the change, e.g. "queued dev-1 m7 q1 @1.5s".
func (c Change) String() string {
	s := c.Kind.String()
	if c.ClientID != "" {
		s += " " + c.ClientID
	}
	if c.Msg != 0 {
		s += " m" + strconv.FormatUint(uint64(c.Msg), 10)
	}
	switch c.Kind {
	case ChSession:
		s += " seq=" + strconv.FormatUint(c.Seq, 10) + " online=" + strconv.FormatBool(c.Online)
	case ChSubscribed, ChUnsubscribed, ChRetained, ChMessage:
		s += " " + strconv.Quote(c.Topic)
	}
	switch c.Kind {
	case ChSubscribed, ChMessage, ChQueued, ChSent:
		s += " q" + strconv.Itoa(int(c.QoS))
	}
	if c.PacketID != 0 {
		s += " #" + strconv.Itoa(int(c.PacketID))
	}
	if c.Reason != ReasonNone {
		s += " " + c.Reason.String()
	}
	switch c.Kind {
	case ChSession, ChQueued, ChSent:
		s += " @" + c.At.String()
	}
	return s
}

// msgIDBlock is how many message ids one ChMsgIDs reserves.
const msgIDBlock = 1 << 12

// change records c when the broker keeps durable state.
func (b *Broker) change(c Change) {
	if b.cfg.Durable {
		b.changes = append(b.changes, c)
	}
}

// newMsgID assigns the next message id, reserving a block first when the
// broker keeps durable state.
func (b *Broker) newMsgID() MsgID {
	b.nextMsg++
	if b.cfg.Durable && b.nextMsg > b.reservedMsg {
		b.reservedMsg = b.nextMsg + msgIDBlock - 1
		b.change(Change{Kind: ChMsgIDs, Msg: b.reservedMsg})
	}
	return b.nextMsg
}

// keepMessage makes m durable before the first change that refers to it.
func (b *Broker) keepMessage(m *message) {
	if !b.cfg.Durable || m.durable {
		return
	}
	m.durable = true
	b.change(Change{Kind: ChMessage, Msg: m.id, Publisher: m.publisher, Topic: m.topic,
		Payload: m.payload, QoS: m.qos, Retain: m.retain})
}

// keepSession records that s came online or went offline, when it is
// persistent.
func (b *Broker) keepSession(s *session) {
	if s.clean {
		return
	}
	c := Change{Kind: ChSession, ClientID: s.clientID, Seq: s.seq, User: s.user, At: b.now, Online: s.online()}
	if !c.Online {
		c.At = s.offlineAt
	}
	b.change(c)
}

// keepQueued records that d was queued for s, when s is persistent.
func (b *Broker) keepQueued(s *session, d *delivery) {
	if s.clean || !b.cfg.Durable {
		return
	}
	b.keepMessage(d.msg)
	d.kept = true
	b.change(Change{Kind: ChQueued, ClientID: s.clientID, Msg: d.msg.id, QoS: d.qos, At: d.at})
}

// keepSent records the first send of d (QoS 1 or 2) to s, when s is
// persistent.
func (b *Broker) keepSent(s *session, d *delivery) {
	if s.clean || !b.cfg.Durable {
		return
	}
	b.keepMessage(d.msg)
	d.kept = true
	b.change(Change{Kind: ChSent, ClientID: s.clientID, Msg: d.msg.id, QoS: d.qos, PacketID: d.pid, At: d.firstSent})
}

// keepGone records that s's copy d is done, when it was durable.
func (b *Broker) keepGone(s *session, d *delivery, reason Reason) {
	if d.kept {
		d.kept = false
		b.change(Change{Kind: ChCopyGone, ClientID: s.clientID, Msg: d.msg.id, Reason: reason})
	}
}
