package check

import (
	"cmp"
	"slices"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
)

// Crashes. With crashes possible the simulator shows the checker a step
// only once the step's durable changes are on its simulated disk, just
// before it performs the step's outputs (sim.CrashObserver): the steps a
// crash loses are the ones no client saw. So after a crash the broker must
// come back with exactly the durable part of what the checker followed:
// every persistent session, with every copy it owed, queued or in flight
// with the same packet id and, past PUBREC, still past it. A publisher's
// message is durable before its PUBACK or PUBREC leaves the broker, so a
// device that got one must have had its message observed by the time of a
// crash ("acknowledged before durable" otherwise). Clean sessions and the
// QoS 0 copies of connections end with the crash; no Will is owed for a
// connection the crash ended (package broker: durable state). Expiry
// counts across the downtime: a session's expiry deadline that fell while
// the broker was down is due at the restart, and a session that was online
// at the crash went offline at the restart.

// ackWait is a device's acknowledged PUBLISH whose message the checker has
// not yet seen accepted.
type ackWait struct {
	at     time.Duration
	client string
	uid    uint64
	pid    uint16
	qos    packet.QoS
}

// Acked implements sim.CrashObserver.
func (k *Checker) Acked(now broker.Time, clientID string, p *packet.Publish) {
	if next, ok := k.cfg.Next.(sim.CrashObserver); ok {
		defer next.Acked(now, clientID, p)
	}
	uid := payloadID(p.Payload)
	if uid == 0 || k.seen[uid] {
		return
	}
	if k.acks == nil {
		k.acks = map[uint64]ackWait{}
	}
	k.acks[uid] = ackWait{at: now, client: clientID, uid: uid, pid: p.PacketID, qos: p.QoS}
}

// seenUID notes that a PUBLISH with payload id uid was stepped: the step's
// answer to it (PUBACK, PUBREC) leaves the broker only after the step is
// observed.
func (k *Checker) seenUID(uid uint64) {
	if uid == 0 || !k.cfg.Crashes {
		return
	}
	if k.seen == nil {
		k.seen = map[uint64]bool{}
	}
	k.seen[uid] = true
	delete(k.acks, uid)
}

// Crashed implements sim.CrashObserver.
func (k *Checker) Crashed(now broker.Time) {
	if next, ok := k.cfg.Next.(sim.CrashObserver); ok {
		defer next.Crashed(now)
	}
	k.settleStep()
	k.now = now
	// No deadline is checked here: the steps the crash lost may have met
	// the ones due since the last step observed. The connections end now;
	// expiry deadlines are checked from the restart (rebaseDues).
	if len(k.acks) > 0 {
		waits := make([]ackWait, 0, len(k.acks))
		for _, a := range k.acks {
			waits = append(waits, a)
		}
		slices.SortFunc(waits, func(x, y ackWait) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.uid, y.uid)) })
		a := waits[0]
		k.fail(k.clientOf(a.client), broker.InvQoSGuarantee, "[MQTT-4.3.2-2]",
			"the broker acknowledged QoS %d PUBLISH id %d (payload %d) at %v, but the message was not durable when it crashed at %v",
			a.qos, a.pid, a.uid, a.at, now)
		clear(k.acks)
	}
	clear(k.seen) // an acknowledgement sent before the crash died with its connection
	ids := make([]broker.ConnID, 0, len(k.conns))
	for id := range k.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := k.conns[id]
		c.will = false // the Will died with the connection's server
		k.endConn(c)
		delete(k.conns, id)
	}
	cls := make([]*client, 0, len(k.clients))
	for _, cl := range k.clients {
		cls = append(cls, cl)
	}
	slices.SortFunc(cls, func(x, y *client) int { return cmp.Compare(x.idx, y.idx) })
	for _, cl := range cls {
		cl.willOwed, cl.resend, cl.pubrelOwed, cl.conn = false, nil, nil, nil
		cl.crashOnline = cl.exists && cl.online
		cl.online = false
		if cl.exists && cl.clean {
			k.lostWithCrash(cl)
		}
	}
	k.down = true
}

// lostWithCrash ends a clean session with the crash: its copies are lost,
// as they would be when its connection ended [MQTT-3.1.2-6].
func (k *Checker) lostWithCrash(cl *client) {
	for _, r := range append(cl.queue, cl.inflight...) {
		unqueue(r)
		r.inflight = false
		if !r.done() {
			r.dropped = true
			r.m.dropped++
		}
		k.forgetCopy(r)
	}
	cl.queue, cl.inflight = nil, nil
	cl.exists, cl.clean = false, false
}

