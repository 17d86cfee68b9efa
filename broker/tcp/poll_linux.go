//go:build linux

package tcp

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

const epollSupported = true

// Event loop sizes: the events taken per epoll_wait, and each worker's read
// buffer, shared by every connection it reads.
const (
	pollEvents = 128
	pollBuffer = 32 << 10
)

// poller is the event loop reader (Config.Reader = ReaderEpoll). Every
// connection's socket is in one epoll set, armed one-shot for input
// (EPOLLIN|EPOLLRDHUP|EPOLLONESHOT). One goroutine waits on the set and hands
// each readable connection to a fixed pool of workers. A worker reads once
// into its own buffer, reports the packets completed, keeps a partial packet
// in a buffer of the connection's own, and re-arms the socket. The kernel
// reports a socket once per arming and a worker re-arms it only after
// handing over what it read, so one worker at a time reads a connection and
// its inputs reach the owner in order. An idle connection holds no goroutine
// and, unless it has sent part of a packet, no read buffer.
//
// A worker also runs the Preparer on a CONNECT (password hashing): while all
// workers hash, other connections' input waits in their sockets, as it
// would for CPU with a goroutine per connection.
//
// The epoll set is itself waited on through Go's netpoller (an epoll
// descriptor is pollable), so the waiting goroutine parks like any other,
// and closing the set wakes it.
//
// Events carry the connection's id, never a pointer, and are looked up in
// conns; ids are not reused, so an event for a connection already gone finds
// nothing. Only the worker holding a connection closes its socket, after
// removing it from the set and from conns (see conn.shut); others shut the
// socket for reading, which wakes the worker.
type poller struct {
	s     *Server
	epfd  int      // the epoll set; valid while !stopped
	file  *os.File // epfd, for Go's netpoller
	ready chan *conn
	wg    sync.WaitGroup // the waiting goroutine and the workers

	mu      sync.Mutex // guards conns and stopped; held around every epoll_ctl
	conns   map[broker.ConnID]*conn
	stopped bool
}

// newPoller creates the epoll set and starts the waiting goroutine and
// GOMAXPROCS workers (at least two).
func newPoller(s *Server) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p := &poller{s: s, epfd: fd, file: os.NewFile(uintptr(fd), "epoll"), conns: map[broker.ConnID]*conn{}}
	if err := p.file.SetReadDeadline(time.Time{}); err != nil { // only pollable files have deadlines
		p.file.Close()
		return nil, errors.New("tcp: the epoll set cannot be waited on through Go's netpoller")
	}
	workers := max(2, runtime.GOMAXPROCS(0))
	p.ready = make(chan *conn, workers)
	p.wg.Add(1 + workers)
	go p.wait()
	for range workers {
		go p.work()
	}
	return p, nil
}

// add registers c, a new connection, after reporting InOpen for it. It
// returns false, having done nothing, if c's socket cannot be polled; the
// caller then reads it on a goroutine.
func (p *poller) add(c *conn) bool {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil || raw.Control(func(fd uintptr) { c.fd = int32(fd) }) != nil {
		return false
	}
	c.polled = true
	c.after(p.s.cfg.ConnectTimeout, c.expire)
	var end broker.Input
	if c.report(broker.Input{Kind: broker.InOpen, Conn: c.id}) {
		if err := p.ctl(c, syscall.EPOLL_CTL_ADD); err != nil {
			end = broker.Input{Kind: broker.InLost, Conn: c.id, Err: err}
		} else {
			return true
		}
	}
	p.close(c, end)
	return true
}

// ctl adds c's socket to the set or re-arms it.
func (p *poller) ctl(c *conn, op int) error {
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(c.id)),
		Pad:    int32(uint32(c.id >> 32)),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return net.ErrClosed
	}
	if err := syscall.EpollCtl(p.epfd, op, int(c.fd), &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	if op == syscall.EPOLL_CTL_ADD {
		p.conns[c.id] = c
	}
	return nil
}

// close ends c, held by the caller: it reports end (see conn.last), removes
// the socket from the set, then closes it.
func (p *poller) close(c *conn, end broker.Input) {
	c.last(end)
	p.mu.Lock()
	if _, ok := p.conns[c.id]; ok {
		delete(p.conns, c.id)
		if !p.stopped {
			syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(c.fd), nil)
		}
	}
	p.mu.Unlock()
	c.after(0, nil)
	c.rbuf = nil
	p.s.closed(c)
}

