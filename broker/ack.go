package broker

// handlePuback completes a QoS 1 copy [MQTT-4.3.2-1]. An unknown or
// mismatched id is ignored.
func (b *Broker) handlePuback(s *session, pid uint16) {
	i := s.findInflight(pid)
	if i < 0 || s.inflight[i].qos != 1 {
		return
	}
	d := s.removeInflight(i)
	b.keepGone(s, &d, ReasonNone)
	b.delivered(s, d)
	b.release(d.msg)
	b.pump(s)
}

// handlePubrec moves a QoS 2 copy to its second phase: the copy is
// delivered, and PUBREL is sent [MQTT-4.3.3-1]. PUBREL is also the answer
// to a repeated or unknown PUBREC, so the client can complete its flow.
func (b *Broker) handlePubrec(s *session, pid uint16) {
	i := s.findInflight(pid)
	if i >= 0 && s.inflight[i].qos == 2 && s.inflight[i].state == copyWaitAck {
		d := &s.inflight[i]
		if d.resend {
			d.resend = false
			s.resends--
		}
		d.state, d.lastSent = copyWaitComp, b.now
		if d.kept {
			b.change(Change{Kind: ChPubrec, ClientID: s.clientID, Msg: d.msg.id})
		}
		b.delivered(s, *d)
		b.touch(s)
	}
	b.send(s.conn, b.pkts.newPubrel(pid))
}

// handlePubcomp ends a QoS 2 copy's flow and frees its packet id.
func (b *Broker) handlePubcomp(s *session, pid uint16) {
	i := s.findInflight(pid)
	if i < 0 || s.inflight[i].state != copyWaitComp {
		return
	}
	d := s.removeInflight(i)
	b.keepGone(s, &d, ReasonNone)
	b.release(d.msg)
	b.pump(s)
}

// removeInflight removes and returns in-flight copy i, keeping send order.
func (s *session) removeInflight(i int) delivery {
	d := s.inflight[i]
	if d.resend {
		s.resends--
	}
	copy(s.inflight[i:], s.inflight[i+1:])
	s.inflight[len(s.inflight)-1] = delivery{}
	s.inflight = s.inflight[:len(s.inflight)-1]
	return d
}

// giveUpRetries drops copies of an online session left unacknowledged for
// RetryFor since their first send (ReasonRetryExhausted; AWS IoT Core quotas
// page: retried for up to one hour). Offline, they are stored like the
// queue (the AWS page) until the session resumes or expires.
func (b *Broker) giveUpRetries(s *session) {
	if b.pol.RetryFor == 0 || !s.online() {
		return
	}
	for i := 0; i < len(s.inflight); {
		if b.now >= s.inflight[i].firstSent+b.pol.RetryFor {
			b.forget(s, s.removeInflight(i), ReasonRetryExhausted)
			continue
		}
		i++
	}
}

// resendStale re-sends, on a live connection, every in-flight copy not sent
// for RetryInterval, with DUP=1 (or its PUBREL).
func (b *Broker) resendStale(s *session) {
	if b.pol.RetryInterval == 0 || !s.online() {
		return
	}
	for i := range s.inflight {
		if d := &s.inflight[i]; !d.resend && b.now >= d.lastSent+b.pol.RetryInterval {
			b.resend(s, i, false)
		}
	}
}

// retryDue is the earliest retry or give-up time of s's in-flight copies;
// both only run while s is online.
func (b *Broker) retryDue(s *session) (Time, bool) {
	var at Time
	ok := false
	if !s.online() {
		return 0, false
	}
	for i := range s.inflight {
		d := &s.inflight[i]
		if b.pol.RetryFor > 0 && (!ok || d.firstSent+b.pol.RetryFor < at) {
			at, ok = d.firstSent+b.pol.RetryFor, true
		}
		if b.pol.RetryInterval > 0 && !d.resend && (!ok || d.lastSent+b.pol.RetryInterval < at) {
			at, ok = d.lastSent+b.pol.RetryInterval, true
		}
	}
	return at, ok
}

// dropExpiredTTL drops queued copies older than MessageTTL (invariant 9).
func (b *Broker) dropExpiredTTL(s *session) {
	if b.pol.MessageTTL == 0 {
		return
	}
	for s.queue.Len() > 0 && s.queue.at(0).at+b.pol.MessageTTL <= b.now {
		d := s.queue.pop()
		if d.stored {
			s.backlog--
		}
		b.drop(s, d, ReasonTTL)
	}
}
