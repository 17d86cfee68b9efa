package broker

import "time"

// deliver sends d now when nothing must go before it, else queues it.
// Live copies wait behind live copies already queued; with ReplayBlocksLive
// they also wait behind the stored backlog of a resume.
func (b *Broker) deliver(s *session, d delivery) {
	if s.online() && s.queue.Len() == s.backlog && !(b.pol.ReplayBlocksLive && b.replaying(s)) && b.canSend(s, d) {
		b.transmit(s, d, false)
		return
	}
	b.enqueue(s, d)
}

// replaying reports whether stored copies from the last resume are pending.
func (b *Broker) replaying(s *session) bool {
	return s.backlog > 0 || s.firstResend() >= 0
}

// canSend reports whether d fits the in-flight window (QoS 0 always does).
func (b *Broker) canSend(s *session, d delivery) bool {
	if d.qos == 0 {
		return true
	}
	w := b.pol.InflightWindow
	if w == 0 {
		w = maxPacketIDs // [MQTT-2.3.1-2]: no more than there are packet ids
	}
	return len(s.inflight) < w
}

// enqueue queues d, evicting the policy's victim when the queue is at its cap
// (invariant 8).
// An eviction can unblock copies behind the victim (QoS 0 behind a QoS 1
// head waiting for the window), so it is followed by a pump.
func (b *Broker) enqueue(s *session, d delivery) {
	evicted := false
	if b.pol.QueueCap > 0 && s.queue.Len() >= b.pol.QueueCap {
		victim := b.victim(s, d)
		if victim < 0 {
			b.drop(s, d, ReasonQueueFull)
			return
		}
		v := s.queue.removeAt(victim)
		if v.stored {
			s.backlog--
		}
		b.drop(s, v, ReasonQueueFull)
		evicted = true
	}
	d.at, d.state, d.stored = b.now, copyQueued, false
	b.keepQueued(s, &d)
	s.queue.push(d, b.pol.QueueCap)
	b.emit(Event{Kind: EvEnqueued, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic, QoS: d.qos, Publisher: d.msg.publisher})
	b.touch(s)
	if evicted {
		b.pump(s)
	}
}

// victim returns the index of the queued copy the policy evicts for the
// arriving d, or -1 to refuse d itself.
func (b *Broker) victim(s *session, d delivery) int {
	switch b.pol.Overflow {
	case DropOldest:
		return 0
	case DropOldestQoS0First:
		for i := 0; i < s.queue.Len(); i++ {
			if s.queue.at(i).qos == 0 {
				return i
			}
		}
		if d.qos == 0 {
			return -1
		}
		return 0
	}
	return -1 // DropNewest
}

// transmit sends a copy for the first time. QoS 0 is delivered once sent;
// QoS 1 and 2 get a packet id and wait in flight [MQTT-2.3.1-2].
func (b *Broker) transmit(s *session, d delivery, stored bool) {
	p := b.pkts.newPublish()
	p.QoS, p.Retain, p.Topic, p.Payload = d.qos, d.msg.retain, d.msg.topic, d.msg.payload
	if d.qos > 0 {
		d.pid = s.allocPID()
		d.state, d.firstSent, d.lastSent, d.stored, d.resend = copyWaitAck, b.now, b.now, false, false
		p.PacketID = d.pid
		b.keepSent(s, &d)
		s.inflight = append(s.inflight, d)
	}
	b.send(s.conn, p)
	b.emit(Event{Kind: EvSent, Conn: s.conn.id, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic,
		QoS: d.qos, PacketID: d.pid, Stored: stored, Retain: d.msg.retain, Publisher: d.msg.publisher})
	if d.qos == 0 {
		b.keepGone(s, &d, ReasonNone)
		b.delivered(s, d)
		b.release(d.msg)
	}
	b.touch(s)
}

