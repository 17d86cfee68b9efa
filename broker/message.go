package broker

import "github.com/sessionlab/sessionlab/broker/packet"

// message is one accepted application message. Every copy routed to a
// subscriber points at the same message, so the payload is stored once.
// Messages are reference counted (one per pending copy, one while retained)
// and recycled through the broker's free list when the count reaches zero.
type message struct {
	id        MsgID
	publisher string
	topic     string
	payload   []byte // shared with the inbound PUBLISH; never written
	qos       packet.QoS
	retain    bool // sent with RETAIN=1: a retained message replayed on SUBSCRIBE
	durable   bool // a ChMessage listed it (Config.Durable)
	refs      int32
}

// newMessage returns a message with a fresh MsgID and no references.
func (b *Broker) newMessage(publisher, topic string, payload []byte, qos packet.QoS, retain bool) *message {
	var m *message
	if n := len(b.freeMsgs); n > 0 {
		m = b.freeMsgs[n-1]
		b.freeMsgs = b.freeMsgs[:n-1]
	} else {
		m = new(message)
	}
	*m = message{id: b.newMsgID(), publisher: publisher, topic: topic, payload: payload, qos: qos, retain: retain}
	b.payloadBytes += len(payload)
	return m
}

// hold adds a reference to m.
func (m *message) hold() { m.refs++ }

// release drops a reference to m and recycles it when none remain.
func (b *Broker) release(m *message) {
	m.refs--
	if m.refs > 0 {
		return
	}
	if m.refs < 0 {
		panic("broker: message " + m.topic + " released more often than held")
	}
	if m.durable {
		b.change(Change{Kind: ChMessageGone, Msg: m.id})
	}
	b.payloadBytes -= len(m.payload)
	*m = message{}
	if len(b.freeMsgs) < maxFreeMsgs {
		b.freeMsgs = append(b.freeMsgs, m)
	}
}

// maxFreeMsgs bounds the free list so a burst does not pin memory forever.
const maxFreeMsgs = 4096

// copyState is where one copy of a message stands for one session.
type copyState uint8

const (
	copyQueued   copyState = iota // waiting in the session queue
	copyWaitAck                   // PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
	copyWaitComp                  // PUBREL sent, waiting for PUBCOMP (QoS 2)
)

// delivery is one copy of a message owed to one session. It is a value type
// held in the session's queue ring or in-flight slice: 40 bytes per copy.
type delivery struct {
	msg       *message
	at        Time // when the copy was queued (TTL is timed from here)
	firstSent Time // first PUBLISH (RetryFor is timed from here)
	lastSent  Time // last PUBLISH or PUBREL (RetryInterval is timed from here)
	pid       uint16
	qos       packet.QoS // effective QoS: min(publish, granted)
	state     copyState
	stored    bool // queued before a resume: part of the paced replay backlog
	resend    bool // in flight at a resume: must be re-sent before anything new
	kept      bool // a ChQueued or ChSent listed it (Config.Durable)
}
