package tcp

import (
	"errors"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// ErrMemoryLimit ends a connection whose next bytes would take the server
// over Config.MemoryLimit.
var ErrMemoryLimit = errors.New("tcp: memory limit reached")

// memory accounts the bytes Config.MemoryLimit bounds, like Mosquitto's
// memory_limit (mosquitto.conf(5)) but counting only what clients can make
// the server hold:
//
//   - partial: the size of every large packet (over keepRead bytes) that has
//     partly arrived, reserved when its buffer first grows (smaller ones
//     are bounded by the connection count);
//   - pending: payloads of PUBLISH packets decoded and on their way to the
//     owner;
//   - core: the payloads the core holds (broker.PayloadBytes: queued, in
//     flight, retained), set by the owner after every step.
//
// What would cross the limit is refused, and the server carries on: a new
// connection is closed at once, a connection whose partial packet would not
// fit is closed before its buffer grows, and a PUBLISH is dropped and its
// connection closed (as Mosquitto does when memory_limit denies an incoming
// message). Each refusal is logged and counted
// (sessionlab_memory_refusals_total{what}).
//
// The partial packets are counted without a limit too: when large buffers
// given back add up to scavengeAfter bytes, the memory is returned to the
// operating system (debug.FreeOSMemory, once per burst), so that a burst of
// stalled large packets does not leave the process's resident size high
// after their connections close.
type memory struct {
	limit                  int64 // 0: none
	partial, pending, core atomic.Int64
	freed                  atomic.Int64 // partial bytes given back since the last scavenge
	scavenging             atomic.Bool  // a scavenge is scheduled
}

// scavengeAfter is how many bytes of large read buffers given back trigger
// a scavenge; it runs scavengeDelay later, so that one scavenge covers a
// burst of closing connections.
const (
	scavengeAfter = 16 << 20
	scavengeDelay = time.Second
)

// limited reports whether there is a limit to enforce.
func (m *memory) limited() bool { return m.limit > 0 }

// release gives back n bytes of partial packets, and schedules a scavenge
// when enough have been given back.
func (m *memory) release(n int64) {
	m.partial.Add(-n)
	if m.freed.Add(n) >= scavengeAfter && m.scavenging.CompareAndSwap(false, true) {
		time.AfterFunc(scavengeDelay, func() {
			m.freed.Store(0)
			debug.FreeOSMemory()
			m.scavenging.Store(false)
		})
	}
}

// total is the bytes held now.
func (m *memory) total() int64 { return m.partial.Load() + m.pending.Load() + m.core.Load() }

// reserve adds n to ctr unless the total, less freeing bytes about to be
// released, would then exceed the limit. Two concurrent reservations may
// both fail near the limit; they never both succeed beyond it.
func (m *memory) reserve(ctr *atomic.Int64, n, freeing int64) bool {
	ctr.Add(n)
	if m.total()-freeing > m.limit {
		ctr.Add(-n)
		return false
	}
	return true
}

// What a memory limit refusal refused, as logs and metrics name it.
const (
	refusedConnection = "connection"
	refusedPartial    = "partial-packet"
	refusedPublish    = "publish"
)

// refuse logs and counts one refusal.
func (s *Server) refuse(what, remote string, conn broker.ConnID, need int64) {
	if m := s.cfg.Metrics; m != nil {
		m.memRefused.WithLabelValues(what).Inc()
	}
	s.cfg.Logger.Warn("memory limit reached: refused", "what", what, "conn", uint64(conn), "remote", remote,
		"need", need, "held", s.mem.total(), "limit", s.mem.limit)
}

// admitMemory reports whether a new connection may open: not when the held
// bytes have reached the limit. A refused one is closed at once.
func (s *Server) admitMemory(nc net.Conn) bool {
	if s.memoryFull(nc.RemoteAddr().String()) {
		nc.Close()
		return false
	}
	return true
}

// memoryFull reports (and logs, and counts) a new connection from remote
// refused because the held bytes have reached the limit.
func (s *Server) memoryFull(remote string) bool {
	if !s.mem.limited() || s.mem.total() < s.mem.limit {
		return false
	}
	s.refuse(refusedConnection, remote, 0, 0)
	return true
}

// growth returns the capacity a full read buffer holding the start of a
// packet grows to: doubled, but no more than the packet's size. Under a
// memory limit a buffer growing over keepRead bytes first reserves the
// whole packet (its size is in the fixed header: what the buffer will hold
// once the rest arrives), so a connection announcing more than fits is
// refused at once, not after its buffer has grown; growth then returns 0,
// logging the refusal. Reader only.
func (c *conn) growth(buf []byte) int {
	n := 2 * cap(buf)
	size, known := packet.Size(buf)
	if known && size < n {
		n = size
	}
	m := c.s.mem
	if n <= keepRead {
		return n
	}
	if d := int64(max(n, size)) - int64(c.held); d > 0 {
		if !m.limited() {
			m.partial.Add(d)
		} else if !m.reserve(&m.partial, d, 0) {
			c.s.refuse(refusedPartial, c.remote(), c.id, d)
			return 0
		}
		c.held += int32(d)
	}
	return n
}

// holding accounts c's read buffer as it is now: nothing once it is back
// to keepRead bytes or less (or gone, after close), else at least its
// capacity. Reader only.
func (c *conn) holding() {
	m := c.s.mem
	switch capacity := int32(cap(c.rbuf())); {
	case capacity <= keepRead:
		if c.held > 0 {
			m.release(int64(c.held))
			c.held = 0
		}
	case capacity > c.held:
		m.partial.Add(int64(capacity - c.held))
		c.held = capacity
	}
}

// publishFits reserves the payload of a decoded PUBLISH until the owner has
// stepped it (see settle), or reports false, logging the refusal, when the
// limit does not allow it. The decoder copied the payload out of c's read
// buffer, which is released when the reader is done with it, so the bytes
// accounted for that buffer count as free. Reader only.
func (c *conn) publishFits(p packet.Packet) bool {
	m := c.s.mem
	pub, ok := p.(*packet.Publish)
	if !m.limited() || !ok || len(pub.Payload) == 0 {
		return true
	}
	if !m.reserve(&m.pending, int64(len(pub.Payload)), int64(c.held)) {
		c.s.refuse(refusedPublish, c.remote(), c.id, int64(len(pub.Payload)))
		return false
	}
	return true
}

// settle updates the core's share after the owner has stepped in, then
// releases in's reservation (unreserve): from now on the core's share has
// its payload, if the core kept it. Owner goroutine only, right after each
// Step and before its outputs are performed.
func (s *Server) settle(in broker.Input) {
	if !s.mem.limited() {
		return
	}
	s.mem.core.Store(int64(s.core.PayloadBytes()))
	s.unreserve(in)
}

// unreserve releases the reservation publishFits made for in, if it is a
// PUBLISH: the owner has stepped it, or will never see it.
func (s *Server) unreserve(in broker.Input) {
	if pub, ok := in.Packet.(*packet.Publish); ok && s.mem.limited() {
		s.mem.pending.Add(-int64(len(pub.Payload)))
	}
}
