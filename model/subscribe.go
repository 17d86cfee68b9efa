package model

import (
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// subscribe grants each filter min(requested, MaxQoS) [MQTT-3.9.3-2],
// replaces an existing subscription with the same filter [MQTT-3.8.4-3],
// answers SUBACK with the same packet id [MQTT-3.8.4-1], [MQTT-3.8.4-2], and
// then offers the retained messages matching each filter [MQTT-3.3.1-6].
// QoS 2 requests on a broker without QoS 2 follow Policy.QoS2: a refused
// filter gets 0x80; an ignoring broker (AWS) answers nothing and subscribes
// nothing if any filter asks for QoS 2.
func (m *Model) subscribe(c *conn, s *session, p *packet.Subscribe) {
	codes := make([]byte, len(p.Subscriptions))
	for i, sub := range p.Subscriptions {
		g := min(sub.QoS, m.pol.MaxQoS)
		if sub.QoS > m.pol.MaxQoS && m.pol.QoS2 == broker.QoS2Ignore {
			return
		}
		if sub.QoS > m.pol.MaxQoS && m.pol.QoS2 == broker.QoS2Refuse {
			codes[i] = packet.SubackFailure
			continue
		}
		codes[i] = byte(g)
	}
	for i, sub := range p.Subscriptions {
		if codes[i] != packet.SubackFailure {
			s.subs = setSub(s.subs, packet.Subscription{Filter: sub.Filter, QoS: packet.QoS(codes[i])})
			m.emit(broker.Event{Kind: broker.EvSubscribed, ClientID: s.client, Topic: sub.Filter, QoS: packet.QoS(codes[i])})
		}
	}
	m.send(c.id, &packet.Suback{PacketID: p.PacketID, ReturnCodes: codes})
	for i, sub := range p.Subscriptions {
		if codes[i] == packet.SubackFailure {
			continue
		}
		for _, r := range m.retained {
			if matches(sub.Filter, r.topic) {
				m.replayRetained(s, r, packet.QoS(codes[i]), broker.Cause{Kind: broker.CauseRetained, Conn: c.id, PacketID: p.PacketID})
			}
		}
	}
}

// replayRetained offers s the retained message r for a new subscription
// granted g. As the core's event contract says (broker.EvPublished), the
// replay is a new message with one copy, published by r's publisher.
func (m *Model) replayRetained(s *session, r *message, g packet.QoS, cause broker.Cause) {
	m.lastMsg++
	msg := *r
	msg.id = m.lastMsg
	m.emit(broker.Event{Kind: broker.EvPublished, ClientID: msg.publisher, Msg: msg.id, Topic: msg.topic, QoS: msg.qos, Copies: 1, Retain: true, Cause: cause})
	m.offer(s, &copyOf{msg: &msg, qos: min(msg.qos, g), retain: true, queuedAt: m.now})
}

// unsubscribe removes the filters that match exactly [MQTT-3.10.4-1] and
// answers UNSUBACK even when none did [MQTT-3.10.4-4], [MQTT-3.10.4-5].
// Copies already queued stay queued.
func (m *Model) unsubscribe(c *conn, s *session, p *packet.Unsubscribe) {
	for _, f := range p.Filters {
		for i, sub := range s.subs {
			if sub.Filter == f {
				s.subs = append(s.subs[:i:i], s.subs[i+1:]...)
				m.emit(broker.Event{Kind: broker.EvUnsubscribed, ClientID: s.client, Topic: f})
				break
			}
		}
	}
	m.send(c.id, &packet.Unsuback{PacketID: p.PacketID})
}

// setSub returns subs with sub added, or replacing the one with its filter.
func setSub(subs []packet.Subscription, sub packet.Subscription) []packet.Subscription {
	for i := range subs {
		if subs[i].Filter == sub.Filter {
			subs[i] = sub
			return subs
		}
	}
	return append(subs, sub)
}

// setRetained stores msg as the retained message of its topic (the list is
// sorted by topic: the order retained messages are replayed in), or clears
// it when the payload is empty [MQTT-3.3.1-5], [MQTT-3.3.1-10], [MQTT-3.3.1-11].
func (m *Model) setRetained(msg *message) {
	for i, r := range m.retained {
		if r.topic == msg.topic {
			m.retained = append(m.retained[:i:i], m.retained[i+1:]...)
			break
		}
	}
	if len(msg.payload) > 0 {
		i := 0
		for i < len(m.retained) && m.retained[i].topic < msg.topic {
			i++
		}
		m.retained = slices.Insert(m.retained, i, msg)
	}
}

// matches reports whether topic matches filter: '+' matches exactly one
// level, '#' (last) matches the parent level and any number below
// [MQTT-4.7.1-2], [MQTT-4.7.1-3]; filters starting with a wildcard do not
// match topics starting with '$' [MQTT-4.7.2-1].
func matches(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) || (f != "+" && f != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}
