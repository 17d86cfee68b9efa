package history

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

// session is the specification's state of one ClientId: what a correct
// broker may do next is a function of it and the policy. Values are never
// mutated once built: step returns a new one (porcupine requires it).
type session struct {
	exists, online bool
	clean          bool // the session was created by a CleanSession=1 CONNECT
	offlineAt      broker.Time
	owed           []owed        // copies owed, in enqueue order
	paced          []broker.Time // stored sends since the last connect
	sends          int           // first sends so far: numbers them
	lastResent     int           // number of the copy last re-sent since the last connect
	bootAt         broker.Time   // the last restart after a crash: expiries due in the downtime fall due then
}

// owed is one copy owed to the session.
type owed struct {
	msg        uint64
	pub, topic string
	qos        uint8
	at         broker.Time // enqueued
	offline    bool        // enqueued while the session was offline
	sent       bool
	sentAt     broker.Time // its first send
	sentNo     int         // number of its first send, in the session's send order
}

// String describes the state on one line (porcupine's visualisation).
func (s session) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exists=%v online=%v offlineAt=%v owed=[", s.exists, s.online, s.offlineAt)
	for i, o := range s.owed {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "m%d", o.msg)
		if o.sent {
			b.WriteString("*")
		}
	}
	fmt.Fprintf(&b, "] paced=%v sends=%d resent=%d", s.paced, s.sends, s.lastResent)
	return b.String()
}

// step applies op to s under pol. It returns the next state, or a sentence
// saying which rule op breaks (with its spec ID or seed).
func step(pol broker.Policy, s session, op Op) (session, string) {
	switch op.Kind {
	case Connect:
		return connect(pol, s, op)
	case Disconnect:
		s.online, s.offlineAt = false, op.At
		return s, ""
	case Enqueue:
		if !s.exists {
			return s, "a copy is owed to a session that does not exist"
		}
		s.owed = append(slices.Clip(s.owed), owed{msg: op.Msg, pub: op.Publisher, topic: op.Topic, qos: op.QoS, at: op.At, offline: !s.online})
		return s, ""
	case Send:
		return send(pol, s, op)
	case Ack, Drop:
		return finish(pol, s, op)
	case Expire:
		return expire(pol, s, op)
	case Discard:
		if len(s.owed) > 0 {
			return s, fmt.Sprintf("discarded with %d copies neither delivered nor dropped (invariant 15)", len(s.owed))
		}
		return session{}, ""
	case Quiesce:
		return quiesce(pol, s)
	case Crash:
		return crash(s, op)
	}
	return s, fmt.Sprintf("unknown operation kind %q", op.Kind)
}

// connect checks that the previous connection is gone [MQTT-3.1.4-2] and
// SessionPresent by model.SessionPresent (invariant 1); a session past its
// latest expiry time counts as gone even if no expiry was recorded.
func connect(pol broker.Policy, s session, op Op) (session, string) {
	if s.online && pol.Promises.Has(broker.InvTakeover) {
		return s, "connected while the previous connection is still live: a takeover closes it first [MQTT-3.1.4-2] (invariant 12)"
	}
	view := model.SessionView{Exists: s.exists, Clean: s.clean, Online: s.online, OfflineAt: s.offlineAt}
	want, sure := model.SessionPresent(pol, view, op.Clean, op.At)
	if sure && pol.Promises.Has(broker.InvSessionPresent) && op.SessionPresent != want {
		return s, fmt.Sprintf("SessionPresent=%v, want %v: session exists=%v, offline since %v, clean=%v [MQTT-3.2.2-1], [MQTT-3.2.2-2]",
			op.SessionPresent, want, s.exists, s.offlineAt, op.Clean)
	}
	if !op.SessionPresent {
		alive, aliveSure := model.SessionAlive(pol, s.offlineAt, op.At)
		if len(s.owed) > 0 && s.exists && (s.online || alive || !aliveSure) {
			return s, fmt.Sprintf("session replaced with %d copies neither delivered nor dropped (invariant 15) [MQTT-3.1.2-6]", len(s.owed))
		}
		s = session{}
	}
	s.exists, s.online, s.paced, s.lastResent = true, true, nil, 0
	if !op.SessionPresent {
		s.clean = op.Clean
	}
	return s, ""
}

