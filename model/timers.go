package model

import "github.com/sessionlab/sessionlab/broker"

// NextDeadline returns the earliest time at which time alone changes the
// model (a keepalive, an expiry, a TTL, a retry or a paced send), and false
// when nothing is pending. It may be early: a deadline input that finds
// nothing due is a no-op.
func (m *Model) NextDeadline() (broker.Time, bool) {
	var at broker.Time
	ok := false
	consider := func(t broker.Time) {
		if !ok || t < at {
			at, ok = t, true
		}
	}
	for _, c := range m.conns {
		if at, ok := KeepaliveDeadline(c.lastRecv, c.keepalive); ok && c.client != "" {
			consider(at) // [MQTT-3.1.2-24]
		}
	}
	for _, s := range m.sessions {
		if s.expires {
			consider(s.expireAt)
		}
		for _, cp := range s.queue {
			if m.pol.MessageTTL > 0 {
				consider(cp.queuedAt + m.pol.MessageTTL)
			}
			if p := m.paceAt(s); cp.stored && s.conn != 0 && p > m.now {
				consider(p)
			}
		}
		if p := m.paceAt(s); m.resendsLeft(s) && s.conn != 0 && p > m.now {
			consider(p)
		}
		for _, cp := range s.inflight {
			if m.pol.RetryFor > 0 && s.conn != 0 {
				consider(cp.firstSent + m.pol.RetryFor)
			}
			if m.pol.RetryInterval > 0 && s.conn != 0 && !cp.resend {
				consider(cp.lastSent + m.pol.RetryInterval)
			}
		}
	}
	return at, ok
}

// fireTimers does everything due at the current time: keepalive timeouts
// (a disconnect, the Will fires [MQTT-3.1.2-24]), retries given up, TTLs
// reached (Tencent: "for a maximum of 24 hours"), sessions expired (the
// Tencent and AWS pages), resends on a live connection, and paced sends.
func (m *Model) fireTimers() {
	for _, c := range append([]*conn(nil), m.conns...) {
		if at, ok := KeepaliveDeadline(c.lastRecv, c.keepalive); ok && c.client != "" && m.now >= at {
			m.lose(c, broker.ReasonKeepalive, true)
		}
	}
	for _, s := range append([]*session(nil), m.sessions...) {
		m.expireCopies(s)
		if s.expires && m.now >= s.expireAt {
			m.expire(s)
			continue
		}
		m.retry(s)
		m.pump(s)
	}
}

// expireCopies drops queued copies older than MessageTTL and, on a live
// connection, in-flight copies retried for RetryFor (AWS quotas page:
// retried "for up to one hour"); offline, unacknowledged copies are stored
// like the queue (the AWS page) until the session resumes or expires.
func (m *Model) expireCopies(s *session) {
	for _, cp := range append([]*copyOf(nil), s.inflight...) {
		if s.conn != 0 && RetryGivenUp(m.pol, cp.firstSent, m.now) {
			s.inflight = removeCopy(s.inflight, cp)
			m.drop(s, cp, broker.ReasonRetryExhausted)
		}
	}
	for _, cp := range append([]*copyOf(nil), s.queue...) {
		if TTLExpired(m.pol, cp.queuedAt, m.now) {
			s.queue = removeCopy(s.queue, cp)
			m.drop(s, cp, broker.ReasonTTL)
		}
	}
}

// retry re-sends, on a live connection, every in-flight copy of s not sent
// for RetryInterval, with DUP=1 (or its PUBREL).
func (m *Model) retry(s *session) {
	if s.conn == 0 || m.pol.RetryInterval == 0 {
		return
	}
	for _, cp := range s.inflight {
		if !cp.resend && m.now >= cp.lastSent+m.pol.RetryInterval {
			m.transmit(s, cp, true)
		}
	}
}

// DueAt returns how many sessions have a timer due at or before t (a
// connection's keepalive counts for its session). When more than one has,
// the order in which they fire is not specified: a keepalive timeout's Will
// may reach another session before or after that session's own timers.
func (m *Model) DueAt(t broker.Time) int {
	n := 0
	for _, s := range m.sessions {
		if m.sessionDueAt(s, t) {
			n++
		}
	}
	return n
}

// sessionDueAt reports whether s or its connection has a timer due by t.
func (m *Model) sessionDueAt(s *session, t broker.Time) bool {
	if c := m.conn(s.conn); c != nil {
		if at, ok := KeepaliveDeadline(c.lastRecv, c.keepalive); ok && at <= t {
			return true
		}
	}
	if s.expires && s.expireAt <= t {
		return true
	}
	for _, cp := range s.queue {
		if (m.pol.MessageTTL > 0 && cp.queuedAt+m.pol.MessageTTL <= t) || (cp.stored && s.conn != 0 && m.paceAt(s) <= t) {
			return true
		}
	}
	for _, cp := range s.inflight {
		if (m.pol.RetryFor > 0 && s.conn != 0 && cp.firstSent+m.pol.RetryFor <= t) ||
			(m.pol.RetryInterval > 0 && s.conn != 0 && !cp.resend && cp.lastSent+m.pol.RetryInterval <= t) ||
			(cp.resend && s.conn != 0 && m.paceAt(s) <= t) {
			return true
		}
	}
	return false
}
