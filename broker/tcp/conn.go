package tcp

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Buffer sizes: a connection starts with a small read buffer, which doubles
// up to the packet size limit while a large packet arrives; buffers above
// keepRead (read) and keepWrite (outbox) are replaced when they empty, so an
// idle connection that once took a burst stays small.
const (
	minReadBuffer = 256
	keepRead      = 4 << 10
	keepWrite     = 16 << 10
)

// conn is one client connection: its socket, its reading state and its
// outbox, drained by a writer goroutine that runs only while bytes wait.
//
// The socket is a net.Conn, or, for connections the event loop accepted
// itself (see Server.acceptFD), a bare descriptor: no net.Conn, no netFD, no
// entry in Go's netpoller, which saves about 0.65 KiB per idle connection.
// A bare descriptor is read by the event loop's workers and written by the
// writer goroutine without blocking (waiting for room through the poller's
// second epoll set); it is closed by whichever of its reader and its writer
// lets go of it last (see conn.closeFD), so its number is never reused while
// one of them may still use it.
type conn struct {
	s  *Server
	id broker.ConnID
	nc *netConn // nil: the bare descriptor fd

	// Reader state, owned by the connection's current reader: its reader
	// goroutine, or the poller's worker that holds it.
	rb *[]byte // input not yet framed (see rbuf; polled: a partial packet, or nil)

	mu  sync.Mutex // guards out, tstate and the flags below it
	out *outbox    // encoded packets and the writer's spare buffer; non-nil exactly while writing

	fd   int32         // the socket's descriptor: bare, or polled while registered
	held int32         // reader only: bytes of rbuf accounted to Config.MemoryLimit (limit.go)
	halt atomic.Uint32 // why the worker must end the connection on its next turn
	done atomic.Bool   // the core has forgotten this connection; stop reporting

	rfirst  bool  // reader: no packet decoded yet (the connect timeout applies)
	polled  bool  // read by the poller: only its worker closes the socket (set before registering)
	writing bool  // a writer goroutine is running
	closing bool  // close after pending is written
	dead    bool  // socket closed or failed; drop everything
	gone    bool  // bare: the reader has let go of fd; the writer closes it when it ends
	tstate  uint8 // polled: the timeout armed (tsConnect, tsLinger; see timeouts) or tsNone

	// The client's address, for logs (bare descriptors only).
	port uint16
	ip   [16]byte
	// (Fields are ordered to fit the conn in 96 bytes: it stays allocated
	// for every idle connection.)
}

// rbuf is the input not yet framed, or nil. It sits behind a pointer, set
// only while there is some (a polled connection between packets has none),
// so that an idle conn does not carry an empty slice header.
func (c *conn) rbuf() []byte {
	if c.rb == nil {
		return nil
	}
	return *c.rb
}

// setRbuf sets the input not yet framed; nil drops it.
func (c *conn) setRbuf(b []byte) {
	switch {
	case b == nil:
		c.rb = nil
		return
	case c.rb == nil:
		c.rb = new([]byte) // not &b, which would move b to the heap on every call
	}
	*c.rb = b
}

// netConn is a connection's net.Conn, behind a pointer so that a bare
// descriptor's conn does not carry an empty interface.
type netConn struct{ net.Conn }

// outbox holds a connection's bytes waiting for the writer: pending, the
// encoded packets not yet handed to it, and spare, its previous buffer for
// reuse. A connection holds one only while its writer runs; idle ones share
// them through outboxes.
type outbox struct {
	pending []byte
	spare   []byte
}

var outboxes = sync.Pool{New: func() any { return new(outbox) }}

// Reasons in conn.halt.
const (
	haltNone    = iota
	haltClose   // the socket was shut (abort, write error, linger over)
	haltTimeout // no complete packet within the connect timeout
)

func newConn(s *Server, id broker.ConnID, nc net.Conn) *conn {
	return &conn{s: s, id: id, nc: &netConn{nc}, rfirst: true}
}