// send checks one PUBLISH to the client: the copy is owed; a first send has
// DUP=0 and a resend DUP=1 [MQTT-3.3.1-1]; first sends of one publisher,
// topic and QoS keep their order [MQTT-4.6.0-6]; the re-sends after a resume
// (DUP and stored) come in first-send order [MQTT-4.6.0-1]; stored copies
// respect the pacing (invariant 11) and the TTL (invariant 9).
func send(pol broker.Policy, s session, op Op) (session, string) {
	i := slices.IndexFunc(s.owed, func(o owed) bool { return o.msg == op.Msg })
	switch {
	case i < 0:
		return s, fmt.Sprintf("m%d sent but not owed: never enqueued, or already acknowledged or dropped (invariant 6, 15)", op.Msg)
	case !s.online:
		return s, fmt.Sprintf("m%d sent while the session is offline", op.Msg)
	case op.Dup != s.owed[i].sent:
		return s, fmt.Sprintf("m%d sent with DUP=%v but it was sent before=%v [MQTT-3.3.1-1], [MQTT-4.3.3-1]", op.Msg, op.Dup, s.owed[i].sent)
	}
	o := s.owed[i]
	if o.offline && !model.StoresOffline(pol, packet.QoS(o.qos)) && pol.Promises.Has(broker.InvQoS0NotStored) {
		return s, fmt.Sprintf("QoS 0 m%d was stored for the offline session and sent later; the policy does not store QoS 0 (invariant 4)", o.msg)
	}
	if !op.Dup && pol.Promises.Has(broker.InvOrder) {
		for _, e := range s.owed[:i] {
			if !e.sent && e.pub == o.pub && e.topic == o.topic && e.qos == o.qos && !model.InOrder(broker.MsgID(o.msg), broker.MsgID(e.msg)) {
				return s, fmt.Sprintf("m%d sent before m%d, published earlier by %s on %s at q%d [MQTT-4.6.0-6] (invariant 7)", o.msg, e.msg, o.pub, o.topic, o.qos)
			}
		}
	}
	if !op.Dup && op.Stored && pol.Promises.Has(broker.InvTTL) && model.TTLExpired(pol, o.at, op.At) {
		return s, fmt.Sprintf("m%d sent at %v, enqueued at %v, past the TTL %v (invariant 9)", o.msg, op.At, o.at, pol.MessageTTL)
	}
	if op.Stored && pol.Promises.Has(broker.InvPacing) {
		if next := model.PaceAt(pol, s.paced); op.At < next {
			return s, fmt.Sprintf("stored m%d sent at %v, pacing allows the next one from %v (invariant 11; Tencent IoT Hub, AWS IoT Core)", o.msg, op.At, next)
		}
		s.paced = append(slices.Clip(s.paced), op.At)
		if w := model.PaceWindow(pol); len(s.paced) > w {
			s.paced = s.paced[len(s.paced)-w:]
		}
	}
	if op.Dup && op.Stored && pol.Promises.Has(broker.InvRedelivery) {
		if o.sentNo < s.lastResent {
			return s, fmt.Sprintf("m%d re-sent after a copy first sent after it: resends after a resume keep the original order [MQTT-4.6.0-1] (invariant 5)", o.msg)
		}
		s.lastResent = o.sentNo
	}
	s.owed = slices.Clone(s.owed)
	if !op.Dup {
		s.sends++
		s.owed[i].sentNo, s.owed[i].sentAt = s.sends, op.At
	}
	s.owed[i].sent = true
	return s, ""
}

// finish ends a copy: acknowledged (it must have been sent) or dropped for
// a reason the policy allows.
func finish(pol broker.Policy, s session, op Op) (session, string) {
	i := slices.IndexFunc(s.owed, func(o owed) bool { return o.msg == op.Msg })
	if i < 0 {
		return s, fmt.Sprintf("m%d %s but not owed (invariant 15)", op.Msg, op.Kind)
	}
	if op.Kind == Ack && !s.owed[i].sent {
		return s, fmt.Sprintf("m%d acknowledged before it was sent", op.Msg)
	}
	if op.Kind == Drop {
		if why := dropProblem(pol, s, s.owed[i], op); why != "" {
			return s, fmt.Sprintf("m%d dropped (%s): %s (invariant 3)", op.Msg, op.Reason, why)
		}
	}
	s.owed = slices.Delete(slices.Clone(s.owed), i, i+1)
	return s, ""
}

