package tcp

import (
	"errors"
	"net"
	"sync/atomic"

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
//   - partial: read buffers over keepRead bytes, i.e. buffers holding a large
//     packet that has partly arrived (smaller ones are bounded by the
//     connection count);
//   - pending: payloads of PUBLISH packets decoded and on their way to the
//     owner;
//   - core: the payloads the core holds (broker.PayloadBytes: queued, in
//     flight, retained), set by the owner after every step.
//
// What would cross the limit is refused, and the server carries on: a new
// connection is closed at once, a connection whose partial packet would
// need a larger buffer is closed, and a PUBLISH is dropped and its
// connection closed (as Mosquitto does when memory_limit denies an incoming
// message). Each refusal is logged and counted
// (sessionlab_memory_refusals_total{what}).
type memory struct {
	limit                  int64
	partial, pending, core atomic.Int64
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
	if s.mem == nil || s.mem.total() < s.mem.limit {
		return true
	}
	s.refuse(refusedConnection, nc.RemoteAddr().String(), 0, 0)
	nc.Close()
	return false
}

// bufferFits accounts a read buffer of c's that is about to grow to
// capacity bytes, and reports false, logging the refusal, when the limit
// does not allow it. Reader only.
func (c *conn) bufferFits(capacity int) bool {
	m := c.s.mem
	if m == nil || capacity <= keepRead {
		return true
	}
	if d := int64(capacity) - int64(c.held); d > 0 && !m.reserve(&m.partial, d, 0) {
		c.s.refuse(refusedPartial, c.remote(), c.id, d)
		return false
	}
	c.held = int32(capacity)
	return true
}

// holding accounts c's read buffer as it is now (none after close). Reader
// only.
func (c *conn) holding() {
	m := c.s.mem
	if m == nil {
		return
	}
	var now int32
	if cap(c.rbuf) > keepRead {
		now = int32(cap(c.rbuf))
	}
	if d := now - c.held; d != 0 {
		m.partial.Add(int64(d))
		c.held = now
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
	if m == nil || !ok || len(pub.Payload) == 0 {
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
// its payload, if the core kept it. Owner goroutine only.
func (s *Server) settle(in broker.Input) {
	if s.mem == nil {
		return
	}
	s.mem.core.Store(int64(s.core.PayloadBytes()))
	s.unreserve(in)
}

// unreserve releases the reservation publishFits made for in, if it is a
// PUBLISH: the owner has stepped it, or will never see it.
func (s *Server) unreserve(in broker.Input) {
	if pub, ok := in.Packet.(*packet.Publish); ok && s.mem != nil {
		s.mem.pending.Add(-int64(len(pub.Payload)))
	}
}
