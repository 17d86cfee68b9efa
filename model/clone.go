package model

// Clone returns a deep copy of m that evolves independently, for the
// exhaustive explorer. Messages are immutable and shared.
func (m *Model) Clone() *Model {
	c := &Model{pol: m.pol, now: m.now, lastMsg: m.lastMsg}
	for _, cn := range m.conns {
		x := *cn
		c.conns = append(c.conns, &x)
	}
	for _, s := range m.sessions {
		x := *s
		x.subs = append(x.subs[:0:0], s.subs...)
		x.inbound2 = append(x.inbound2[:0:0], s.inbound2...)
		x.replaySent = append(x.replaySent[:0:0], s.replaySent...)
		x.queue, x.inflight = cloneCopies(s.queue), cloneCopies(s.inflight)
		c.sessions = append(c.sessions, &x)
	}
	c.retained = append(c.retained, m.retained...)
	return c
}

// cloneCopies copies each copy of cps.
func cloneCopies(cps []*copyOf) []*copyOf {
	var out []*copyOf
	for _, cp := range cps {
		x := *cp
		out = append(out, &x)
	}
	return out
}
