package tcp

import (
	"sync"
	"time"
)

// Timeouts of polled connections (conn.tstate).
const (
	tsNone    uint8 = iota
	tsConnect       // no complete packet yet: Config.ConnectTimeout
	tsLinger        // half-closed, draining the client's input: lingerTimeout
)

// timeouts runs one kind of timeout of polled connections, all of the same
// duration, so that they come due in the order they were armed: a FIFO
// behind a single timer, instead of a runtime timer per connection (about
// 110 bytes each, allocated on every accept). An entry that is no longer
// armed (conn.tstate changed: the client connected, the connection closed)
// is skipped when it comes due.
type timeouts struct {
	kind  uint8
	d     time.Duration
	fire  func(*conn) // the timeout, run without locks held
	start time.Time   // the origin of timeout.at, which then takes 8 bytes, not 24

	mu    sync.Mutex
	q     []timeout // due in order from q[head]
	head  int
	timer *time.Timer
}

// keepTimeouts is the most entries whose room a drained queue keeps.
const keepTimeouts = 256

type timeout struct {
	at time.Duration // since start
	c  *conn
}

func newTimeouts(kind uint8, d time.Duration, fire func(*conn)) *timeouts {
	t := &timeouts{kind: kind, d: d, fire: fire, start: time.Now()}
	t.timer = time.AfterFunc(time.Hour, t.due)
	t.timer.Stop()
	return t
}

// arm starts c's timeout of this kind, replacing any other it has.
func (t *timeouts) arm(c *conn) {
	c.mu.Lock()
	c.tstate = t.kind
	c.mu.Unlock()
	t.mu.Lock()
	t.q = append(t.q, timeout{at: time.Since(t.start) + t.d, c: c})
	if len(t.q)-t.head == 1 {
		t.timer.Reset(t.d)
	}
	t.mu.Unlock()
}

// due fires the timeouts that have come due, one at a time without the
// lock held, and re-arms the timer for the next one.
func (t *timeouts) due() {
	now := time.Since(t.start)
	t.mu.Lock()
	for t.head < len(t.q) && t.q[t.head].at <= now {
		c := t.q[t.head].c
		t.q[t.head] = timeout{}
		t.head++
		t.mu.Unlock()
		t.expire(c)
		t.mu.Lock()
	}
	switch {
	case t.head == len(t.q) && cap(t.q) > keepTimeouts:
		t.q, t.head = nil, 0 // a burst of connections does not pin memory
	case t.head == len(t.q):
		t.q, t.head = t.q[:0], 0
	case t.head > len(t.q)/2: // keep the backing array from growing without bound
		t.q = t.q[:copy(t.q, t.q[t.head:])]
		t.head = 0
	}
	if t.head < len(t.q) {
		t.timer.Reset(t.q[t.head].at - now)
	}
	t.mu.Unlock()
}

// expire fires c's timeout if it is still armed.
func (t *timeouts) expire(c *conn) {
	c.mu.Lock()
	armed := c.tstate == t.kind
	if armed {
		c.tstate = tsNone
		if t.kind == tsConnect {
			c.halt.CompareAndSwap(haltNone, haltTimeout)
		}
	}
	c.mu.Unlock()
	if armed {
		t.fire(c)
	}
}

// stop stops the timer; entries not yet due never fire.
func (t *timeouts) stop() {
	t.mu.Lock()
	t.timer.Stop()
	t.q, t.head = nil, 0
	t.mu.Unlock()
}

// disarm cancels c's pending timeout, if any, and returns which it was.
func (c *conn) disarm() uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.tstate
	c.tstate = tsNone
	return st
}