// remote is the client's address, for logs.
func (c *conn) remote() string {
	if c.nc == nil {
		return netip.AddrPortFrom(netip.AddrFrom16(c.ip).Unmap(), c.port).String()
	}
	if a := c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// read is the first reader goroutine: it opens the connection to the owner,
// then frames and decodes packets (readPackets) until the socket fails, the
// client sends bytes that do not decode, or the server closes. Exactly one
// reader goroutine runs per connection at a time; the last one closes the
// socket and reports at most one of InLost and InMalformed.
func (c *conn) read() {
	if !c.handshake() { // TLS only
		c.s.closed(c)
		return
	}
	if !c.report(broker.Input{Kind: broker.InOpen, Conn: c.id}) {
		c.end(broker.Input{})
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ConnectTimeout))
	c.setRbuf(make([]byte, 0, minReadBuffer))
	c.readOn(nil)
}

// readOn runs readPackets on the current reader goroutine and ends the
// connection unless the reading was handed to a fresh goroutine.
func (c *conn) readOn(rerr error) {
	if in, handedOff := c.readPackets(rerr); !handedOff {
		c.end(in)
	}
}

// await is a fresh reader goroutine: it waits in Read with nothing else on
// its stack, then carries on with readOn.
func (c *conn) await() {
	rb := c.rbuf()
	n, err := c.nc.Read(rb[len(rb):cap(rb)])
	c.setRbuf(rb[:len(rb)+n])
	c.readOn(err)
}

// end finishes the reader goroutine's connection: it reports in (unless the
// core has already forgotten the connection, in which case it drains the
// socket so that our last packets reach the client), then closes the socket.
func (c *conn) end(in broker.Input) {
	defer c.s.closed(c)
	if c.done.Load() {
		// The core closed the connection: drain until the client's EOF
		// or the linger deadline, so our last packets reach it.
		io.Copy(io.Discard, c.nc)
		return
	}
	c.last(in)
}

// last reports in, the input that ends the connection, unless the core has
// already forgotten the connection.
func (c *conn) last(in broker.Input) {
	if c.done.Load() {
		return
	}
	if in.Kind == broker.InLost && isTimeout(in.Err) {
		c.s.cfg.Logger.Info("connection closed: no complete packet in time", "conn", uint64(c.id), "remote", c.remote())
	}
	if in.Kind != 0 {
		c.report(in)
	}
}

// closed closes c's socket, removes it from the set Close closes and from
// the count of open connections.
func (s *Server) closed(c *conn) {
	if c.nc == nil {
		c.closeFD()
	} else {
		c.nc.Close()
	}
	c.setRbuf(nil)
	c.holding()    // gives its bytes back to the memory limit
	if !c.polled { // the poller closes its own on Close
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
	}
	s.open.Add(-1)
	s.conns.Done()
}

// readPackets reports packets until the connection ends, and returns the
// input that ends it: InMalformed with the codec's error, or InLost. rerr is
// the error of the Read that filled c.rbuf() last, acted on once it is
// framed.
//
// When all input so far has been handled, it does not wait in Read itself:
// decoding and handing packets to the owner grow a goroutine's stack from 2
// to 4 KiB, and the runtime does not shrink a stack that a parked Read still
// uses a quarter of. It starts a fresh goroutine (await) to wait instead and
// returns handedOff. An idle connection thus holds one goroutine with a
// minimal stack; a busy one pays a goroutine start per drained read, well
// below the cost of the read system call.
func (c *conn) readPackets(rerr error) (in broker.Input, handedOff bool) {
	for {
		rb := c.rbuf()
		used, in, ok := c.deliver(rb)
		if !ok {
			return in, false
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				rerr = nil
			}
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: rerr}, false
		}
		rb = c.grow(rb[:copy(rb, rb[used:])])
		if rb == nil {
			c.setRbuf(nil)
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: ErrMemoryLimit}, false
		}
		c.setRbuf(rb)
		c.holding()
		if len(rb) == 0 {
			go c.await() // the go statement orders our writes to c.r* before its reads
			return broker.Input{}, true
		}
		var n int
		n, rerr = c.nc.Read(rb[len(rb):cap(rb)])
		c.setRbuf(rb[:len(rb)+n])
	}
}

