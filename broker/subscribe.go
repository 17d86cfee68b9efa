package broker

import (
	"slices"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// handleSubscribe grants each filter min(requested, MaxQoS) or 0x80, answers
// SUBACK with one code per filter in order [MQTT-3.8.4-5], and then sends the
// retained messages matching each granted filter [MQTT-3.3.1-6].
func (b *Broker) handleSubscribe(c *conn, p *packet.Subscribe) {
	s := c.sess
	if len(p.Subscriptions) == 0 {
		b.protocolError(c) // [MQTT-3.8.3-3]
		return
	}
	if b.pol.MaxQoS < 2 && b.pol.QoS2 == QoS2Ignore {
		for _, sub := range p.Subscriptions {
			if sub.QoS > b.pol.MaxQoS {
				return // no SUBACK at all (AWS IoT Core quotas page)
			}
		}
	}
	ack := b.pkts.newSuback(p.PacketID, len(p.Subscriptions))
	for _, sub := range p.Subscriptions {
		ack.ReturnCodes = append(ack.ReturnCodes, b.grant(c, sub))
	}
	b.send(c, ack) // [MQTT-3.8.4-1]
	b.sendRetained(s, p.Subscriptions, ack.ReturnCodes, Cause{Kind: CauseRetained, Conn: c.id, PacketID: p.PacketID})
}

// grant decides one subscription and records it, returning its SUBACK code.
// A filter already subscribed is replaced [MQTT-3.8.4-3].
func (b *Broker) grant(c *conn, sub packet.Subscription) byte {
	s := c.sess
	if !validFilter(sub.Filter) || sub.QoS > 2 {
		return packet.SubackFailure
	}
	if b.cfg.Authorize != nil && !b.cfg.Authorize.CanSubscribe(s.clientID, c.user, sub.Filter) {
		return packet.SubackFailure
	}
	qos := sub.QoS
	if qos > b.pol.MaxQoS {
		if b.pol.QoS2 == QoS2Refuse {
			return packet.SubackFailure
		}
		qos = b.pol.MaxQoS // [MQTT-3.8.4-6]: the granted QoS may be lower
	}
	i, found := s.findSub(sub.Filter)
	if found {
		s.subs[i].qos = qos
	} else {
		s.subs = slices.Insert(s.subs, i, subscription{filter: sub.Filter, qos: qos})
	}
	b.subs.add(sub.Filter, s, qos, !found)
	if !s.clean {
		b.change(Change{Kind: ChSubscribed, ClientID: s.clientID, Topic: sub.Filter, QoS: qos})
	}
	b.emit(Event{Kind: EvSubscribed, Conn: c.id, ClientID: s.clientID, Topic: sub.Filter, QoS: qos})
	return byte(qos)
}

// handleUnsubscribe removes the filters and always answers UNSUBACK
// [MQTT-3.10.4-4], [MQTT-3.10.4-5]. Copies already queued stay queued.
func (b *Broker) handleUnsubscribe(c *conn, p *packet.Unsubscribe) {
	s := c.sess
	for _, f := range p.Filters {
		if i, found := s.findSub(f); found {
			s.subs = slices.Delete(s.subs, i, i+1)
			b.subs.remove(f, s)
			if !s.clean {
				b.change(Change{Kind: ChUnsubscribed, ClientID: s.clientID, Topic: f})
			}
			b.emit(Event{Kind: EvUnsubscribed, Conn: c.id, ClientID: s.clientID, Topic: f})
		}
	}
	b.send(c, b.pkts.newUnsuback(p.PacketID))
}

// sendRetained offers s a copy of every retained message matching each
// filter granted by this SUBSCRIBE, with RETAIN=1 [MQTT-3.3.1-6],
// [MQTT-3.3.1-8]. A SUBSCRIBE with several filters is handled as a sequence
// of SUBSCRIBEs [MQTT-3.8.4-4]: filters in packet order, and for each the
// matching topics in topic order at that filter's granted QoS, so a topic
// matched by two filters is offered twice. Each copy is a new message (its
// own MsgID and EvPublished with one copy), so the original's copy count
// stays what it was when it was published.
func (b *Broker) sendRetained(s *session, subs []packet.Subscription, codes []byte, cause Cause) {
	if len(b.retained) == 0 {
		return
	}
	var topics []string
	for i, sub := range subs {
		if codes[i] == packet.SubackFailure {
			continue
		}
		topics = topics[:0]
		for topic := range b.retained {
			if matchFilter(sub.Filter, topic) {
				topics = append(topics, topic)
			}
		}
		slices.Sort(topics) // map order must not reach the output
		for _, topic := range topics {
			r := b.retained[topic]
			m := b.newMessage(r.publisher, r.topic, r.payload, r.qos, true)
			m.hold()
			b.emit(Event{Kind: EvPublished, ClientID: m.publisher, Msg: m.id, Topic: m.topic, QoS: m.qos,
				Copies: 1, Retain: true, Publisher: m.publisher, Cause: cause})
			b.offer(s, m, min(m.qos, packet.QoS(codes[i])))
			b.release(m)
		}
	}
}
