package model

import (
	"slices"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// publish handles a PUBLISH from client c: QoS 0 is routed, QoS 1 routed and
// PUBACKed [MQTT-4.3.2-2], QoS 2 routed once and PUBRECed (method A,
// [MQTT-4.3.3-2]). A QoS above the policy's MaxQoS follows Policy.QoS2.
func (m *Model) publish(c *conn, s *session, p *packet.Publish) {
	switch {
	case IgnoresPublish(m.pol, p.QoS): // AWS: no PUBACK, message dropped (quotas page)
		m.lastMsg++ // it was a PUBLISH from a client: it has a MsgID
		m.emit(broker.Event{Kind: broker.EvDropped, ClientID: c.client, Msg: m.lastMsg, Publisher: c.client, Topic: p.Topic, QoS: p.QoS, Reason: broker.ReasonQoSUnsupported, Cause: causeOf(c, p)})
		return
	case p.QoS > m.pol.MaxQoS && m.pol.QoS2 == broker.QoS2Refuse:
		m.protocolError(c)
		return
	}
	qos := MessageQoS(m.pol, p.QoS)
	switch qos {
	case 0:
		m.accept(c.client, p, 0, causeOf(c, p))
	case 1:
		m.accept(c.client, p, 1, causeOf(c, p))
		m.send(c.id, &packet.Puback{PacketID: p.PacketID})
	case 2:
		if !hasID(s.inbound2, p.PacketID) { // a resend of an unreleased id is not routed again
			s.inbound2 = append(s.inbound2, p.PacketID)
			m.accept(c.client, p, 2, causeOf(c, p))
		}
		m.send(c.id, &packet.Pubrec{PacketID: p.PacketID})
	}
}

// causeOf names the PUBLISH p received on c as the cause of its message.
func causeOf(c *conn, p *packet.Publish) broker.Cause {
	return broker.Cause{Kind: broker.CausePublish, Conn: c.id, PacketID: p.PacketID}
}

// publishWill publishes the Will of client, whose connection id ended
// without DISCONNECT, as an ordinary message [MQTT-3.1.2-8], at no more than
// the policy's MaxQoS.
func (m *Model) publishWill(client string, id broker.ConnID, will *packet.Publish) {
	qos := MessageQoS(m.pol, will.QoS)
	cause := broker.Cause{Kind: broker.CauseWill, Conn: id}
	msg := m.accept(client, will, qos, cause)
	m.emit(broker.Event{Kind: broker.EvWillPublished, ClientID: client, Msg: msg.id, Topic: will.Topic, QoS: qos, Cause: cause})
}

// accept makes p a message with a fresh MsgID, updates the retained message
// of its topic [MQTT-3.3.1-5], [MQTT-3.3.1-10], and routes one copy to every
// session with a matching subscription.
func (m *Model) accept(publisher string, p *packet.Publish, qos packet.QoS, cause broker.Cause) *message {
	m.lastMsg++
	msg := &message{id: m.lastMsg, publisher: publisher, topic: p.Topic, payload: p.Payload, qos: qos, retain: p.Retain}
	if p.Retain {
		m.setRetained(msg)
	}
	copies := 0
	for _, s := range m.sessions {
		if _, ok := grant(s.subs, msg.topic); ok {
			copies++
		}
	}
	m.emit(broker.Event{Kind: broker.EvPublished, ClientID: publisher, Msg: msg.id, Topic: msg.topic, QoS: qos, Copies: copies, Cause: cause})
	for _, s := range append([]*session(nil), m.sessions...) {
		if g, ok := grant(s.subs, msg.topic); ok {
			m.offer(s, &copyOf{msg: msg, qos: min(qos, g), queuedAt: m.now}) // [MQTT-3.3.5-1]
		}
	}
	return msg
}

// grant returns the highest QoS granted by a subscription in subs matching
// topic, and whether there is one; one copy is delivered per session
// [MQTT-3.3.5-1].
func grant(subs []packet.Subscription, topic string) (packet.QoS, bool) {
	best, ok := packet.QoS(0), false
	for _, sub := range subs {
		if matches(sub.Filter, topic) {
			best, ok = max(best, sub.QoS), true
		}
	}
	return best, ok
}

// offer gives session s a copy: an offline session drops QoS 0 unless the
// policy stores it [MQTT-3.1.2-5]; a copy that can be sent at once is sent;
// otherwise it joins the queue, bounded by QueueCap with the policy's
// victim, and the queue is pumped.
func (m *Model) offer(s *session, cp *copyOf) {
	if s.conn == 0 && !StoresOffline(m.pol, cp.qos) {
		m.drop(s, cp, broker.ReasonQoS0Offline)
		return
	}
	if m.sendsNow(s, cp) {
		s.queue = append(s.queue, cp)
		m.pump(s)
		return
	}
	if QueueFull(m.pol, len(s.queue)) {
		victim := m.victim(s, cp)
		m.drop(s, victim, broker.ReasonQueueFull)
		if victim == cp {
			return
		}
		s.queue = removeCopy(s.queue, victim)
	}
	s.queue = append(s.queue, cp)
	m.emit(broker.Event{Kind: broker.EvEnqueued, ClientID: s.client, Msg: cp.msg.id, Publisher: cp.msg.publisher, Topic: cp.msg.topic, QoS: cp.qos})
	m.pump(s)
}

// sendsNow reports whether pump would send cp, a live copy, as soon as it
// joins the queue of s: s is online, no live copy waits before it, it fits
// the window, and no backlog holds live traffic back.
func (m *Model) sendsNow(s *session, cp *copyOf) bool {
	if s.conn == 0 || !m.windowFits(s, cp) {
		return false
	}
	for _, q := range s.queue {
		if !q.stored || m.pol.ReplayBlocksLive {
			return false
		}
	}
	return !(m.pol.ReplayBlocksLive && m.resendsLeft(s))
}

// victim chooses the copy dropped when cp arrives at the full queue of s.
func (m *Model) victim(s *session, cp *copyOf) *copyOf {
	i := Victim(m.pol, len(s.queue), func(i int) packet.QoS { return s.queue[i].qos }, cp.qos)
	if i == len(s.queue) {
		return cp
	}
	return s.queue[i]
}

// pump sends what an online session may send now. The backlog of a resume
// (the PUBLISHes to re-send, then the stored copies) and the live copies are
// two first-in-first-out lanes sharing the in-flight window. The backlog
// waits for the replay pacing (Tencent: one per ReplayInterval;
// AWS: ReplayRate per second, the AWS page). When the policy holds live traffic
// behind the backlog (ReplayBlocksLive, Tencent: "sequentially") the live
// lane waits until the backlog is empty; otherwise the lanes interleave (seed
// 004). Within a lane copies keep their order, since a copy of QoS 1 or 2
// waiting for the window holds back those behind it. Only the single lane
// keeps order across a resume [MQTT-4.6.0-6]: with two, a live copy may
// overtake an older stored copy of the same topic and QoS, which is why a
// policy promising order (InvOrder) must set ReplayBlocksLive.
func (m *Model) pump(s *session) {
	if s.conn == 0 {
		return
	}
	for _, cp := range s.inflight {
		if !cp.resend {
			continue
		}
		if m.paceAt(s) > m.now {
			break
		}
		cp.resend = false
		s.replaySent = append(s.replaySent, m.now)
		m.transmit(s, cp, true)
	}
	backlog := m.resendsLeft(s)
	for _, cp := range slices.Clone(s.queue) {
		if !cp.stored {
			continue
		}
		if backlog || m.paceAt(s) > m.now || !m.windowFits(s, cp) {
			backlog = true
			break
		}
		s.queue = removeCopy(s.queue, cp)
		s.replaySent = append(s.replaySent, m.now)
		m.sendCopy(s, cp)
	}
	if backlog && m.pol.ReplayBlocksLive {
		return
	}
	for _, cp := range slices.Clone(s.queue) {
		if cp.stored {
			continue
		}
		if !m.windowFits(s, cp) {
			return
		}
		s.queue = removeCopy(s.queue, cp)
		m.sendCopy(s, cp)
	}
}

// windowFits reports whether sending cp keeps s within the in-flight
// window; QoS 0 copies do not occupy it.
func (m *Model) windowFits(s *session, cp *copyOf) bool {
	return cp.qos == 0 || m.pol.InflightWindow == 0 || len(s.inflight) < m.pol.InflightWindow
}

// resendsLeft reports whether s still has PUBLISHes to re-send from before
// its resume; the stored queue waits behind them.
func (m *Model) resendsLeft(s *session) bool {
	for _, cp := range s.inflight {
		if cp.resend {
			return true
		}
	}
	return false
}

// paceAt returns the earliest time the next stored copy of s may be sent.
func (m *Model) paceAt(s *session) broker.Time { return PaceAt(m.pol, s.replaySent) }

// sendCopy sends cp for the first time: a QoS 0 copy is delivered once sent;
// a QoS 1 or 2 copy takes a packet id no other in-flight copy of s holds
// [MQTT-2.3.1-2] and waits for its acknowledgement.
func (m *Model) sendCopy(s *session, cp *copyOf) {
	if cp.qos == 0 {
		m.send(s.conn, m.publishPacket(cp, false))
		m.deliver(s, cp)
		return
	}
	cp.pid = m.freeID(s)
	cp.firstSent = m.now
	s.inflight = append(s.inflight, cp)
	m.transmit(s, cp, false)
}

// transmit writes the current packet of the in-flight copy cp: its PUBLISH
// (DUP=1 when resent [MQTT-3.3.1-1]) or, once PUBRECed, its PUBREL.
func (m *Model) transmit(s *session, cp *copyOf, resend bool) {
	cp.lastSent = m.now
	if cp.completed {
		m.send(s.conn, &packet.Pubrel{PacketID: cp.pid})
		return
	}
	m.send(s.conn, m.publishPacket(cp, resend))
}

// publishPacket is the PUBLISH carrying cp. RETAIN is set only for a
// retained message sent because of a new subscription [MQTT-3.3.1-8],
// [MQTT-3.3.1-9].
func (m *Model) publishPacket(cp *copyOf, dup bool) *packet.Publish {
	return &packet.Publish{Dup: dup, QoS: cp.qos, Retain: cp.retain, Topic: cp.msg.topic, PacketID: cp.pid, Payload: cp.msg.payload}
}

// freeID returns the packet id after the last one s used that no in-flight
// copy holds (ids are 1..65535 [MQTT-2.3.1-1]).
func (m *Model) freeID(s *session) uint16 {
	s.lastPID = NextPacketID(s.lastPID, func(id uint16) bool { return m.inflightCopy(s, id) != nil })
	return s.lastPID
}

// inflightCopy returns the in-flight copy of s with packet id pid, or nil.
func (m *Model) inflightCopy(s *session, pid uint16) *copyOf {
	for _, cp := range s.inflight {
		if cp.pid == pid {
			return cp
		}
	}
	return nil
}

// puback completes a QoS 1 copy [MQTT-4.3.2-1]; an unknown id is ignored.
func (m *Model) puback(s *session, pid uint16) {
	if cp := m.inflightCopy(s, pid); cp != nil && cp.qos == 1 {
		s.inflight = removeCopy(s.inflight, cp)
		m.deliver(s, cp)
		m.pump(s)
	}
}

// pubrec delivers a QoS 2 copy and answers PUBREL [MQTT-4.3.3-1]; a
// duplicate PUBREC gets the PUBREL again.
func (m *Model) pubrec(s *session, pid uint16) {
	cp := m.inflightCopy(s, pid)
	if cp == nil || cp.qos != 2 {
		return
	}
	if !cp.completed {
		cp.completed = true
		m.deliver(s, cp)
	}
	m.transmit(s, cp, false)
}

// pubcomp ends a QoS 2 exchange and frees its packet id [MQTT-4.3.3-1].
func (m *Model) pubcomp(s *session, pid uint16) {
	if cp := m.inflightCopy(s, pid); cp != nil && cp.completed {
		s.inflight = removeCopy(s.inflight, cp)
		m.pump(s)
	}
}

// deliver records that cp reached its end state for s.
func (m *Model) deliver(s *session, cp *copyOf) {
	m.emit(broker.Event{Kind: broker.EvDelivered, ClientID: s.client, Msg: cp.msg.id, Publisher: cp.msg.publisher, Topic: cp.msg.topic, QoS: cp.qos, PacketID: cp.pid})
}

// drop records that cp will never be delivered to s.
func (m *Model) drop(s *session, cp *copyOf, reason broker.Reason) {
	m.emit(broker.Event{Kind: broker.EvDropped, ClientID: s.client, Msg: cp.msg.id, Publisher: cp.msg.publisher, Topic: cp.msg.topic, QoS: cp.qos, Reason: reason})
}

// removeCopy returns cps without cp, keeping the order.
func removeCopy(cps []*copyOf, cp *copyOf) []*copyOf {
	for i, x := range cps {
		if x == cp {
			return append(cps[:i:i], cps[i+1:]...)
		}
	}
	return cps
}

// hasID reports whether ids contains id.
func hasID(ids []uint16, id uint16) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
