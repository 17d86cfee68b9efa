package check

import (
	"strconv"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

const secondD = time.Second

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// delivered follows a copy to its end state: QoS 0 sent, QoS 1 PUBACK,
// QoS 2 PUBREC. A QoS>0 copy must have reached the application by then
// (invariant 6).
func (k *Checker) delivered(cl *client, ev *broker.Event) {
	r := k.copyOf(cl, ev)
	if r == nil {
		return
	}
	if !r.sent {
		k.fail(cl, broker.InvConservation, "(invariant 15)", "message %d delivered but never sent", ev.Msg)
	}
	if r.qos > 0 && r.received == 0 {
		k.fail(cl, broker.InvQoSGuarantee, "[MQTT-4.3.2-2]", "QoS %d message %d acknowledged but its application never received it",
			r.qos, ev.Msg)
	}
	r.delivered = true
	r.m.delivered++
	switch r.qos {
	case 1:
		k.leaveInflight(r)
	case 2:
		r.waitComp = true // holds its packet id until PUBCOMP
		return
	}
	k.finishCopy(r)
}

// pubcomp ends the QoS 2 flow of packet id pid of cl.
func (k *Checker) pubcomp(cl *client, pid uint16) {
	for _, r := range cl.inflight {
		if r.pid == pid && r.waitComp {
			k.leaveInflight(r)
			k.finishCopy(r)
			return
		}
	}
}

// leaveInflight removes r from its client's in-flight list.
func (k *Checker) leaveInflight(r *copyRec) {
	if !r.inflight {
		return
	}
	f := r.cl.inflight
	for i, x := range f {
		if x == r {
			r.cl.inflight = append(f[:i], f[i+1:]...)
			break
		}
	}
	r.inflight = false
}

// finishCopy forgets a copy the checker has nothing more to check on: it
// is done at the broker and either received, dropped or sent at QoS 0
// (whose receipt is checked until its connection ends).
func (k *Checker) finishCopy(r *copyRec) {
	if r.inflight || !r.done() {
		return
	}
	if r.qos == 0 && r.delivered && r.received == 0 {
		return // endConn forgets it
	}
	k.forgetCopy(r)
}

// forgetCopy drops the checker's record of r, and of its message once no
// record is left and every copy is accounted for.
func (k *Checker) forgetCopy(r *copyRec) {
	delete(k.copies, keyOf(r.m.id, r.cl))
	r.m.records--
	k.maybeForgetMsg(r.m)
}

// maybeForgetMsg forgets a message whose copies are all accounted for.
func (k *Checker) maybeForgetMsg(m *msg) {
	if m.open() || m.seen != m.owed || m.records > 0 {
		return
	}
	delete(k.msgs, m.id)
	if m.uid == 0 {
		return
	}
	switch head := k.uids[m.uid]; {
	case head == m && m.older == nil:
		delete(k.uids, m.uid)
	case head == m:
		k.uids[m.uid] = m.older
	default:
		for p := head; p != nil; p = p.older {
			if p.older == m {
				p.older = m.older
				break
			}
		}
	}
	m.older = nil
}

// dropped checks that a copy is dropped only for a reason the policy
// allows (invariant 3), and on overflow that the victim is the policy's
// (invariant 8).
func (k *Checker) dropped(cl *client, ev *broker.Event) {
	if k.msgs[ev.Msg] == nil && (ev.Reason == broker.ReasonQoSUnsupported || ev.Reason == broker.ReasonNotAuthorized) {
		k.publicationDropped(cl, ev)
		return
	}
	r := k.copyOf(cl, ev)
	if r == nil {
		return
	}
	k.checkDropReason(cl, r, ev)
	unqueue(r)
	k.leaveInflight(r)
	r.dropped = true
	r.m.dropped++
	k.finishCopy(r)
}

// publicationDropped checks a publication refused as a whole.
func (k *Checker) publicationDropped(cl *client, ev *broker.Event) {
	pol := &k.cfg.Policy
	if ev.Reason == broker.ReasonQoSUnsupported && !model.IgnoresPublish(*pol, ev.QoS) {
		k.fail(cl, broker.InvQoSGuarantee, "(AWS IoT Core quotas page: QoS 2 not supported)",
			"publication of message %d at QoS %d dropped as unsupported under policy %s", ev.Msg, ev.QoS, pol.Name)
	}
}

// checkDropReason checks, by model.DropProblem, that the policy allows
// dropping r for ev.Reason now (invariants 3, 4, 9, 10), and, by
// model.Victim, that an overflow's victim is the policy's (invariant 8).
func (k *Checker) checkDropReason(cl *client, r *copyRec, ev *broker.Event) {
	pol := k.cfg.Policy
	if ev.Reason == broker.ReasonQueueFull {
		k.checkVictim(cl, r)
		return
	}
	c := model.CopyView{QoS: r.qos, Queued: r.queued, QueuedAt: r.queuedAt, Sent: r.sent, FirstSent: r.firstSent}
	s := model.DropView{Online: cl.online, Clean: cl.clean, OfflineAt: cl.offlineAt, CleanConnect: k.cleanConnectOf(cl)}
	why := model.DropProblem(pol, ev.Reason, c, s, k.now)
	switch {
	case why == "":
	case ev.Reason == broker.ReasonSessionExpired:
		k.fail(cl, broker.InvExpiry, "[MQTT-4.1.0-1]", "message %d dropped for session expiry %v after the disconnect (online=%v, expiry %v): %s",
			ev.Msg, k.now-cl.offlineAt, cl.online, pol.SessionExpiry, why)
	default:
		k.fail(cl, broker.InvOfflineStorage, "[MQTT-3.1.2-5]", "message %d dropped (%v), which policy %s does not allow here: %s",
			ev.Msg, ev.Reason, pol.Name, why)
	}
}

// checkVictim checks an overflow drop: the queue is at its cap
// (model.QueueFull) and r is the victim model.Victim names (invariant 8).
func (k *Checker) checkVictim(cl *client, r *copyRec) {
	pol := k.cfg.Policy
	q := cl.queue // the victim, if queued, is still in it
	if !model.QueueFull(pol, len(q)) {
		k.fail(cl, broker.InvQueueBound, "(invariant 8)", "message %d dropped as queue-full with %d of %d queued",
			r.m.id, len(q), pol.QueueCap)
		return
	}
	// The arriving copy is reported after a queued victim: its QoS is not
	// known yet, and r's stands in for it.
	i := model.Victim(pol, len(q), func(i int) packet.QoS { return q[i].qos }, r.qos)
	var want *copyRec // nil: the arriving copy
	if i < len(q) {
		want = q[i]
	}
	switch {
	case want == nil && r.queued:
		k.fail(cl, broker.InvQueueBound, "(invariant 8, policy "+pol.Name+")",
			"overflow dropped queued message %d, but the policy's victim is the arriving message", r.m.id)
	case want != nil && want != r:
		k.fail(cl, broker.InvQueueBound, "(invariant 8, policy "+pol.Name+")",
			"overflow dropped message %d, but the policy's victim is message %d", r.m.id, want.m.id)
	}
}
