package model

import "fmt"

// Clone returns a deep copy of m that evolves independently, for the
// exhaustive explorer. Messages are immutable and shared.
func (m *Model) Clone() *Model {
	c := &Model{pol: m.pol, now: m.now, lastMsg: m.lastMsg, pidBase: m.pidBase}
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

// AppendState appends a canonical description of m's state to dst, for
// the explorer's state hashing: equal states give equal bytes.
func (m *Model) AppendState(dst []byte) []byte {
	dst = fmt.Appendf(dst, "t=%d msg=%d", m.now, m.lastMsg)
	for _, c := range m.conns {
		dst = fmt.Appendf(dst, "|c%d %s ka=%d rx=%d will=%v", c.id, c.client, c.keepalive, c.lastRecv, c.will != nil)
	}
	for _, s := range m.sessions {
		dst = fmt.Appendf(dst, "|s %s clean=%v conn=%d subs=%v in2=%v pid=%d exp=%v@%d paced=%v q=",
			s.client, s.clean, s.conn, s.subs, s.inbound2, s.lastPID, s.expires, s.expireAt, s.replaySent)
		dst = appendCopies(dst, s.queue)
		dst = append(dst, " f="...)
		dst = appendCopies(dst, s.inflight)
	}
	for _, r := range m.retained {
		dst = fmt.Appendf(dst, "|r m%d %s q%d", r.id, r.topic, r.qos)
	}
	return dst
}

// appendCopies describes cps by value, never by pointer.
func appendCopies(dst []byte, cps []*copyOf) []byte {
	for _, cp := range cps {
		dst = fmt.Appendf(dst, "[m%d q%d r=%v at=%d st=%v rs=%v id=%d done=%v %d %d]", cp.msg.id, cp.qos, cp.retain,
			cp.queuedAt, cp.stored, cp.resend, cp.pid, cp.completed, cp.firstSent, cp.lastSent)
	}
	return dst
}

// Sizes reports whether client has a session and, if so, how many copies
// wait in its queue (what QueueCap bounds) and how many are in flight (what
// InflightWindow bounds). The suites compare them with the core's.
func (m *Model) Sizes(client string) (exists bool, queued, inflight int) {
	if s := m.session(client); s != nil {
		return true, len(s.queue), len(s.inflight)
	}
	return false, 0, 0
}
