package broker

// timerKind names what a timer heap entry wakes up. Deadlines are derived
// from state: an entry is only a hint to wake up and re-evaluate, so a stale
// or spurious entry is harmless and every handler is idempotent.
type timerKind uint8

// Timer kinds, in the order they fire when due at the same instant.
const (
	timerKeepalive timerKind = iota // connection: 1.5 x keepalive of silence
	timerSession                    // session: retry, TTL, expiry or paced replay
)

// timer is one heap entry: wake up at at and re-evaluate kind for its owner.
// Owners are named, not pointed to, so a Clone can copy the heap verbatim.
type timer struct {
	at     Time
	kind   timerKind
	owner  uint64 // ConnID for timerKeepalive, session sequence for timerSession
	client string // timerSession: the session's ClientId
}

// before orders timers by (at, kind, owner): a function of state alone, so
// entries due at the same instant fire in the same order whatever the
// history of the heap. Equal keys are duplicates, and firing is idempotent.
func (t *timer) before(u *timer) bool {
	if t.at != u.at {
		return t.at < u.at
	}
	if t.kind != u.kind {
		return t.kind < u.kind
	}
	return t.owner < u.owner
}

// timerHeap is a min-heap of timers.
type timerHeap struct{ items []timer }

// push adds t.
func (h *timerHeap) push(t timer) {
	h.items = append(h.items, t)
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.items[i].before(&h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// pop removes and returns the earliest timer. The heap must not be empty.
func (h *timerHeap) pop() timer {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items[last] = timer{}
	h.items = h.items[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.items[l].before(&h.items[m]) {
			m = l
		}
		if r < last && h.items[r].before(&h.items[m]) {
			m = r
		}
		if m == i {
			return top
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// armConn makes sure a keepalive entry no later than c's deadline exists.
func (b *Broker) armConn(c *conn) {
	at, ok := b.keepaliveDue(c)
	if !ok || (c.armedKA && c.pushedKA <= at) {
		return
	}
	c.pushedKA, c.armedKA = at, true
	b.pushTimer(timer{at: at, kind: timerKeepalive, owner: uint64(c.id)})
}

// keepaliveDue is when c has been silent for 1.5 x its keepalive
// [MQTT-3.1.2-24].
func (b *Broker) keepaliveDue(c *conn) (Time, bool) {
	if c.sess == nil || c.keepalive == 0 {
		return 0, false
	}
	return c.lastRecv + c.keepalive*3/2, true
}

// touch marks s for a pump and re-arming its timer at the end of the Step.
func (b *Broker) touch(s *session) {
	if !s.dirty {
		s.dirty = true
		b.dirty = append(b.dirty, s)
	}
}

// settleDirty pumps every session touched during this Step (so nothing
// sendable waits for an unrelated input) and re-arms its timer.
func (b *Broker) settleDirty() {
	for i := 0; i < len(b.dirty); i++ {
		s := b.dirty[i]
		b.forgetNext(timerSession, s.seq)
		if b.sessions[s.clientID] == s {
			b.pump(s)
			b.armSession(s)
		}
		s.dirty = false
		b.dirty[i] = nil
	}
	b.dirty = b.dirty[:0]
}

// armSession makes sure an entry no later than s's deadline exists. A
// deadline already past (a resumed copy whose RetryFor ran out while the
// session was offline) is armed too: NextDeadline then asks for an
// InDeadline at once, like any other due deadline.
func (b *Broker) armSession(s *session) {
	at, ok := b.sessionDue(s)
	if !ok || (s.armed && s.pushed <= at) {
		return
	}
	s.pushed, s.armed = at, true
	b.pushTimer(timer{at: at, kind: timerSession, owner: s.seq, client: s.clientID})
}

// sessionDue is the earliest of s's deadlines, computed from its state:
// in-flight retries and give-ups, the oldest queued copy's TTL, expiry, and
// the next paced stored send. A paced send due now is not a deadline: the
// pump at the end of every Step has already sent it, or it waits for the
// in-flight window, not for time.
func (b *Broker) sessionDue(s *session) (Time, bool) {
	at, ok := b.retryDue(s)
	earliest := func(t Time) {
		if !ok || t < at {
			at, ok = t, true
		}
	}
	if b.pol.MessageTTL > 0 && s.queue.Len() > 0 {
		earliest(s.queue.at(0).at + b.pol.MessageTTL)
	}
	if !s.online() && s.expires {
		earliest(s.expireAt)
	}
	if t, pending := b.replayDue(s); pending && t > b.now {
		earliest(t)
	}
	return at, ok
}

// pushTimer adds t to the heap; NextDeadline must look again.
func (b *Broker) pushTimer(t timer) {
	b.timers.push(t)
	b.next.known = false
}

// nextDeadline remembers what NextDeadline last answered. The answer is the
// heap's first live entry, so it stands until the heap changes (a push, a
// deadline stepped) or the state of that entry's owner changes (a packet on
// its connection, its session touched, a connection or session gone):
// forgetNext and the pushes watch for those, so NextDeadline after most
// Steps costs nothing.
type nextDeadline struct {
	at        Time
	ok, known bool
}

// forgetNext forgets the remembered answer when the heap's first entry
// belongs to the connection or session of kind and owner.
func (b *Broker) forgetNext(kind timerKind, owner uint64) {
	if b.next.known && len(b.timers.items) > 0 {
		if top := &b.timers.items[0]; top.kind == kind && top.owner == owner {
			b.next.known = false
		}
	}
}

// NextDeadline reports the earliest time at which the broker wants an
// InDeadline input, and false when it wants none. It discards stale heap
// entries first, so the time returned is a real deadline, and remembers the
// answer until the heap or the state of its first entry's owner changes
// (see nextDeadline). It may be at or before the time of the last Step (a
// copy resumed after its RetryFor ran out): the driver then steps
// InDeadline at once, with that Step's now.
func (b *Broker) NextDeadline() (Time, bool) {
	if !b.next.known {
		b.next.at, b.next.ok = b.nextDue()
		b.next.known = true
	}
	return b.next.at, b.next.ok
}

// nextDue discards stale heap entries and returns the earliest real
// deadline.
func (b *Broker) nextDue() (Time, bool) {
	for len(b.timers.items) > 0 {
		top := b.timers.items[0]
		due, ok := b.timerDue(top)
		if ok && due <= top.at {
			return top.at, true
		}
		b.timers.pop()
		b.disarm(top)
		if ok {
			b.rearm(top)
		}
	}
	return 0, false
}

// timerDue re-evaluates t against its owner's current state.
func (b *Broker) timerDue(t timer) (Time, bool) {
	if t.kind == timerKeepalive {
		if c := b.conns[ConnID(t.owner)]; c != nil {
			return b.keepaliveDue(c)
		}
		return 0, false
	}
	if s := b.sessions[t.client]; s != nil && s.seq == t.owner {
		return b.sessionDue(s)
	}
	return 0, false
}

// disarm forgets that t was its owner's earliest entry.
func (b *Broker) disarm(t timer) {
	if t.kind == timerKeepalive {
		if c := b.conns[ConnID(t.owner)]; c != nil && c.armedKA && c.pushedKA == t.at {
			c.armedKA = false
		}
		return
	}
	if s := b.sessions[t.client]; s != nil && s.seq == t.owner && s.armed && s.pushed == t.at {
		s.armed = false
	}
}

// rearm pushes an entry for t's owner at its current deadline.
func (b *Broker) rearm(t timer) {
	if t.kind == timerKeepalive {
		if c := b.conns[ConnID(t.owner)]; c != nil {
			b.armConn(c)
		}
		return
	}
	if s := b.sessions[t.client]; s != nil && s.seq == t.owner {
		b.armSession(s)
	}
}

// stepDeadline fires every timer due at or before now, in (time, kind,
// owner) order.
func (b *Broker) stepDeadline() {
	b.next.known = false
	for len(b.timers.items) > 0 && b.timers.items[0].at <= b.now {
		t := b.timers.pop()
		b.disarm(t)
		if t.kind == timerKeepalive {
			c := b.conns[ConnID(t.owner)]
			if due, ok := b.timerDue(t); ok && due <= b.now {
				b.lose(c, ReasonKeepalive, true)
			} else if ok {
				b.armConn(c)
			}
			continue
		}
		if s := b.sessions[t.client]; s != nil && s.seq == t.owner {
			b.settleSession(s)
		}
	}
}

// settleSession does everything time has made due for s, in a fixed order:
// give up retries (RetryFor), drop copies past their TTL, expire the
// session, re-send unacknowledged copies (RetryInterval), then pump the
// paced replay.
func (b *Broker) settleSession(s *session) {
	b.giveUpRetries(s)
	b.dropExpiredTTL(s)
	if !s.online() && s.expires && s.expireAt <= b.now {
		b.expire(s)
		return
	}
	b.resendStale(s)
	b.touch(s)
}