// deliver decodes the complete packets at the start of buf and reports them
// to the owner in order; it returns how many bytes they took. When the
// connection must end, ok is false and in is the input that ends it:
// InMalformed with the codec's error, or InLost when the owner takes no more
// input from it or the connect timeout has passed.
func (c *conn) deliver(buf []byte) (used int, in broker.Input, ok bool) {
	s := c.s
	for {
		advance, token, err := packet.Frame(buf[used:], false, s.cfg.MaxPacketSize)
		if err == nil && token == nil {
			return used, broker.Input{}, true
		}
		var p packet.Packet
		if err == nil {
			p, _, err = packet.Decode(token, s.cfg.MaxPacketSize)
		}
		if err != nil {
			s.cfg.Logger.Info("malformed input", "conn", uint64(c.id), "remote", c.remote(), "err", err)
			return used, broker.Input{Kind: broker.InMalformed, Conn: c.id, Err: err}, false
		}
		if c.rfirst {
			c.rfirst = false
			if !c.connected() {
				return used, broker.Input{Kind: broker.InLost, Conn: c.id, Err: os.ErrDeadlineExceeded}, false
			}
		}
		if connect, ok := p.(*packet.Connect); ok {
			s.connecting(c, connect) // TLS identity, password hashing
		}
		if !c.publishFits(p) {
			return used, broker.Input{Kind: broker.InLost, Conn: c.id, Err: ErrMemoryLimit}, false
		}
		if in := (broker.Input{Kind: broker.InPacket, Conn: c.id, Packet: p}); !c.report(in) {
			s.unreserve(in)
			return used, broker.Input{Kind: broker.InLost, Conn: c.id}, false
		}
		used += advance
	}
}

// connected lifts the connect timeout once the first packet has been
// decoded; it returns false if the timeout has already passed.
func (c *conn) connected() bool {
	if !c.polled {
		c.nc.SetReadDeadline(time.Time{}) // keepalive is the core's job now
		return true
	}
	c.disarm()
	return c.halt.Load() != haltTimeout
}

// grow returns buf with room to read into: doubled when full, up to the
// size of the packet it holds the start of (the framer has already refused
// anything over the size limit), or a fresh small buffer when it is empty
// and large. It returns nil when the memory limit refuses the packet.
func (c *conn) grow(buf []byte) []byte {
	switch {
	case len(buf) == 0 && cap(buf) > keepRead:
		return make([]byte, 0, minReadBuffer)
	case len(buf) == cap(buf):
		n := c.growth(buf)
		if n == 0 {
			return nil
		}
		bigger := make([]byte, len(buf), n)
		copy(bigger, buf)
		return bigger
	}
	return buf
}

// report sends in to the owner unless the core has forgotten the connection
// or the server is closing; it returns false in those cases.
func (c *conn) report(in broker.Input) bool {
	if c.done.Load() {
		return false
	}
	return c.s.submit(arrival{in: in, conn: c})
}

// send appends p to the outbox and makes sure a writer runs. It returns false,
// writing nothing, when the outbox would exceed the WriteBuffer limit. Owner
// goroutine only.
func (c *conn) send(p packet.Packet) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing {
		return true
	}
	if c.out == nil {
		c.out = outboxes.Get().(*outbox)
	}
	before := len(c.out.pending)
	c.out.pending = p.Append(c.out.pending)
	if len(c.out.pending) > c.s.cfg.WriteBuffer {
		c.out.pending = c.out.pending[:before]
		if !c.writing {
			c.release()
		}
		return false
	}
	if !c.writing {
		c.writing = true
		c.s.conns.Add(1)
		go c.write()
	}
	return true
}

