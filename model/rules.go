package model

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// The rulebook. Each function below states one rule of the specification as
// a pure function of the policy and what an observer knows. The model's own
// Step decides with them, and every checker judges with them (the
// in-simulation checker sim/check, the per-session history specification
// properties/history and the liveness bound), so that each rule is written
// once. The core implements the same rules its own, indexed way; the
// checkers hold it to these.

// KeepaliveDeadline returns when a connection whose last packet arrived at
// lastRecv, with keepalive ka, must be closed: after one and a half times
// the keepalive of silence, not earlier [MQTT-3.1.2-24] (invariant 13). ok
// is false when ka is zero (no keepalive).
func KeepaliveDeadline(lastRecv, ka broker.Time) (at broker.Time, ok bool) {
	if ka <= 0 {
		return 0, false
	}
	return lastRecv + ka*3/2, true
}

// WillFires reports whether a connection that ended for reason publishes
// its Will: every end but a DISCONNECT does [MQTT-3.1.2-8], [MQTT-3.14.4-3]
// (invariant 18).
func WillFires(reason broker.Reason) bool { return reason != broker.ReasonClientDisconnect }

// ExpiryTime returns when a persistent session whose disconnect was detected
// at offlineAt expires under pol: SessionExpiry later, rounded up to the next
// multiple of ExpirySweep when the vendor sweeps (AWS IoT Core: "up to 30
// minutes longer (but not less)", AWS IoT Core message broker and quotas
// pages). It is the model's choice inside ExpiryWindow. Meaningless when
// SessionExpiry is 0.
func ExpiryTime(pol broker.Policy, offlineAt broker.Time) broker.Time {
	at := offlineAt + pol.SessionExpiry
	if w := pol.ExpirySweep; w > 0 && at%w != 0 {
		at += w - at%w
	}
	return at
}

// ExpiryWindow returns the earliest and the latest instant at which a
// persistent session whose disconnect was detected at offlineAt may expire
// under pol (invariant 10): never before offlineAt + SessionExpiry, and by
// ExpirySweep after that (the profile's tolerance). ok is false when pol
// keeps sessions for ever.
func ExpiryWindow(pol broker.Policy, offlineAt broker.Time) (earliest, latest broker.Time, ok bool) {
	if pol.SessionExpiry <= 0 {
		return 0, 0, false
	}
	earliest = offlineAt + pol.SessionExpiry
	return earliest, earliest + pol.ExpirySweep, true
}

// SessionAlive says whether the persistent session of a client, offline
// since offlineAt, still exists at now under pol: alive is the answer and
// sure says whether it is certain (false inside the expiry window, where
// either answer is correct) (invariants 1, 10).
func SessionAlive(pol broker.Policy, offlineAt, now broker.Time) (alive, sure bool) {
	earliest, latest, ok := ExpiryWindow(pol, offlineAt)
	switch {
	case !ok || now < earliest:
		return true, true
	case now > latest:
		return false, true
	}
	return false, false
}

// SessionView is what an observer knows of the session of one ClientId
// when a CONNECT for it arrives.
type SessionView struct {
	Exists    bool        // a session was created and has not ended
	Clean     bool        // it is a CleanSession=1 session
	Online    bool        // a connection holds it
	OfflineAt broker.Time // when its last connection ended (Exists, !Online)
}

// SessionPresent returns the SessionPresent flag a CONNECT with
// CleanSession=clean must get at now, for a session in state s: 1 exactly
// when the client asked to resume and a persistent session existed
// [MQTT-3.2.2-1], [MQTT-3.2.2-2], [MQTT-3.2.2-3]. sure is false when the
// session is inside its expiry window, where either flag is correct
// (invariant 1).
func SessionPresent(pol broker.Policy, s SessionView, clean bool, now broker.Time) (want, sure bool) {
	switch {
	case clean || !s.Exists || s.Clean:
		return false, true
	case s.Online:
		return true, true
	}
	return SessionAlive(pol, s.OfflineAt, now)
}

// MessageQoS returns the QoS at which pol accepts a publication at qos: at
// most the broker's maximum (Policy.QoS2 says what happens to the rest). A
// copy for a subscriber goes at min(MessageQoS, granted QoS) [MQTT-3.8.4-6]
// (invariant 6).
func MessageQoS(pol broker.Policy, qos packet.QoS) packet.QoS { return min(qos, pol.MaxQoS) }

// IgnoresPublish reports whether pol drops a publication at qos without an
// answer (AWS IoT Core quotas page: QoS 2 is not supported, no PUBACK):
// the EvDropped with ReasonQoSUnsupported of a publication refused as a
// whole.
func IgnoresPublish(pol broker.Policy, qos packet.QoS) bool {
	return qos > pol.MaxQoS && pol.QoS2 == broker.QoS2Ignore
}

