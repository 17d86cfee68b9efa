package broker

// timerKind names a deadline. Deadlines are derived from state: a heap entry
// is only a hint to wake up and re-evaluate, so a stale or spurious entry is
// harmless and every handler is idempotent.
type timerKind uint8

// Timer kinds. The session kinds index session.pushed after subtracting
// timerExpiry.
const (
	timerKeepalive timerKind = iota // connection: 1.5 x keepalive of silence
	timerExpiry                     // session: expiry after the detected disconnect
	timerReplay                     // session: next paced stored send
	timerRetry                      // session: re-send or give up an unacknowledged copy
	timerTTL                        // session: oldest queued copy reaches MessageTTL
)

// numSessionTimers is the number of per-session timer kinds.
const numSessionTimers = 4

// timer is one heap entry: wake up at at and re-evaluate kind for its owner.
// Owners are named, not pointed to, so a Clone can copy the heap verbatim.
type timer struct {
	at      Time
	seq     uint64 // insertion order breaks ties deterministically
	kind    timerKind
	conn    ConnID // timerKeepalive
	client  string // session kinds
	sessSeq uint64 // session kinds: which incarnation of client
}

// timerHeap is a min-heap of timers ordered by (at, seq).
type timerHeap struct {
	items []timer
	seq   uint64
}

func (h *timerHeap) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// push adds t, stamping it with the next sequence number.
func (h *timerHeap) push(t timer) {
	h.seq++
	t.seq = h.seq
	h.items = append(h.items, t)
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
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
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}

// armConn makes sure a keepalive entry no later than c's deadline exists.
func (b *Broker) armConn(c *conn) {
	at, ok := b.keepaliveDue(c)
	if !ok || (c.armedKA && c.pushedKA <= at) {
		return
	}
	c.pushedKA, c.armedKA = at, true
	b.timers.push(timer{at: at, kind: timerKeepalive, conn: c.id})
}

// keepaliveDue is when c has been silent for 1.5 x its keepalive
// [MQTT-3.1.2-24].
func (b *Broker) keepaliveDue(c *conn) (Time, bool) {
	if c.keepalive == 0 {
		return 0, false
	}
	return c.lastRecv + c.keepalive*3/2, true
}

// touch marks s for re-arming its timers at the end of the current Step.
func (b *Broker) touch(s *session) {
	if !s.dirty {
		s.dirty = true
		b.dirty = append(b.dirty, s)
	}
}

// armDirty re-arms the timers of every session touched during this Step.
func (b *Broker) armDirty() {
	for i, s := range b.dirty {
		s.dirty = false
		b.dirty[i] = nil
		if b.sessions[s.clientID] == s {
			b.armSession(s)
		}
	}
	b.dirty = b.dirty[:0]
}

// armSession makes sure an entry no later than each of s's deadlines exists.
// Deadlines not after now are not armed: firing them again would change
// nothing (every handler leaves its own deadline in the future or blocked).
func (b *Broker) armSession(s *session) {
	for k := timerExpiry; k <= timerTTL; k++ {
		at, ok := b.sessionDue(s, k)
		i := k - timerExpiry
		if !ok || at <= b.now || (s.armed[i] && s.pushed[i] <= at) {
			continue
		}
		s.pushed[i], s.armed[i] = at, true
		b.timers.push(timer{at: at, kind: k, client: s.clientID, sessSeq: s.seq})
	}
}

// sessionDue computes s's deadline of kind k from its state.
func (b *Broker) sessionDue(s *session, k timerKind) (Time, bool) {
	switch k {
	case timerExpiry:
		return s.expireAt, !s.online() && s.expires
	case timerReplay:
		return b.replayDue(s)
	case timerRetry:
		return b.retryDue(s)
	case timerTTL:
		if b.pol.MessageTTL == 0 || s.queue.Len() == 0 {
			return 0, false
		}
		return s.queue.at(0).at + b.pol.MessageTTL, true
	}
	return 0, false
}

// NextDeadline reports the earliest time at which the broker wants an
// InDeadline input, and false when it wants none. It first discards stale
// heap entries, so the time returned is a real deadline.
func (b *Broker) NextDeadline() (Time, bool) {
	for len(b.timers.items) > 0 {
		top := b.timers.items[0]
		due, ok := b.timerDue(top)
		if ok && due <= top.at {
			return top.at, true
		}
		b.timers.pop()
		b.disarm(top)
		if ok {
			b.rearm(top, due)
		}
	}
	return 0, false
}

// timerDue re-evaluates t against its owner's current state.
func (b *Broker) timerDue(t timer) (Time, bool) {
	if t.kind == timerKeepalive {
		c := b.conns[t.conn]
		if c == nil || c.sess == nil {
			return 0, false
		}
		return b.keepaliveDue(c)
	}
	s := b.sessions[t.client]
	if s == nil || s.seq != t.sessSeq {
		return 0, false
	}
	return b.sessionDue(s, t.kind)
}

// disarm forgets that t was its owner's earliest entry.
func (b *Broker) disarm(t timer) {
	if t.kind == timerKeepalive {
		if c := b.conns[t.conn]; c != nil && c.armedKA && c.pushedKA == t.at {
			c.armedKA = false
		}
		return
	}
	if s := b.sessions[t.client]; s != nil && s.seq == t.sessSeq {
		i := t.kind - timerExpiry
		if s.armed[i] && s.pushed[i] == t.at {
			s.armed[i] = false
		}
	}
}

// rearm pushes t again at due for the same owner.
func (b *Broker) rearm(t timer, due Time) {
	if t.kind == timerKeepalive {
		if c := b.conns[t.conn]; c != nil {
			b.armConn(c)
		}
		return
	}
	if s := b.sessions[t.client]; s != nil {
		b.armSession(s)
	}
	_ = due
}

// stepDeadline fires every timer due at or before now.
func (b *Broker) stepDeadline() {
	for len(b.timers.items) > 0 && b.timers.items[0].at <= b.now {
		t := b.timers.pop()
		b.disarm(t)
		due, ok := b.timerDue(t)
		if !ok {
			continue
		}
		if due > b.now {
			b.rearm(t, due)
			continue
		}
		b.fire(t)
	}
}

// fire runs the handler of a timer that is due now.
func (b *Broker) fire(t timer) {
	if t.kind == timerKeepalive {
		b.lose(b.conns[t.conn], ReasonKeepalive, true)
		return
	}
	s := b.sessions[t.client]
	switch t.kind {
	case timerExpiry:
		b.expire(s)
	case timerReplay:
		b.pump(s)
	case timerRetry:
		b.retry(s)
	case timerTTL:
		b.dropExpiredTTL(s)
	}
	if b.sessions[t.client] == s {
		b.armSession(s)
	}
}
