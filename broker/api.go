package broker

import (
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// ConnID names one network connection. The driver assigns it when the
// connection opens and never reuses it.
type ConnID uint64

// MsgID names one accepted application message (one PUBLISH from a client, or
// one Will). The broker assigns them in increasing order; every copy routed to
// a subscriber carries the MsgID of the message it copies.
type MsgID uint64

// Time is the driver's clock: time since an epoch of the driver's choosing
// (virtual time in the simulator, time since start in the TCP server).
type Time = time.Duration

// InputKind says what happened.
type InputKind uint8

// Input kinds.
const (
	// InOpen: a connection was accepted.
	InOpen InputKind = iota + 1
	// InPacket: a decoded packet arrived on a connection.
	InPacket
	// InLost: the connection broke (reset, EOF, write error) without DISCONNECT.
	InLost
	// InMalformed: the connection sent bytes that do not decode; the broker
	// closes it and treats it as lost (the Will fires) [MQTT-4.8.0-1].
	InMalformed
	// InDeadline: the time returned by NextDeadline was reached.
	InDeadline
	// InRecover is never an input of Step: it is the Input of the Record
	// that Recover returns, the step in which a broker was rebuilt from
	// its durable state.
	InRecover
)

// Input is one thing that happened to the broker.
type Input struct {
	Kind   InputKind
	Conn   ConnID        // for InOpen, InPacket, InLost, InMalformed
	Packet packet.Packet // for InPacket
	Err    error         // for InMalformed (the decode error), optional for InLost
}

// OutputKind says what the driver must do or may observe.
type OutputKind uint8

// Output kinds.
const (
	// OutSend: write Packet on Conn.
	OutSend OutputKind = iota + 1
	// OutClose: close Conn (after writing what was sent before on it). The
	// broker has already forgotten the connection; no InLost is expected
	// for it (one that arrives anyway is ignored).
	OutClose
	// OutEvent: an observation event for checkers and metrics.
	OutEvent
)

// Output is one thing the broker asks of the driver, or reports.
type Output struct {
	Kind   OutputKind
	Conn   ConnID
	Packet packet.Packet // for OutSend
	Event  Event         // for OutEvent
}

// EventKind names an observation event.
type EventKind uint8

// Event kinds. Every copy of a message ends in exactly one of Delivered
// (acknowledged, or sent at QoS 0) or Dropped, unless still pending.
const (
	// EvConnected: a CONNECT was accepted (Conn, ClientID, SessionPresent, Clean).
	EvConnected EventKind = iota + 1
	// EvRefused: a CONNECT was refused with ReturnCode.
	EvRefused
	// EvDisconnected: a connection's session went offline (Reason says why).
	EvDisconnected
	// EvSessionCreated: a new session was created for ClientID.
	EvSessionCreated
	// EvSessionResumed: an existing session was resumed.
	EvSessionResumed
	// EvSessionTakenOver: a second connection took over ClientID; the old
	// connection (Conn) is closed [MQTT-3.1.4-2].
	EvSessionTakenOver
	// EvSessionDiscarded: the session ended without expiring (clean session
	// disconnect, or CleanSession=1 on connect replacing a persistent one).
	EvSessionDiscarded
	// EvSessionExpired: a persistent session expired.
	EvSessionExpired
	// EvPublished: a message (Msg) was accepted from ClientID on Topic; Copies
	// is the number of subscriber copies owed, one per matching session
	// [MQTT-3.3.5-1]. A retained message sent on SUBSCRIBE is a new message
	// with Retain set and one copy. Cause says where it came from: a
	// PUBLISH, a Will or a retained replay.
	EvPublished
	// EvEnqueued: a copy of Msg for ClientID was queued (session offline,
	// in-flight window full, or paced replay).
	EvEnqueued
	// EvSent: a copy of Msg was sent to ClientID (PacketID; Dup for resends;
	// Stored when it is part of the replay after a resume: a re-sent
	// unacknowledged copy or one queued before the resume, the sends the
	// policy paces). A PUBREL re-sent on resume is not an EvSent.
	EvSent
	// EvDelivered: a copy of Msg reached its end state for ClientID: QoS 0
	// sent, QoS 1 PUBACK, QoS 2 PUBREC received.
	EvDelivered
	// EvDropped: a copy of Msg for ClientID was dropped, with Reason. A
	// publication refused as a whole (ReasonNotAuthorized by CanPublish,
	// ReasonQoSUnsupported under QoS2Ignore) is one EvDropped with
	// ClientID = Publisher and a fresh Msg, and no EvPublished: it owed no
	// copies.
	EvDropped
	// EvWillPublished: the Will of ClientID was published as Msg.
	EvWillPublished
	// EvRetained: a retained message was set or cleared on Topic.
	EvRetained
	// EvSubscribed, EvUnsubscribed: ClientID's subscriptions changed.
	EvSubscribed
	EvUnsubscribed
	// EvProtocolError: Conn violated the protocol and was closed (Reason).
	EvProtocolError
	// EvSessionRestored: Recover rebuilt the persistent session ClientID
	// from the durable state (At: the boot).
	EvSessionRestored
	// EvCopyRestored: Recover rebuilt ClientID's copy of Msg: queued, or in
	// flight with PacketID (Dup set when its PUBREC had arrived: it waits
	// for PUBCOMP).
	EvCopyRestored
)

// Reason says why a copy was dropped, a session went offline or a connection
// was closed.
type Reason uint8

// Reasons.
const (
	ReasonNone Reason = iota
	// Drop reasons.
	ReasonQueueFull        // queue at cap, this copy was the policy's victim
	ReasonTTL              // stored longer than MessageTTL
	ReasonSessionExpired   // session expired with this copy queued or in flight
	ReasonSessionDiscarded // session discarded (clean) with this copy pending
	ReasonQoS0Offline      // QoS 0 message for an offline session, not stored
	ReasonNotAuthorized    // ACL denied
	ReasonQoSUnsupported   // QoS 2 publish on a QoS 1 broker that ignores it
	ReasonRetryExhausted   // unacknowledged longer than RetryFor
	// Disconnect reasons.
	ReasonClientDisconnect // DISCONNECT received
	ReasonConnLost         // InLost
	ReasonKeepalive        // no packet within 1.5 x keepalive [MQTT-3.1.2-24]
	ReasonTakeover         // another connection took the ClientId
	ReasonProtocol         // protocol violation or malformed packet
)

// Event is one observation. Fields not meaningful for a kind are zero.
// (Fields are ordered against padding: every Output carries one.)
type Event struct {
	At        Time
	Conn      ConnID
	ClientID  string
	Msg       MsgID
	Topic     string
	Copies    int    // EvPublished: copies owed
	Publisher string // EvSent/EvDelivered/EvDropped/EvEnqueued: who published Msg
	// Cause is what made the broker accept Msg: set on EvPublished,
	// EvWillPublished and the EvDropped of a publication refused as a whole.
	Cause          Cause
	Kind           EventKind
	QoS            packet.QoS
	PacketID       uint16
	Dup            bool
	Stored         bool // EvSent: the copy came from the offline/replay queue
	Retain         bool // EvPublished, EvSent: a retained message replayed on SUBSCRIBE (RETAIN=1)
	SessionPresent bool
	Clean          bool
	ReturnCode     packet.ReturnCode
	Reason         Reason
}