// write is the writer goroutine: it writes the outbox until it is empty,
// then ends, closing the connection if the core asked to.
func (c *conn) write() {
	defer c.s.conns.Done()
	for {
		c.mu.Lock()
		if c.dead || len(c.out.pending) == 0 {
			c.writing = false
			closing := c.closing && !c.dead
			c.release()
			gone := c.gone
			c.mu.Unlock()
			if gone {
				c.closeFD() // the reader let go first
			} else if closing {
				c.linger()
			}
			return
		}
		o := c.out
		out := o.pending
		o.pending = o.spare[:0]
		c.mu.Unlock()

		var err error
		if c.nc == nil {
			err = c.writeFD(out)
		} else {
			c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
			_, err = c.nc.Write(out)
		}

		c.mu.Lock()
		o.spare = out[:0]
		if err != nil {
			c.dead = true
		}
		c.mu.Unlock()
		if err != nil {
			c.shut() // the reader sees it and reports InLost
		}
	}
}

// release returns the outbox to the pool once the writer is done with it,
// dropping buffers that a burst made large, so an idle connection holds
// neither. c.mu held.
func (c *conn) release() {
	o := c.out
	if o == nil {
		return
	}
	c.out = nil
	o.pending, o.spare = o.pending[:0], o.spare[:0]
	if cap(o.pending) > keepWrite {
		o.pending = nil
	}
	if cap(o.spare) > keepWrite {
		o.spare = nil
	}
	outboxes.Put(o)
}

// closeAfterFlush closes the connection once what was sent before is written.
// The core has forgotten the connection. Owner goroutine only.
func (c *conn) closeAfterFlush() {
	c.done.Store(true)
	c.mu.Lock()
	c.closing = true
	writing := c.writing || c.dead
	c.mu.Unlock()
	if !writing {
		c.linger()
	}
}

// linger half-closes the socket: our FIN follows the last bytes written, and
// the reader drains what the client still sends until EOF or lingerTimeout,
// then closes. Closing at once with unread input would send a reset that can
// destroy our last packets (e.g. a refusing CONNACK) before the client reads
// them.
func (c *conn) linger() {
	var halfClosed bool
	if c.nc == nil {
		halfClosed = c.shutdownFD(true, false)
	} else if tc, ok := c.nc.Conn.(interface{ CloseWrite() error }); ok {
		halfClosed = tc.CloseWrite() == nil
	}
	switch {
	case !halfClosed:
		c.shut()
	case c.polled:
		c.s.poll.lingers.arm(c)
	default:
		c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	}
}

// abort closes the socket now with a reset, dropping unwritten bytes, also
// those already in the kernel's send buffer (a lost client is not owed them;
// its session's unacknowledged messages are resent on resume). Owner
// goroutine only.
func (c *conn) abort() {
	c.done.Store(true)
	c.mu.Lock()
	c.dead = true
	if c.out != nil {
		c.out.pending = c.out.pending[:0]
	}
	c.mu.Unlock()
	if c.nc == nil {
		c.shutdownFD(false, true)
		return
	}
	if tc, ok := c.nc.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.shut()
}

// shut closes the socket, so that its reader ends the connection. A socket
// in the poller's epoll set is only half-closed for reading, which wakes its
// worker, and the worker closes it: only the holder of a registered
// descriptor may close it, or its number could be reused by a new connection
// while still in the set.
func (c *conn) shut() {
	if !c.polled {
		c.nc.Close()
		return
	}
	c.halt.CompareAndSwap(haltNone, haltClose)
	if c.nc == nil {
		c.shutdownFD(false, false)
		return
	}
	c.nc.Conn.(*net.TCPConn).CloseRead()
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