// StoresOffline reports whether pol keeps a copy at qos for an offline
// session: QoS 1 and 2 always [MQTT-3.1.2-5], QoS 0 only when the policy
// says so (invariants 3, 4).
func StoresOffline(pol broker.Policy, qos packet.QoS) bool { return qos > 0 || pol.StoreQoS0Offline }

// QueueFull reports whether a queue holding n copies is at pol's cap, so
// that the next copy makes a victim (invariant 8).
func QueueFull(pol broker.Policy, n int) bool { return pol.QueueCap > 0 && n >= pol.QueueCap }

// Victim returns which copy pol drops when a copy at QoS arriving reaches a
// full queue of n copies, oldest first, whose QoS qosAt gives: the index of
// a queued copy, or n for the arriving one (invariant 8). DropNewest drops
// the arriving copy (mosquitto.conf(5) max_queued_messages; HiveMQ CE
// "discard"), DropOldest the oldest queued, DropOldestQoS0First the oldest
// QoS 0 copy, the arriving one included, else the oldest (EMQX mqueue
// "mqueue_priorities"/"mqueue_store_qos0"): QoS 0 never evicts QoS 1.
func Victim(pol broker.Policy, n int, qosAt func(i int) packet.QoS, arriving packet.QoS) int {
	switch pol.Overflow {
	case broker.DropOldest:
		return 0
	case broker.DropOldestQoS0First:
		for i := range n {
			if qosAt(i) == 0 {
				return i
			}
		}
		if arriving == 0 {
			return n
		}
		return 0
	}
	return n // DropNewest
}

// TTLExpired reports whether a copy queued at queuedAt has outlived pol's
// MessageTTL at now: it must not be sent any more, and is dropped with
// ReasonTTL (Tencent IoT Hub: stored "for a maximum of 24 hours")
// (invariant 9). The TTL applies to queued copies, not to copies in flight.
func TTLExpired(pol broker.Policy, queuedAt, now broker.Time) bool {
	return pol.MessageTTL > 0 && now >= queuedAt+pol.MessageTTL
}

// RetryGivenUp reports whether pol gives up a copy first sent at firstSent
// and still unacknowledged at now on a live connection (AWS IoT Core:
// retried "for up to one hour"): it is dropped with ReasonRetryExhausted.
// Offline, unacknowledged copies are stored until the session resumes or
// expires.
func RetryGivenUp(pol broker.Policy, firstSent, now broker.Time) bool {
	return pol.RetryFor > 0 && now >= firstSent+pol.RetryFor
}

// PaceWindow is how many of the latest stored sends PaceAt looks at.
func PaceWindow(broker.Policy) int { return 1 }

// PaceAt returns the earliest time pol lets a resumed session send its next
// stored copy, given the send times of the stored copies sent since the
// resume, oldest first (only the last PaceWindow matter): ReplayInterval
// after the last one (Tencent IoT Hub: "sequentially at 500 ms
// intervals"), and 1/ReplayRate after it, so that a client never receives
// more than ReplayRate stored messages in any one second (AWS IoT Core: "a
// maximum rate of 10 messages per second"; a burst of 10 at once, a second
// apart, would let a client see up to 19 in one second) (invariant 11).
// Zero means now.
func PaceAt(pol broker.Policy, sent []broker.Time) broker.Time {
	n := len(sent)
	if n == 0 {
		return 0
	}
	at := sent[n-1] + pol.ReplayInterval
	if r := pol.ReplayRate; r > 0 {
		at = max(at, sent[n-1]+time.Second/time.Duration(r))
	}
	return at
}

// ReplayDrain returns how long pol's pacing takes at least to send n stored
// copies, the first at once (the liveness bound, invariant 16).
func ReplayDrain(pol broker.Policy, n int) broker.Time {
	var sent []broker.Time
	at := broker.Time(0)
	for range n {
		at = PaceAt(pol, sent)
		sent = append(sent, at)
		if w := PaceWindow(pol); len(sent) > w {
			sent = sent[len(sent)-w:]
		}
	}
	return at
}

// Resume splits the copies in flight when a session resumes, in first-send
// order, into the PUBLISHes re-sent with DUP=1 and their packet ids in that
// order and the QoS 2 flows past PUBREC, which are owed a PUBREL
// [MQTT-4.4.0-1], [MQTT-4.6.0-1] (invariant 5). released says whether a
// copy got its PUBREC.
func Resume[T any](inflight []T, released func(T) bool) (resend, pubrel []T) {
	for _, x := range inflight {
		if released(x) {
			pubrel = append(pubrel, x)
		} else {
			resend = append(resend, x)
		}
	}
	return resend, pubrel
}

