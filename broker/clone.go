package broker

// Clone returns a deep copy of b that evolves independently: the exhaustive
// explorer branches on it. Payload bytes are shared (they are never
// written); Config (and so any Authenticator or Authorizer) is shared.
// Outputs of the clone start empty.
func (b *Broker) Clone() *Broker {
	c := &Broker{
		cfg: b.cfg, pol: b.pol, now: b.now,
		conns:    make(map[ConnID]*conn, len(b.conns)),
		sessions: make(map[string]*session, len(b.sessions)),
		sessSeq:  b.sessSeq, autoIDs: b.autoIDs, nextMsg: b.nextMsg, reservedMsg: b.reservedMsg, payloadBytes: b.payloadBytes,
		retained: make(map[string]*message, len(b.retained)),
		timers:   timerHeap{items: append([]timer(nil), b.timers.items...)}, next: b.next,
		pkts: arenas{reuse: b.cfg.ReusePackets},
	}
	msgs := make(map[*message]*message)
	cloneMsg := func(m *message) *message {
		if n := msgs[m]; n != nil {
			return n
		}
		n := new(message)
		*n = *m
		msgs[m] = n
		return n
	}
	for id, cn := range b.conns {
		nc := *cn
		nc.sess = nil
		if cn.will != nil {
			w := *cn.will
			nc.will = &w
		}
		c.conns[id] = &nc
	}
	for _, s := range b.sessionsInOrder() {
		ns := cloneSession(s, cloneMsg)
		if s.conn != nil {
			ns.conn = c.conns[s.conn.id]
			ns.conn.sess = ns
		}
		c.sessions[ns.clientID] = ns
		for _, sub := range ns.subs {
			c.subs.add(sub.filter, ns, sub.qos, true)
		}
	}
	for t, m := range b.retained {
		c.retained[t] = cloneMsg(m)
	}
	return c
}

// cloneSession copies s with its own slices and cloned messages.
func cloneSession(s *session, cloneMsg func(*message) *message) *session {
	ns := *s
	ns.conn, ns.dirty = nil, false
	ns.subs = append([]subscription(nil), s.subs...)
	ns.inbound2 = append([]uint16(nil), s.inbound2...)
	ns.inflight = append([]delivery(nil), s.inflight...)
	for i := range ns.inflight {
		ns.inflight[i].msg = cloneMsg(ns.inflight[i].msg)
	}
	ns.queue = s.queue.clone()
	for i := 0; i < ns.queue.Len(); i++ {
		d := ns.queue.at(i)
		d.msg = cloneMsg(d.msg)
	}
	return &ns
}