// wait is the waiting goroutine: it takes events from the set and hands
// their connections to the workers, until the set is closed.
func (p *poller) wait() {
	defer p.wg.Done()
	raw, err := p.file.SyscallConn()
	if err != nil {
		p.s.cfg.Logger.Error("event loop stopped", "err", err)
		return
	}
	events := make([]syscall.EpollEvent, pollEvents)
	var n int
	var werr error
	take := func(fd uintptr) bool {
		for {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			if werr != syscall.EINTR {
				return n > 0 || werr != nil // else park until the set is readable
			}
		}
	}
	for {
		if err := raw.Read(take); err != nil {
			return // the set was closed
		}
		if werr != nil {
			p.s.cfg.Logger.Error("event loop stopped", "err", os.NewSyscallError("epoll_wait", werr))
			return
		}
		for _, ev := range events[:n] {
			id := broker.ConnID(uint32(ev.Fd)) | broker.ConnID(uint32(ev.Pad))<<32
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c == nil {
				continue
			}
			select {
			case p.ready <- c:
			case <-p.s.quit:
				return
			}
		}
	}
}

// work is a worker: it takes turns on readable connections until the server
// closes.
func (p *poller) work() {
	defer p.wg.Done()
	r := &pollReader{buf: make([]byte, pollBuffer)}
	r.fn = r.read
	for {
		select {
		case c := <-p.ready:
			if end, ok := p.turn(c, r); !ok {
				p.close(c, end)
			} else if err := p.ctl(c, syscall.EPOLL_CTL_MOD); err != nil {
				p.close(c, broker.Input{Kind: broker.InLost, Conn: c.id, Err: err})
			}
		case <-p.s.quit:
			return
		}
	}
}

// turn reads what c's socket holds, once, and reports the packets it
// completes. When the connection must end, ok is false and end is the input
// that ends it.
func (p *poller) turn(c *conn, r *pollReader) (end broker.Input, ok bool) {
	switch c.halt.Load() {
	case haltClose:
		return broker.Input{Kind: broker.InLost, Conn: c.id, Err: net.ErrClosed}, false
	case haltTimeout:
		return broker.Input{Kind: broker.InLost, Conn: c.id, Err: os.ErrDeadlineExceeded}, false
	}
	// A partial packet that fills over half of r.buf is read into in place
	// (growing it when full); a smaller one is copied to r.buf and read after.
	held := len(c.rbuf)
	private := held > len(r.buf)/2
	data := r.buf
	if private {
		if c.rbuf = c.grow(c.rbuf); c.rbuf == nil {
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: ErrMemoryLimit}, false
		}
		data = c.rbuf[:cap(c.rbuf)]
	} else {
		copy(data, c.rbuf)
	}
	n, err := r.from(c, data[held:])
	switch {
	case err == syscall.EAGAIN:
		return broker.Input{}, true // nothing after all
	case err != nil:
		return broker.Input{Kind: broker.InLost, Conn: c.id, Err: err}, false
	case n == 0:
		return broker.Input{Kind: broker.InLost, Conn: c.id}, false // EOF
	case c.done.Load():
		c.rbuf = nil // lingering: drop the client's input until its EOF
		return broker.Input{}, true
	}
	data = data[:held+n]
	used, end, ok := c.deliver(data)
	if !ok {
		if c.done.Load() {
			c.rbuf = nil // the core closed the connection meanwhile: linger
			return broker.Input{}, true
		}
		return end, false
	}
	rest := data[used:]
	switch {
	case len(rest) == 0:
		c.rbuf = nil
	case private:
		c.rbuf = c.rbuf[:copy(data, rest)]
	default:
		if cap(c.rbuf) < len(rest) || cap(c.rbuf) > keepRead {
			c.rbuf = make([]byte, 0, max(minReadBuffer, len(rest)))
		}
		c.rbuf = append(c.rbuf[:0], rest...)
	}
	c.holding()
	return broker.Input{}, true
}

// stop stops the event loop, then closes every connection still registered.
// The owner has stopped.
func (p *poller) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.file.Close() // wakes the waiting goroutine; the workers stop on quit
	p.wg.Wait()
	for _, c := range p.conns { // no goroutine holds them now
		p.close(c, broker.Input{})
	}
}

// pollReader is a worker's read buffer and its read function, bound once so
// that a read allocates nothing.
type pollReader struct {
	buf []byte
	fn  func(fd uintptr) bool
	p   []byte // where the next read goes
	n   int
	err error
}

// from reads once from c's socket into b, without waiting: it returns
// syscall.EAGAIN when nothing is there.
func (r *pollReader) from(c *conn, b []byte) (int, error) {
	raw, err := c.nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	r.p = b
	if err := raw.Read(r.fn); err != nil {
		return 0, err
	}
	r.p = nil
	if r.err != nil {
		return 0, r.err
	}
	return r.n, nil
}

func (r *pollReader) read(fd uintptr) bool {
	for {
		r.n, r.err = syscall.Read(int(fd), r.p)
		if r.err != syscall.EINTR {
			return true
		}
	}
}

// expire is the connect timeout: the worker ends the connection unless it
// has decoded a packet (see conn.connected).
func (c *conn) expire() {
	c.halt.CompareAndSwap(haltNone, haltTimeout)
	c.shut()
}
