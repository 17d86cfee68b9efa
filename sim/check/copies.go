package check

import (
	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/model"
)

// published records an accepted message and the copies it owes.
func (k *Checker) published(ev *broker.Event) {
	m := k.msgs[ev.Msg]
	if m == nil {
		m = &msg{id: ev.Msg, publisher: ev.Publisher, topic: ev.Topic, qos: ev.QoS, retain: ev.Retain, at: k.now}
		k.msgs[ev.Msg] = m
	}
	m.owed += ev.Copies
	k.fresh = append(k.fresh, m)
	if k.curUID != 0 && ev.Cause.Kind == broker.CausePublish && m.uid == 0 {
		m.uid = k.curUID
		m.older, k.uids[m.uid] = k.uids[m.uid], m
	}
}

// copyOf returns the record of ev's copy for cl, creating it on the first
// event of the copy. It returns nil (after reporting) for an event about a
// copy already finished, or of a message never published.
func (k *Checker) copyOf(cl *client, ev *broker.Event) *copyRec {
	key := keyOf(ev.Msg, cl)
	if r := k.copies[key]; r != nil {
		if r.done() && !(ev.Kind == broker.EvSent && r.waitComp) {
			k.fail(cl, broker.InvConservation, "(invariant 15)", "%v for message %d after its copy was already %s",
				ev.Kind, ev.Msg, doneWord(r))
			return nil
		}
		return r
	}
	m := k.msgs[ev.Msg]
	if m == nil {
		k.fail(cl, broker.InvConservation, "(invariant 15)", "%v for message %d, which was never published", ev.Kind, ev.Msg)
		return nil
	}
	m.seen++
	if m.seen > m.owed {
		k.fail(cl, broker.InvConservation, "(invariant 15)", "message %d owes %d copies but a copy number %d appeared",
			m.id, m.owed, m.seen)
	}
	r := &copyRec{m: m, cl: cl, gen: cl.gen, qos: ev.QoS}
	if ev.QoS > model.MessageQoS(k.cfg.Policy, m.qos) {
		k.fail(cl, broker.InvQoSGuarantee, "[MQTT-3.8.4-6]", "copy of message %d at QoS %d, above the message's QoS %d or the broker's maximum %d",
			m.id, ev.QoS, m.qos, k.cfg.Policy.MaxQoS)
	}
	k.copies[key] = r
	m.records++
	return r
}

func doneWord(r *copyRec) string {
	if r.delivered {
		return "delivered"
	}
	return "dropped"
}

// enqueued follows a copy into cl's queue: QoS 0 only when the policy
// stores it offline (4), never above the cap (8).
func (k *Checker) enqueued(cl *client, ev *broker.Event) {
	r := k.copyOf(cl, ev)
	if r == nil {
		return
	}
	if r.queued || r.sent {
		k.fail(cl, broker.InvConservation, "(invariant 15)", "message %d queued twice", ev.Msg)
		return
	}
	if !cl.online && !model.StoresOffline(k.cfg.Policy, ev.QoS) {
		k.fail(cl, broker.InvQoS0NotStored, "[MQTT-3.1.2-5]", "QoS 0 message %d queued for an offline session (policy %s does not store QoS 0)",
			ev.Msg, k.cfg.Policy.Name)
	}
	if model.QueueFull(k.cfg.Policy, len(cl.queue)) {
		k.fail(cl, broker.InvQueueBound, "(invariant 8)", "%d copies queued, above the cap of %d", len(cl.queue)+1, k.cfg.Policy.QueueCap)
	}
	r.queued, r.wasQueued, r.queuedAt = true, true, k.now
	cl.queue = append(cl.queue, r)
}

// unqueue removes r from its client's queue and returns its index, or -1.
func unqueue(r *copyRec) int {
	if !r.queued {
		return -1
	}
	q := r.cl.queue
	for i, x := range q {
		if x == r {
			r.cl.queue = append(q[:i], q[i+1:]...)
			r.queued = false
			return i
		}
	}
	return -1
}

// sent checks one PUBLISH of a copy: first sends get a fresh packet id
// (14), re-sends keep it with DUP=1 and, on a resume, the original order
// (5); a clean session never gets the old session's copies (2); stored
// copies are within their TTL (9) and paced (11).
func (k *Checker) sent(cl *client, ev *broker.Event) {
	r := k.copyOf(cl, ev)
	if r == nil {
		return
	}
	if !cl.online {
		k.fail(cl, broker.InvOfflineStorage, "[MQTT-3.1.2-5]", "message %d sent while the session is offline", ev.Msg)
	} else if cl.conn != nil && ev.Conn != cl.conn.id {
		k.fail(cl, broker.InvTakeover, "[MQTT-3.1.4-2]", "message %d sent on conn %d, but the session is on conn %d",
			ev.Msg, ev.Conn, cl.conn.id)
	}
	k.matchWire(cl, r, ev)
	if r.gen != cl.gen {
		k.fail(cl, broker.InvCleanSession, "[MQTT-3.1.2-6]", "message %d of session incarnation %d sent to incarnation %d",
			ev.Msg, r.gen, cl.gen)
	}
	if r.queued && model.TTLExpired(k.cfg.Policy, r.queuedAt, k.now) {
		k.fail(cl, broker.InvTTL, "(Tencent IoT Hub: stored \"for a maximum of 24 hours\")",
			"message %d sent %v after it was stored, past the TTL of %v", ev.Msg, k.now-r.queuedAt, k.cfg.Policy.MessageTTL)
	}
	unqueue(r)
	if ev.Stored {
		k.pace(cl)
	}
	if ev.Dup {
		k.resent(cl, r, ev)
		return
	}
	k.firstSend(cl, r, ev)
}

