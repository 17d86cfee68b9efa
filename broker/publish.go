package broker

import (
	"slices"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// handlePublish accepts an inbound PUBLISH: it validates the topic, applies
// the policy's QoS limit, de-duplicates QoS 2 until PUBREL [MQTT-4.3.3-2],
// routes the message and acknowledges it.
func (b *Broker) handlePublish(c *conn, p *packet.Publish) {
	s := c.sess
	if !validTopic(p.Topic) || (p.QoS > 0 && p.PacketID == 0) || p.QoS > 2 || b.tooLarge(p) {
		b.protocolError(c) // [MQTT-3.3.2-2], [MQTT-2.3.1-1], Policy.MaxPacketSize
		return
	}
	qos := p.QoS
	if qos > b.pol.MaxQoS {
		switch b.pol.QoS2 {
		case QoS2Refuse:
			b.protocolError(c)
			return
		case QoS2Ignore:
			b.emit(Event{Kind: EvDropped, Conn: c.id, ClientID: s.clientID, Msg: b.newMsgID(),
				Topic: p.Topic, QoS: p.QoS, Reason: ReasonQoSUnsupported, Publisher: s.clientID,
				Cause: Cause{Kind: CausePublish, Conn: c.id, PacketID: p.PacketID}})
			return // no PUBACK, no PUBREC (AWS IoT Core quotas page)
		}
		qos = b.pol.MaxQoS
	}
	if qos == 2 && s.hasInbound2(p.PacketID) {
		b.send(c, b.pkts.newPubrec(p.PacketID)) // a duplicate: not routed again [MQTT-4.3.3-2]
		return
	}
	b.accept(s.clientID, c.user, p.Topic, p.Payload, qos, p.Retain, Cause{Kind: CausePublish, Conn: c.id, PacketID: p.PacketID})
	switch qos {
	case 1:
		b.send(c, b.pkts.newPuback(p.PacketID)) // [MQTT-4.3.2-2]
	case 2:
		s.addInbound2(p.PacketID)
		if !s.clean {
			b.change(Change{Kind: ChInbound, ClientID: s.clientID, PacketID: p.PacketID})
		}
		b.send(c, b.pkts.newPubrec(p.PacketID)) // [MQTT-4.3.3-2]
	}
}

// tooLarge reports whether p's encoding exceeds the policy's MaxPacketSize.
// Drivers that frame bytes enforce the limit before decoding; this check
// covers drivers that hand the core packets directly.
func (b *Broker) tooLarge(p *packet.Publish) bool {
	if b.pol.MaxPacketSize == 0 {
		return false
	}
	rest := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		rest += 2
	}
	header := 2 // type byte and one length byte
	for n := rest; n > 127; n >>= 7 {
		header++
	}
	return header+rest > b.pol.MaxPacketSize
}

// handlePubrel completes an inbound QoS 2 flow: the packet id may be reused
// from now on [MQTT-4.3.3-2]. PUBCOMP is sent even for an unknown id so a
// client resending PUBREL after a reconnect completes its flow.
func (b *Broker) handlePubrel(c *conn, pid uint16) {
	if s := c.sess; s.removeInbound2(pid) && !s.clean {
		b.change(Change{Kind: ChReleased, ClientID: s.clientID, PacketID: pid})
	}
	b.send(c, b.pkts.newPubcomp(pid))
}

// publishWill publishes the Will of clientID after connection id ended
// without DISCONNECT [MQTT-3.1.2-8].
func (b *Broker) publishWill(clientID, user string, id ConnID, w *packet.Publish) {
	b.accept(clientID, user, w.Topic, w.Payload, w.QoS, w.Retain, Cause{Kind: CauseWill, Conn: id})
}

// accept turns an authorised publication into a message: it updates the
// retained store and routes one copy to every matching session. A refused
// publication is one EvDropped (ReasonNotAuthorized) with no copies.
// cause is what the events of the message name as its cause.
func (b *Broker) accept(publisher, user, topic string, payload []byte, qos packet.QoS, retain bool, cause Cause) {
	m := b.newMessage(publisher, topic, payload, qos, false)
	m.hold() // while routing
	defer b.release(m)
	if cause.Kind == CauseWill {
		b.emit(Event{Kind: EvWillPublished, ClientID: publisher, Msg: m.id, Topic: topic, QoS: qos, Cause: cause})
	}
	if b.cfg.Authorize != nil && !b.cfg.Authorize.CanPublish(publisher, user, topic) {
		b.emit(Event{Kind: EvDropped, ClientID: publisher, Msg: m.id, Topic: topic, QoS: qos,
			Reason: ReasonNotAuthorized, Publisher: publisher, Cause: cause})
		return
	}
	if retain {
		b.setRetained(m) // [MQTT-3.3.1-5], [MQTT-3.3.1-10]
	}
	b.route(m, cause)
}

// route sends or queues one copy of m for every session with a matching
// subscription, at the highest QoS of its matching subscriptions
// [MQTT-3.3.5-1], capped by the message's QoS. Sessions are visited in
// creation order.
func (b *Broker) route(m *message, cause Cause) {
	b.levels = splitLevels(m.topic, b.levels[:0])
	b.matches = b.subs.match(b.levels, b.matches[:0])
	slices.SortFunc(b.matches, func(x, y subscriber) int {
		if x.s.seq != y.s.seq {
			if x.s.seq < y.s.seq {
				return -1
			}
			return 1
		}
		return int(y.qos) - int(x.qos) // highest QoS first
	})
	b.matches = slices.CompactFunc(b.matches, func(x, y subscriber) bool { return x.s == y.s })
	b.emit(Event{Kind: EvPublished, ClientID: m.publisher, Msg: m.id, Topic: m.topic, QoS: m.qos,
		Copies: len(b.matches), Retain: m.retain, Publisher: m.publisher, Cause: cause})
	for i, sub := range b.matches {
		b.matches[i] = subscriber{}
		b.offer(sub.s, m, min(m.qos, sub.qos))
	}
}

// offer hands one copy of m at qos to s, unless the Authorizer refuses it
// or s is offline and the policy does not store QoS 0.
func (b *Broker) offer(s *session, m *message, qos packet.QoS) {
	m.hold()
	d := delivery{msg: m, qos: qos}
	switch {
	case b.cfg.Authorize != nil && !b.cfg.Authorize.CanRead(s.clientID, s.user, m.topic):
		b.drop(s, d, ReasonNotAuthorized)
	case !s.online() && qos == 0 && !b.pol.StoreQoS0Offline:
		b.drop(s, d, ReasonQoS0Offline) // invariant 4
	default:
		b.deliver(s, d)
	}
}

// setRetained stores m as the retained message of its topic, or clears it
// when the payload is empty [MQTT-3.3.1-10], [MQTT-3.3.1-11].
func (b *Broker) setRetained(m *message) {
	old := b.retained[m.topic]
	delete(b.retained, m.topic)
	if len(m.payload) > 0 {
		m.hold()
		b.retained[m.topic] = m
		b.keepMessage(m)
		b.change(Change{Kind: ChRetained, Topic: m.topic, Msg: m.id})
	} else if old != nil {
		b.change(Change{Kind: ChRetained, Topic: m.topic})
	}
	if old != nil {
		b.release(old) // after the change that stops referring to it
	}
	b.emit(Event{Kind: EvRetained, ClientID: m.publisher, Msg: m.id, Topic: m.topic, QoS: m.qos})
}