// NextPacketID returns the packet id after last that no in-flight copy
// holds: ids run 1..65535 and wrap, never 0 [MQTT-2.3.1-1], never one in
// use [MQTT-2.3.1-2] (invariant 14). The window keeps fewer than 65535
// copies in flight, so there always is one.
func NextPacketID(last uint16, inUse func(uint16) bool) uint16 {
	for {
		last++
		if last == 0 {
			last = 1
		}
		if !inUse(last) {
			return last
		}
	}
}

// PacketIDProblem returns why a first send of a copy with packet id pid at
// qos breaks invariant 14, and the spec ID it breaks, or "" twice: QoS 1 and
// 2 need a non-zero id [MQTT-2.3.1-1] that no other in-flight copy of the
// session holds [MQTT-2.3.1-2].
func PacketIDProblem(qos packet.QoS, pid uint16, inUse func(uint16) bool) (why, spec string) {
	switch {
	case qos == 0:
		return "", ""
	case pid == 0:
		return "packet id 0", "[MQTT-2.3.1-1]"
	case inUse(pid):
		return "packet id still held by another message in flight", "[MQTT-2.3.1-2]"
	}
	return "", ""
}

// InOrder reports whether a subscriber's first receipt of message next may
// follow its first receipt of message prev of the same publisher and topic:
// messages are numbered in the order the broker accepted them, and first
// deliveries never go backwards [MQTT-4.6.0-6] (invariant 7).
func InOrder(prev, next broker.MsgID) bool { return next > prev }

// CopyView is what an observer knows of one copy owed to a session when
// the broker drops it.
type CopyView struct {
	QoS       packet.QoS
	Queued    bool        // waiting in the session's queue (not in flight)
	QueuedAt  broker.Time // when it joined the queue
	Sent      bool        // sent at least once
	FirstSent broker.Time
}

// DropView is the session side of a drop: the session's state and whether
// the input being stepped is a CleanSession=1 CONNECT for it.
type DropView struct {
	Online       bool
	Clean        bool // a CleanSession=1 session
	OfflineAt    broker.Time
	CleanConnect bool
}

// MayDiscard reports whether a session may end without expiring (with its
// copies dropped as discarded): a clean session when its connection ends, or
// any session replaced by a CleanSession=1 CONNECT; a persistent session
// otherwise ends only by expiry [MQTT-3.1.2-4], [MQTT-3.1.2-6] (invariants
// 2, 3).
func MayDiscard(s DropView) bool { return s.Clean || s.CleanConnect }

// DropProblem returns why pol does not allow dropping copy c of session s
// for reason at now, or "" when it does (invariants 3, 4, 9, 10; the victim
// of an overflow is Victim's to decide, invariant 8): a QoS 1 or 2 copy owed
// to a persistent session is delivered unless the policy drops it for one
// of its reasons [MQTT-3.1.2-5].
func DropProblem(pol broker.Policy, reason broker.Reason, c CopyView, s DropView, now broker.Time) string {
	switch reason {
	case broker.ReasonQueueFull:
		if pol.QueueCap == 0 {
			return "the policy has no queue cap"
		}
	case broker.ReasonTTL:
		if pol.MessageTTL == 0 {
			return "the policy has no message TTL"
		}
		if !c.Queued || !TTLExpired(pol, c.QueuedAt, now) {
			return "only a queued copy past the message TTL may be dropped for it (invariant 9)"
		}
	case broker.ReasonSessionExpired:
		if s.Online {
			return "the session is connected [MQTT-4.1.0-1]"
		}
		if earliest, _, ok := ExpiryWindow(pol, s.OfflineAt); !ok || now < earliest {
			return "the session may not expire yet (invariant 10)"
		}
	case broker.ReasonSessionDiscarded:
		if !MayDiscard(s) {
			return "a persistent session ends only by expiry or a CleanSession=1 CONNECT [MQTT-3.1.2-4]"
		}
	case broker.ReasonQoS0Offline:
		if s.Online || StoresOffline(pol, c.QoS) {
			return "only a QoS 0 copy for an offline session may be dropped as not stored, and only if the policy does not store QoS 0 (invariant 4)"
		}
	case broker.ReasonRetryExhausted:
		if !s.Online || !c.Sent || !RetryGivenUp(pol, c.FirstSent, now) {
			return "only a copy unacknowledged on a live connection for the policy's retry time may be given up"
		}
	case broker.ReasonNotAuthorized:
	default:
		return "not a reason to drop a copy"
	}
	return ""
}