// firstSend checks and records the first PUBLISH of a copy.
func (k *Checker) firstSend(cl *client, r *copyRec, ev *broker.Event) {
	if r.sent {
		k.fail(cl, broker.InvRedelivery, "[MQTT-3.3.1-1]", "message %d sent again with DUP=0", ev.Msg)
		return
	}
	r.sent, r.firstSent = true, k.now
	if ev.QoS == 0 {
		if c := cl.conn; c != nil {
			c.qos0 = append(c.qos0, r)
		}
		return
	}
	if why, spec := model.PacketIDProblem(ev.QoS, ev.PacketID, cl.holds); why != "" {
		k.fail(cl, broker.InvPacketIDs, spec, "QoS %d message %d sent with id %d: %s", ev.QoS, ev.Msg, ev.PacketID, why)
	}
	r.pid, r.inflight = ev.PacketID, true
	cl.inflight = append(cl.inflight, r)
}

// resent checks a DUP=1 PUBLISH: the copy is in flight with the same packet
// id, and a resume re-sends in the original order [MQTT-4.4.0-1].
func (k *Checker) resent(cl *client, r *copyRec, ev *broker.Event) {
	switch {
	case !r.inflight || r.waitComp:
		k.fail(cl, broker.InvRedelivery, "[MQTT-3.3.1-1]", "message %d re-sent with DUP=1 but it is not awaiting PUBACK/PUBREC", ev.Msg)
		return
	case r.pid != ev.PacketID:
		k.fail(cl, broker.InvRedelivery, "[MQTT-4.4.0-1]", "message %d re-sent with packet id %d, first sent with %d",
			ev.Msg, ev.PacketID, r.pid)
		return
	}
	if !ev.Stored {
		return // a retry on a live connection, not part of a resume
	}
	for len(cl.resend) > 0 && !cl.resend[0].inflight {
		cl.resend = cl.resend[1:] // dropped meanwhile
	}
	if len(cl.resend) == 0 || cl.resend[0] != r {
		want := "none"
		if len(cl.resend) > 0 {
			want = "message " + itoa(uint64(cl.resend[0].m.id))
		}
		k.fail(cl, broker.InvRedelivery, "[MQTT-4.4.0-1]", "resume re-sent message %d out of order (next owed: %s)", ev.Msg, want)
		return
	}
	cl.resend = cl.resend[1:]
}

// pace checks the spacing of stored sends after a resume against
// model.PaceAt (invariant 11): Tencent IoT Hub sends them "sequentially at
// 500 ms intervals" (ReplayInterval), AWS IoT Core "at a maximum rate of 10
// messages per second" (ReplayRate).
func (k *Checker) pace(cl *client) {
	pol := k.cfg.Policy
	if next := model.PaceAt(pol, cl.paced); k.now < next {
		k.fail(cl, broker.InvPacing, paceSource(pol),
			"stored message sent at %v, the policy's pacing allows the next one from %v (%d stored sends since the resume)", k.now, next, cl.nPaced)
	}
	if w := model.PaceWindow(pol); len(cl.paced) >= w {
		cl.paced = append(cl.paced[:0], cl.paced[len(cl.paced)-w+1:]...)
	}
	cl.paced = append(cl.paced, k.now)
	cl.nPaced++
}

// paceSource names the vendor rule behind pol's pacing.
func paceSource(pol broker.Policy) string {
	if pol.ReplayInterval > 0 {
		return "(Tencent IoT Hub: \"sequentially at 500 ms intervals\")"
	}
	return "(AWS IoT Core: \"maximum rate of 10 messages per second\")"
}

// matchWire holds an EvSent to the PUBLISH just sent: the checker trusts
// events only as far as the packets on the wire agree with them.
func (k *Checker) matchWire(cl *client, r *copyRec, ev *broker.Event) {
	w := k.lastPub
	k.lastPub = wirePub{}
	samePayload := r.m.uid == 0 || w.uid == r.m.uid
	if !w.set || w.conn != ev.Conn || w.dup != ev.Dup || w.qos != ev.QoS || w.pid != ev.PacketID || !samePayload {
		k.fail(cl, broker.InvRedelivery, "[MQTT-3.3.1-1]", "event \"%v\" does not match the PUBLISH sent (conn %d dup=%v q%d id=%d payload %d)",
			ev, w.conn, w.dup, w.qos, w.pid, w.uid)
	}
}