// rebaseDues moves the expiry deadlines that fell during the downtime to
// the restart: the broker could not expire anything while it was down.
func (k *Checker) rebaseDues(boot time.Duration) {
	var moved []due
	for k.dues.Len() > 0 && k.dues.items[0].at < boot {
		d := k.dues.pop()
		if d.kind == dueExpiry {
			d.at = boot
		}
		moved = append(moved, d)
	}
	for _, d := range moved {
		k.dues.add(d)
	}
}

// recovered checks what a recovery rebuilt against the checker's shadow.
func (k *Checker) recovered(rec *broker.Record) {
	k.down = false
	restored := map[*client]bool{}
	copies := map[*copyRec]bool{}
	for ev := range rec.Events() {
		cl := k.clientOf(ev.ClientID)
		switch ev.Kind {
		case broker.EvSessionRestored:
			if !cl.exists || cl.clean {
				k.fail(cl, broker.InvSessionPresent, "[MQTT-3.1.2-4]",
					"recovery restored a session the broker had ended (or never had) before the crash")
				cl.gen++
				cl.exists, cl.clean, cl.queue, cl.inflight = true, false, nil, nil
			}
			restored[cl] = true
			if cl.crashOnline {
				cl.offlineAt = rec.At // it went offline when the broker came back
				k.addExpiryDue(cl)
			}
			cl.crashOnline = false
		case broker.EvCopyRestored:
			r := k.copies[keyOf(ev.Msg, cl)]
			switch {
			case r == nil || r.done() && !(r.inflight && r.waitComp):
				k.fail(cl, broker.InvQoSGuarantee, "[MQTT-4.3.2-1]",
					"recovery restored a copy of message %d that the broker had already finished", ev.Msg)
			case r.inflight != (ev.PacketID != 0) || r.inflight && (r.pid != ev.PacketID || r.waitComp != ev.Dup):
				k.fail(cl, broker.InvRedelivery, "[MQTT-4.4.0-1]",
					"recovery restored message %d as %s, but it was %s before the crash", ev.Msg, restoredState(ev), copyState(r))
			default:
				copies[r] = true
			}
		}
	}
	cls := make([]*client, 0, len(k.clients))
	for _, cl := range k.clients {
		cls = append(cls, cl)
	}
	slices.SortFunc(cls, func(x, y *client) int { return cmp.Compare(x.idx, y.idx) })
	for _, cl := range cls {
		if !cl.exists || restored[cl] {
			continue
		}
		k.fail(cl, broker.InvSessionPresent, "[MQTT-3.2.2-2]",
			"persistent session (offline since %v) lost in the crash: it was durable and had not expired", cl.offlineAt)
		cl.exists = false
	}
	for _, cl := range cls {
		for _, r := range append(append([]*copyRec(nil), cl.queue...), cl.inflight...) {
			if !copies[r] {
				k.fail(cl, broker.InvQoSGuarantee, "[MQTT-4.3.2-2]",
					"%s copy of message %d (QoS %d, published %v) lost in the crash: it was durable", copyState(r), r.m.id, r.qos, r.m.at)
			}
		}
	}
}

// addExpiryDue holds the broker to cl's expiry, timed from cl.offlineAt.
func (k *Checker) addExpiryDue(cl *client) {
	if _, latest, ok := expiryWindow(k, cl.offlineAt); ok && !cl.clean {
		k.dues.add(due{at: latest, kind: dueExpiry, client: cl, gen: cl.gen, offlineAt: cl.offlineAt})
	}
}

// restoredState describes a restored copy's state.
func restoredState(ev *broker.Event) string {
	switch {
	case ev.PacketID == 0:
		return "queued"
	case ev.Dup:
		return "in flight past PUBREC, packet id " + itoa(uint64(ev.PacketID))
	}
	return "in flight, packet id " + itoa(uint64(ev.PacketID))
}

// copyState describes a copy's state in the shadow.
func copyState(r *copyRec) string {
	switch {
	case !r.inflight:
		return "queued"
	case r.waitComp:
		return "in flight past PUBREC, packet id " + itoa(uint64(r.pid))
	}
	return "in flight, packet id " + itoa(uint64(r.pid))
}
