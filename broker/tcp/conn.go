package tcp

import (
	"errors"
	"io"
	"net"
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
type conn struct {
	s  *Server
	id broker.ConnID
	nc net.Conn

	// Reader state, owned by the connection's current reader: its reader
	// goroutine, or the poller's worker that holds it.
	rbuf   []byte // input not yet framed (polled: a partial packet, or nil)
	rfirst bool   // no packet decoded yet (the connect timeout applies)

	// Event loop state (see poller), set before the connection is registered.
	polled bool          // read by the poller: only its worker closes the socket
	fd     int32         // the socket's descriptor, while registered
	halt   atomic.Uint32 // why the worker must end the connection on its next turn

	done atomic.Bool // the core has forgotten this connection; stop reporting

	// (Fields are ordered to fit the conn in 144 bytes: it stays allocated
	// for every idle connection.)
	mu      sync.Mutex  // guards the outbox below, and timer
	pending []byte      // encoded packets not yet handed to the writer
	spare   []byte      // the writer's previous buffer, reused
	timer   *time.Timer // polled: the connect or linger timeout, while one runs
	writing bool        // a writer goroutine is running
	closing bool        // close after pending is written
	dead    bool        // socket closed or failed; drop everything

	held int32 // reader only: bytes of rbuf accounted to Config.MemoryLimit (limit.go)
}

// Reasons in conn.halt.
const (
	haltNone    = iota
	haltClose   // the socket was shut (abort, write error, linger over)
	haltTimeout // no complete packet within the connect timeout
)

func newConn(s *Server, id broker.ConnID, nc net.Conn) *conn {
	return &conn{s: s, id: id, nc: nc, rfirst: true}
}

// remote is the client's address, for logs.
func (c *conn) remote() string {
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
	c.rbuf = make([]byte, 0, minReadBuffer)
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
	n, err := c.nc.Read(c.rbuf[len(c.rbuf):cap(c.rbuf)])
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
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
	c.nc.Close()
	c.rbuf = nil
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
// the error of the Read that filled c.rbuf last, acted on once c.rbuf is
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
		used, in, ok := c.deliver(c.rbuf)
		if !ok {
			return in, false
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				rerr = nil
			}
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: rerr}, false
		}
		c.rbuf = c.grow(c.rbuf[:copy(c.rbuf, c.rbuf[used:])])
		if c.rbuf == nil {
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: ErrMemoryLimit}, false
		}
		c.holding()
		if len(c.rbuf) == 0 {
			go c.await() // the go statement orders our writes to c.r* before its reads
			return broker.Input{}, true
		}
		var n int
		n, rerr = c.nc.Read(c.rbuf[len(c.rbuf):cap(c.rbuf)])
		c.rbuf = c.rbuf[:len(c.rbuf)+n]
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
	c.mu.Lock()
	t := c.timer
	c.timer = nil
	c.mu.Unlock()
	return t == nil || t.Stop()
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
	before := len(c.pending)
	c.pending = p.Append(c.pending)
	if len(c.pending) > c.s.cfg.WriteBuffer {
		c.pending = c.pending[:before]
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
		if c.dead || len(c.pending) == 0 {
			c.writing = false
			closing := c.closing && !c.dead
			c.release()
			c.mu.Unlock()
			if closing {
				c.linger()
			}
			return
		}
		out := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()

		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		_, err := c.nc.Write(out)

		c.mu.Lock()
		c.spare = out[:0]
		if err != nil {
			c.dead = true
		}
		c.mu.Unlock()
		if err != nil {
			c.shut() // the reader sees it and reports InLost
		}
	}
}

// release drops outbox buffers that a burst made large, so an idle
// connection stays small. c.mu held.
func (c *conn) release() {
	if cap(c.pending) > keepWrite {
		c.pending = nil
	}
	if cap(c.spare) > keepWrite {
		c.spare = nil
	}
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
	tc, ok := c.nc.(interface{ CloseWrite() error })
	switch {
	case !ok || tc.CloseWrite() != nil:
		c.shut()
	case c.polled:
		c.after(lingerTimeout, c.shut)
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
	c.pending = nil
	c.mu.Unlock()
	if tc, ok := c.nc.(*net.TCPConn); ok {
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
	c.nc.(*net.TCPConn).CloseRead()
}

// after runs f after d, replacing the connection's previous timeout; with f
// nil it only stops that.
func (c *conn) after(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if f != nil {
		c.timer = time.AfterFunc(d, f)
	}
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