// dropProblem returns why pol does not allow the drop op of o, or "", by
// model.DropProblem. A history does not see the broker's inputs, so a
// persistent session's copies dropped as discarded are taken to be a
// CleanSession=1 CONNECT's doing.
func dropProblem(pol broker.Policy, s session, o owed, op Op) string {
	if op.Reason == broker.ReasonQueueFull.String() && pol.QueueCap > 0 {
		return "" // the victim is sim/check's and the lockstep suite's to judge
	}
	c := model.CopyView{QoS: packet.QoS(o.qos), Queued: !o.sent, QueuedAt: o.at, Sent: o.sent, FirstSent: o.sentAt}
	d := model.DropView{Online: s.online, Clean: s.clean, OfflineAt: s.offlineAt, CleanConnect: true}
	return model.DropProblem(pol, reasonOf(op.Reason), c, d, op.At)
}

// reasonOf returns the broker.Reason named name, or ReasonNone.
func reasonOf(name string) broker.Reason {
	for r := broker.ReasonNone; r <= broker.ReasonProtocol; r++ {
		if r.String() == name {
			return r
		}
	}
	return broker.ReasonNone
}

// expire checks an expiry: never while connected [MQTT-4.1.0-1], not before
// disconnect+SessionExpiry, not after the policy's latest expiry time
// (invariant 10), and with every copy dropped first (invariant 15).
func expire(pol broker.Policy, s session, op Op) (session, string) {
	earliest, latest, expires := model.ExpiryWindow(pol, s.offlineAt)
	switch {
	case !s.exists:
		return s, "a session that does not exist expired"
	case s.online:
		return s, "the session expired while connected [MQTT-4.1.0-1] (invariant 10)"
	case !expires:
		return s, "the session expired but the policy keeps sessions forever (invariant 10)"
	case op.At < earliest:
		return s, fmt.Sprintf("expired at %v, before disconnect %v + %v (invariant 10)", op.At, s.offlineAt, pol.SessionExpiry)
	case op.At > latest && !(latest < s.bootAt && op.At == s.bootAt):
		return s, fmt.Sprintf("expired at %v, after the latest time %v (invariant 10)", op.At, latest)
	case len(s.owed) > 0:
		return s, fmt.Sprintf("expired with %d copies neither delivered nor dropped (invariant 15)", len(s.owed))
	}
	return session{}, ""
}

// crash checks a restart (model.Crash): a persistent session comes back
// with every copy it was owed, offline since the restart if it was online;
// a clean session, or none, does not come back.
func crash(s session, op Op) (session, string) {
	if !s.exists || s.clean {
		if op.SessionPresent {
			return s, "the restart restored a session that did not exist or was clean [MQTT-3.1.2-6]"
		}
		return session{bootAt: op.At}, ""
	}
	if !op.SessionPresent {
		return s, "a persistent session was lost in the crash [MQTT-3.2.2-2] (invariant 1)"
	}
	owed := make([]uint64, 0, len(s.owed))
	for _, o := range s.owed {
		owed = append(owed, o.msg)
	}
	got := slices.Sorted(slices.Values(op.Copies))
	if slices.Sort(owed); !slices.Equal(owed, got) {
		return s, fmt.Sprintf("the restart restored copies %v, but the session was owed %v [MQTT-4.3.2-2] (invariant 15)", got, owed)
	}
	if s.online {
		s.online, s.offlineAt = false, op.At
	}
	s.paced, s.lastResent, s.bootAt = nil, 0, op.At
	return s, ""
}

// quiesce checks that an online session has been sent every copy it is
// owed once everything settled (invariants 3, 16): a copy still unsent was
// lost.
func quiesce(pol broker.Policy, s session) (session, string) {
	if !s.online || !pol.Promises.Has(broker.InvOfflineStorage) {
		return s, ""
	}
	for _, o := range s.owed {
		if !o.sent {
			return s, fmt.Sprintf("m%d from %s on %s (q%d), owed since %v, was never sent nor dropped: lost [MQTT-3.1.2-5] (invariants 3, 16)",
				o.msg, o.pub, o.topic, o.qos, o.at)
		}
	}
	return s, ""
}