// resend re-sends the in-flight copy i with DUP=1 and its original packet id
// [MQTT-4.4.0-1], or its PUBREL once PUBREC has arrived.
func (b *Broker) resend(s *session, i int, stored bool) {
	d := &s.inflight[i]
	if d.resend {
		d.resend = false
		s.resends--
	}
	d.lastSent = b.now
	if d.state == copyWaitComp {
		b.send(s.conn, b.pkts.newPubrel(d.pid))
		return
	}
	p := b.pkts.newPublish()
	p.Dup, p.QoS, p.Retain, p.Topic, p.PacketID, p.Payload = true, d.qos, d.msg.retain, d.msg.topic, d.pid, d.msg.payload
	b.send(s.conn, p)
	b.emit(Event{Kind: EvSent, Conn: s.conn.id, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic,
		QoS: d.qos, PacketID: d.pid, Dup: true, Stored: stored, Retain: d.msg.retain, Publisher: d.msg.publisher})
	b.touch(s)
}

// pump sends what s may send now, in order: unacknowledged copies from
// before the resume, then the stored backlog (both paced by the policy),
// then live copies that waited for the window or behind the backlog.
func (b *Broker) pump(s *session) {
	b.touch(s)          // whatever pump leaves blocked by pacing needs its timer
	b.dropExpiredTTL(s) // never send a copy past its TTL, even if the deadline input is late
	for s.online() {
		paceOK := b.replayAllowed(s)
		i := s.firstResend()
		if i >= 0 && paceOK {
			b.resend(s, i, true)
			b.noteReplay(s)
			continue
		}
		if i < 0 && s.backlog > 0 && paceOK && b.canSend(s, *s.queue.at(0)) {
			d := s.queue.pop()
			s.backlog--
			b.noteReplay(s)
			b.transmit(s, d, true)
			continue
		}
		if b.pol.ReplayBlocksLive && b.replaying(s) {
			return
		}
		if s.queue.Len() > s.backlog && b.canSend(s, *s.queue.at(s.backlog)) {
			b.transmit(s, s.queue.removeAt(s.backlog), false)
			continue
		}
		return
	}
}

// firstResend returns the index of the first in-flight copy waiting to be
// re-sent after a resume, or -1.
func (s *session) firstResend() int {
	if s.resends == 0 {
		return -1
	}
	for i := range s.inflight {
		if s.inflight[i].resend {
			return i
		}
	}
	return -1
}

// replayAllowed reports whether pacing lets s send a stored copy now
// (invariant 11).
func (b *Broker) replayAllowed(s *session) bool {
	return b.replayNext(s) <= b.now
}

// replayNext is the earliest time pacing lets s send its next stored copy:
// ReplayInterval after the previous one, and 1/ReplayRate after it, so that
// a client never receives more than ReplayRate stored messages in any
// second (AWS IoT Core: "at a maximum rate of 10 messages per second").
func (b *Broker) replayNext(s *session) Time {
	if !s.replayed {
		return 0
	}
	next := s.lastReplay + b.pol.ReplayInterval
	if n := b.pol.ReplayRate; n > 0 {
		next = max(next, s.lastReplay+time.Second/Time(n))
	}
	return next
}

// noteReplay records a stored send at now for pacing.
func (b *Broker) noteReplay(s *session) { s.lastReplay, s.replayed = b.now, true }

// replayDue is when pacing next lets a blocked stored copy go.
func (b *Broker) replayDue(s *session) (Time, bool) {
	if !s.online() {
		return 0, false
	}
	pending := s.firstResend() >= 0 || (s.backlog > 0 && b.canSend(s, *s.queue.at(0)))
	return b.replayNext(s), pending
}

// delivered reports a copy's end state: QoS 0 sent, PUBACK or PUBREC received.
func (b *Broker) delivered(s *session, d delivery) {
	b.emit(Event{Kind: EvDelivered, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic, QoS: d.qos,
		PacketID: d.pid, Publisher: d.msg.publisher})
}

// drop reports a copy that will never be delivered, and releases it.
func (b *Broker) drop(s *session, d delivery, reason Reason) {
	b.keepGone(s, &d, reason)
	b.emit(Event{Kind: EvDropped, ClientID: s.clientID, Msg: d.msg.id, Topic: d.msg.topic, QoS: d.qos,
		PacketID: d.pid, Reason: reason, Publisher: d.msg.publisher})
	b.release(d.msg)
}
