package broker

import (
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Policy configures every behaviour that differs between MQTT systems. A zero
// duration or count means "none" or "unlimited" where the field says so.
// Named presets are returned by Profile; each field of a preset cites its
// source next to it.
type Policy struct {
	// Name is the profile's name, e.g. "tencent".
	Name string

	// MaxQoS is the highest QoS granted to a subscription and accepted on
	// PUBLISH (1 or 2).
	MaxQoS packet.QoS
	// QoS2 says what happens to QoS 2 requests when MaxQoS < 2.
	QoS2 QoS2Handling

	// StoreQoS0Offline queues QoS 0 messages for offline persistent sessions.
	StoreQoS0Offline bool
	// QueueCap is the most messages queued per session (0: unlimited),
	// online or offline: copies beyond the in-flight window wait in the same
	// queue, retained messages sent on SUBSCRIBE included, as Mosquitto's
	// max_queued_messages (mosquitto.conf(5): "above those messages that are
	// currently in flight") and EMQX's mqueue (docs.emqx.com, "In-flight and
	// Message Queue") do for connected clients.
	QueueCap int
	// Overflow chooses the victim when a message arrives at a full queue.
	Overflow Overflow
	// MessageTTL drops stored messages older than this (0: never).
	MessageTTL time.Duration

	// SessionExpiry expires a persistent session this long after its
	// disconnect is detected (0: never).
	SessionExpiry time.Duration
	// ExpirySweep models a vendor that expires sessions late: expiry happens
	// at the first multiple of ExpirySweep (on the broker's time axis) at or
	// after disconnect+SessionExpiry, so never early and at most ExpirySweep
	// late (0: exactly at disconnect+SessionExpiry).
	ExpirySweep time.Duration

	// ReplayInterval is the least spacing between stored messages sent after
	// a session resumes (0: no spacing).
	ReplayInterval time.Duration
	// ReplayRate is the most stored messages a client receives in any one
	// second after its session resumes (0: unlimited): consecutive stored
	// messages leave at least 1/ReplayRate apart.
	ReplayRate int
	// ReplayBlocksLive holds live messages behind the stored backlog until
	// it has drained (sequential replay); otherwise live traffic interleaves.
	ReplayBlocksLive bool

	// InflightWindow is the most unacknowledged outbound QoS>0 messages per
	// session (0: unlimited); the rest wait in the queue.
	InflightWindow int
	// RetryInterval re-sends an unacknowledged PUBLISH (DUP=1) on a live
	// connection after this long (0: resend on reconnect only).
	RetryInterval time.Duration
	// RetryFor gives up retrying an unacknowledged message after this long
	// since its first send, dropping it (0: never give up).
	RetryFor time.Duration

	// MaxPacketSize bounds an inbound packet's total size in bytes (0: the
	// protocol maximum). Byte-framing drivers enforce it before decoding; the
	// core closes a connection whose PUBLISH exceeds it.
	MaxPacketSize int

	// Promises lists the invariants (numbered as in the README's table) this profile
	// promises; the property suites check exactly these.
	Promises Invariants
}

// QoS2Handling is what a broker with MaxQoS < 2 does with QoS 2 requests.
type QoS2Handling int

const (
	// QoS2Downgrade grants min(requested, MaxQoS) on SUBSCRIBE and handles a
	// QoS 2 PUBLISH as if it were QoS MaxQoS.
	QoS2Downgrade QoS2Handling = iota
	// QoS2Refuse answers SUBSCRIBE with 0x80 for QoS 2 filters and closes a
	// connection that publishes with QoS 2.
	QoS2Refuse
	// QoS2Ignore sends no SUBACK or PUBACK at all for QoS 2 requests and
	// drops the message (AWS IoT Core).
	QoS2Ignore
)

// Overflow chooses the victim when a message arrives at a full session queue.
type Overflow int

const (
	// DropNewest refuses the arriving message.
	DropNewest Overflow = iota
	// DropOldest evicts the oldest queued message to make room.
	DropOldest
	// DropOldestQoS0First evicts the oldest QoS 0 message if any, else the
	// oldest message (EMQX).
	DropOldestQoS0First
)

// Invariant numbers one of the 18 invariants of the README's table, each
// decided by a function of package model (see model/rules.go).
type Invariant uint8

// The invariants, numbered as in the README's table.
const (
	InvSessionPresent Invariant = 1 + iota
	InvCleanSession
	InvOfflineStorage
	InvQoS0NotStored
	InvRedelivery
	InvQoSGuarantee
	InvOrder
	InvQueueBound
	InvTTL
	InvExpiry
	InvPacing
	InvTakeover
	InvKeepalive
	InvPacketIDs
	InvConservation
	InvLiveness
	InvDeterminism
	InvWill
)

// Invariants is a set of invariants, one bit per number.
type Invariants uint32

// Has reports whether the set contains inv.
func (s Invariants) Has(inv Invariant) bool { return s&(1<<inv) != 0 }

// With returns the set with invs added.
func (s Invariants) With(invs ...Invariant) Invariants {
	for _, inv := range invs {
		s |= 1 << inv
	}
	return s
}

// Without returns the set with invs removed.
func (s Invariants) Without(invs ...Invariant) Invariants {
	for _, inv := range invs {
		s &^= 1 << inv
	}
	return s
}

// AllInvariants is the set of all eighteen invariants.
var AllInvariants = Invariants(0).With(
	InvSessionPresent, InvCleanSession, InvOfflineStorage, InvQoS0NotStored,
	InvRedelivery, InvQoSGuarantee, InvOrder, InvQueueBound, InvTTL, InvExpiry,
	InvPacing, InvTakeover, InvKeepalive, InvPacketIDs, InvConservation,
	InvLiveness, InvDeterminism, InvWill)
