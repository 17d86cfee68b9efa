package check

import (
	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

// received follows a PUBLISH reaching a device application: QoS 2 at most
// once (invariant 6, [MQTT-4.3.3-2]), and first receipts in order per
// publisher and topic (invariant 7, [MQTT-4.6.0-6]).
func (k *Checker) received(clientID string, p *packet.Publish) {
	cl := k.clients[clientID]
	if cl == nil {
		return
	}
	r := k.receiptOf(cl, p)
	if r == nil {
		return // a duplicate of a finished copy, a retained message or a Will
	}
	r.received++
	if r.received > 1 {
		if r.qos == 2 {
			k.fail(cl, broker.InvQoSGuarantee, "[MQTT-4.3.3-2]", "QoS 2 message %d reached the application %d times", r.m.id, r.received)
		}
		return
	}
	if !r.m.retain {
		k.checkOrder(cl, r.m)
	}
	if r.qos == 0 || !r.inflight {
		k.finishCopy(r)
	}
}

// receiptOf finds the copy a received PUBLISH carries: by packet id among
// the in-flight copies for QoS>0, else by payload id among the sent copies.
func (k *Checker) receiptOf(cl *client, p *packet.Publish) *copyRec {
	uid := payloadID(p.Payload)
	if p.QoS > 0 {
		for _, r := range cl.inflight {
			if r.pid == p.PacketID && (uid == 0 || r.m.uid == uid) {
				return r
			}
		}
	}
	var found *copyRec // the oldest message's copy that matches
	for m := k.uids[uid]; m != nil; m = m.older {
		if r := k.copies[keyOf(m.id, cl)]; r != nil && r.sent && r.qos == p.QoS {
			if r.received == 0 || r.qos > 0 {
				found = r
			}
		}
	}
	return found
}

// checkOrder checks that m, received for the first time by cl, does not
// come before a message of the same publisher and topic cl already has.
func (k *Checker) checkOrder(cl *client, m *msg) {
	key := orderKey{cl, m.publisher, m.topic}
	last, ok := k.order[key]
	if ok && !model.InOrder(last, m.id) {
		k.fail(cl, broker.InvOrder, "[MQTT-4.6.0-6]", "received message %d from %s on %q after message %d",
			m.id, m.publisher, m.topic, last)
		return
	}
	k.order[key] = m.id
}
