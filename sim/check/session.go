package check

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/model"
)

// event follows one observation event.
func (k *Checker) event(ev *broker.Event) {
	var cl *client
	if ev.ClientID != "" && ev.Kind != broker.EvPublished && ev.Kind != broker.EvRetained {
		cl = k.clientOf(ev.ClientID)
		cl.note(*ev)
	}
	switch ev.Kind {
	case broker.EvConnected:
		k.connected(cl, ev)
	case broker.EvDisconnected:
		k.disconnected(cl, ev)
	case broker.EvSessionCreated:
		k.created(cl, ev)
	case broker.EvSessionResumed:
		if !cl.exists {
			k.fail(cl, broker.InvSessionPresent, "[MQTT-3.2.2-3]", "resumed a session the shadow says does not exist")
		}
	case broker.EvSessionDiscarded:
		k.discarded(cl)
	case broker.EvSessionExpired:
		k.expired(cl)
	case broker.EvWillPublished:
		k.willPublished(cl)
	case broker.EvPublished:
		k.published(ev)
	case broker.EvEnqueued:
		k.enqueued(cl, ev)
	case broker.EvSent:
		k.sent(cl, ev)
	case broker.EvDelivered:
		k.delivered(cl, ev)
	case broker.EvDropped:
		k.dropped(cl, ev)
	}
}

// connected brings the shadow online and starts a resume: the copies sent
// before and not acknowledged are owed a DUP resend in order, and the QoS 2
// flows past PUBREC are owed a PUBREL [MQTT-4.4.0-1].
func (k *Checker) connected(cl *client, ev *broker.Event) {
	if !cl.exists {
		k.fail(cl, broker.InvSessionPresent, "[MQTT-3.2.2-3]", "connected without a session")
	}
	cl.online = true
	cl.paced, cl.nPaced = cl.paced[:0], 0
	resend, pubrel := model.Resume(cl.inflight, func(r *copyRec) bool { return r.waitComp })
	cl.resend, cl.pubrelOwed = resend, cl.pubrelOwed[:0]
	for _, r := range pubrel {
		cl.pubrelOwed = append(cl.pubrelOwed, r.pid)
	}
	if len(cl.pubrelOwed) > 0 {
		k.settle = append(k.settle, cl)
	}
}

// disconnected takes the shadow offline: a keepalive kick must be due
// (13), an abrupt loss owes the Will (18), a persistent session starts its
// expiry clock (10).
func (k *Checker) disconnected(cl *client, ev *broker.Event) {
	if !cl.online {
		k.fail(cl, broker.InvTakeover, "[MQTT-3.1.4-2]", "disconnected a session that was not online")
	}
	c := k.conns[ev.Conn]
	if ev.Reason == broker.ReasonKeepalive {
		k.keepaliveKick(cl, c)
	}
	if c != nil && c.will && model.WillFires(ev.Reason) {
		cl.willOwed = true
		k.settle = append(k.settle, cl)
	}
	if c != nil {
		c.will, c.offline = false, true
		k.endConn(c)
	}
	cl.online, cl.offlineAt, cl.conn = false, k.now, nil
	cl.resend = cl.resend[:0]
	k.addExpiryDue(cl)
}

// expiryWindow is model.ExpiryWindow under the checker's policy.
func expiryWindow(k *Checker, offlineAt time.Duration) (earliest, latest time.Duration, ok bool) {
	return model.ExpiryWindow(k.cfg.Policy, offlineAt)
}

// created starts a new incarnation of cl's session.
func (k *Checker) created(cl *client, ev *broker.Event) {
	if cl.exists {
		k.fail(cl, broker.InvCleanSession, "[MQTT-3.1.2-6]", "a new session was created while the old one still exists")
	}
	if len(cl.queue)+len(cl.inflight) > 0 {
		k.fail(cl, broker.InvCleanSession, "[MQTT-3.1.2-6]", "a new session starts with %d queued and %d in-flight copies of the old one",
			len(cl.queue), len(cl.inflight))
	}
	cl.gen++
	cl.exists, cl.clean = true, ev.Clean
	cl.queue, cl.inflight = nil, nil
}

// discarded ends a session without expiry: a clean session going offline,
// or any session replaced by a CleanSession=1 CONNECT [MQTT-3.1.2-6].
func (k *Checker) discarded(cl *client) {
	if !model.MayDiscard(model.DropView{Clean: cl.clean, CleanConnect: k.cleanConnectOf(cl)}) {
		k.fail(cl, broker.InvOfflineStorage, "[MQTT-3.1.2-4]", "a persistent session was discarded without a CleanSession=1 CONNECT")
	}
	k.ended(cl)
}

// cleanConnectOf reports whether the input being stepped is a
// CleanSession=1 CONNECT for cl.
func (k *Checker) cleanConnectOf(cl *client) bool {
	return k.inConn != nil && k.inConn.client == cl && k.inConn.clean && !k.inConn.accepted
}

// expired checks the timing of an expiry: never while connected
// [MQTT-4.1.0-1], and inside model.ExpiryWindow (invariant 10); the latest
// time is a deadline (dueExpiry).
func (k *Checker) expired(cl *client) {
	earliest, _, ok := model.ExpiryWindow(k.cfg.Policy, cl.offlineAt)
	switch {
	case cl.online:
		k.fail(cl, broker.InvExpiry, "[MQTT-4.1.0-1]", "session expired while connected")
	case !ok:
		k.fail(cl, broker.InvExpiry, "[MQTT-4.1.0-1]", "session expired but the policy never expires sessions")
	case k.now < earliest:
		k.fail(cl, broker.InvExpiry, "(invariant 10)", "session expired %v after its disconnect, before the expiry of %v",
			k.now-cl.offlineAt, k.cfg.Policy.SessionExpiry)
	}
	k.ended(cl)
}

// ended forgets cl's session; every copy it owed must have been dropped
// with a reason before (15).
func (k *Checker) ended(cl *client) {
	if n := len(cl.queue) + len(cl.inflight); n > 0 && !(len(cl.queue) == 0 && allWaitComp(cl.inflight)) {
		k.fail(cl, broker.InvConservation, "(invariant 15)", "session ended with %d copies neither delivered nor dropped", n)
	}
	for _, r := range cl.inflight {
		r.inflight = false
		k.finishCopy(r)
	}
	cl.exists, cl.online = false, false
	cl.queue, cl.inflight, cl.resend, cl.pubrelOwed = nil, nil, nil, nil
}

// allWaitComp reports whether every copy is a QoS 2 copy past PUBREC
// (delivered already, so ending the session owes nothing for it).
func allWaitComp(rs []*copyRec) bool {
	for _, r := range rs {
		if !r.waitComp {
			return false
		}
	}
	return true
}

// willPublished checks that a Will is published only when owed, once
// [MQTT-3.14.4-3], [MQTT-3.1.2-8].
func (k *Checker) willPublished(cl *client) {
	if !cl.willOwed {
		k.fail(cl, broker.InvWill, "[MQTT-3.14.4-3]", "Will published without an abrupt loss (after DISCONNECT, or twice)")
		return
	}
	cl.willOwed = false
}
