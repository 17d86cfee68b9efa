//go:build linux

package tcp

import (
	"errors"
	"io"
	"net"
	"net/netip"
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
// Input events carry the connection's descriptor and its sequence number
// (the high half of its id), never a pointer, and are looked up in byFD, indexed by descriptor (8
// bytes per connection where a map took 30): a descriptor is removed from
// byFD before it is closed, and an event whose id does not match (a number
// reused since) is dropped. Only the worker holding a connection closes its socket, after
// removing it from the set and from conns (see conn.shut); others shut the
// socket for reading, which wakes the worker.
//
// Bare descriptors (connections the accept loop took with accept4, see
// acceptFD) are written without blocking by their writer goroutine; when
// the socket's send buffer is full, the writer arms the descriptor one-shot
// for output in a second epoll set, waited on by a second goroutine, and
// parks until it reports room, the write timeout passes, or the connection
// is aborted (wakeWriter).
type poller struct {
	s     *Server
	epfd  int      // the epoll set for input; valid while !stopped
	file  *os.File // epfd, for Go's netpoller
	wfd   int      // the epoll set for output (bare descriptors whose writer waits for room)
	wfile *os.File // wfd, for Go's netpoller
	ready chan *conn
	wg    sync.WaitGroup // the waiting goroutines and the workers

	mu      sync.Mutex                      // guards byFD, blocked and stopped; held around every epoll_ctl
	byFD    []*conn                         // registered connections by descriptor
	blocked map[broker.ConnID]chan struct{} // writers waiting for room, woken through their channel
	stopped bool

	connects *timeouts // Config.ConnectTimeout of connections with no complete packet yet
	lingers  *timeouts // lingerTimeout of half-closed connections
}

// acceptor is an accept loop's listening socket (a duplicate of the
// listener's), its accept4 call and that call's results, bound once so that
// an accept allocates only the connection. One per Serve.
type acceptor struct {
	ln  syscall.RawConn
	fn  func(fd uintptr) bool
	fd  int
	sa  syscall.Sockaddr
	err error
}

func (a *acceptor) accept(lfd uintptr) bool {
	for {
		a.fd, a.sa, a.err = syscall.Accept4(int(lfd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if a.err != syscall.EINTR {
			return a.err != syscall.EAGAIN // else wait until the socket is readable
		}
	}
}

// newPoller creates the epoll sets and starts the waiting goroutines and
// GOMAXPROCS workers (at least two).
func newPoller(s *Server) (*poller, error) {
	epfd, file, err := newEpollFile("epoll")
	if err != nil {
		return nil, err
	}
	wfd, wfile, err := newEpollFile("epoll-out")
	if err != nil {
		file.Close()
		return nil, err
	}
	p := &poller{s: s, epfd: epfd, file: file, wfd: wfd, wfile: wfile,
		blocked:  map[broker.ConnID]chan struct{}{},
		connects: newTimeouts(tsConnect, s.cfg.ConnectTimeout, (*conn).shut),
		lingers:  newTimeouts(tsLinger, lingerTimeout, (*conn).shut)}
	workers := max(2, runtime.GOMAXPROCS(0))
	p.ready = make(chan *conn, workers)
	p.wg.Add(2 + workers)
	go p.wait(p.file, p.dispatch)
	go p.wait(p.wfile, p.writable)
	for range workers {
		go p.work()
	}
	return p, nil
}

// newEpollFile creates an epoll set, as a file that Go's netpoller can wait
// on.
func newEpollFile(name string) (int, *os.File, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return 0, nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return 0, nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := f.SetReadDeadline(time.Time{}); err != nil { // only pollable files have deadlines
		f.Close()
		return 0, nil, errors.New("tcp: the epoll set cannot be waited on through Go's netpoller")
	}
	return fd, f, nil
}

// add registers c, a new connection, after reporting InOpen for it. It
// returns false, having done nothing, if c's socket cannot be polled; the
// caller then reads it on a goroutine.
func (p *poller) add(c *conn) bool {
	if c.nc != nil {
		tc, ok := c.nc.Conn.(*net.TCPConn)
		if !ok {
			return false
		}
		raw, err := tc.SyscallConn()
		if err != nil || raw.Control(func(fd uintptr) { c.fd = int32(fd) }) != nil {
			return false
		}
	}
	c.polled = true
	p.connects.arm(c)
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
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: c.fd, Pad: int32(uint32(c.id >> 32))}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return net.ErrClosed
	}
	if err := syscall.EpollCtl(p.epfd, op, int(c.fd), &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	if op == syscall.EPOLL_CTL_ADD {
		if int(c.fd) >= len(p.byFD) {
			p.byFD = append(p.byFD, make([]*conn, int(c.fd)+1-len(p.byFD))...)
		}
		p.byFD[c.fd] = c
	}
	return nil
}

// close ends c, held by the caller: it reports end (see conn.last), removes
// the socket from the set, then closes it.
func (p *poller) close(c *conn, end broker.Input) {
	c.last(end)
	p.mu.Lock()
	if int(c.fd) < len(p.byFD) && p.byFD[c.fd] == c {
		p.byFD[c.fd] = nil
		if !p.stopped {
			syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(c.fd), nil)
		}
	}
	p.mu.Unlock()
	c.disarm()
	c.setRbuf(nil)
	p.s.closed(c)
}

// wait is a waiting goroutine: it takes events from the set in file and
// hands them to handle, until the set is closed or handle returns false.
func (p *poller) wait(file *os.File, handle func(*syscall.EpollEvent) bool) {
	defer p.wg.Done()
	raw, err := file.SyscallConn()
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
		for i := range events[:n] {
			if !handle(&events[i]) {
				return
			}
		}
	}
}

// dispatch hands the connection of an input event to a worker; it returns
// false when the server is closing.
func (p *poller) dispatch(ev *syscall.EpollEvent) bool {
	var c *conn
	p.mu.Lock()
	if int(ev.Fd) < len(p.byFD) {
		c = p.byFD[ev.Fd]
	}
	p.mu.Unlock()
	if c == nil || uint32(c.id>>32) != uint32(ev.Pad) {
		return true // gone, or a new connection on a reused descriptor
	}
	select {
	case p.ready <- c:
		return true
	case <-p.s.quit:
		return false
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
	rb := c.rbuf()
	held := len(rb)
	private := held > len(r.buf)/2
	data := r.buf
	if private {
		rb = c.grow(rb)
		if rb == nil {
			c.setRbuf(nil)
			return broker.Input{Kind: broker.InLost, Conn: c.id, Err: ErrMemoryLimit}, false
		}
		c.setRbuf(rb)
		data = rb[:cap(rb)]
	} else {
		copy(data, rb)
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
		c.setRbuf(nil) // lingering: drop the client's input until its EOF
		return broker.Input{}, true
	}
	data = data[:held+n]
	used, end, ok := c.deliver(data)
	if !ok {
		if c.done.Load() {
			c.setRbuf(nil) // the core closed the connection meanwhile: linger
			return broker.Input{}, true
		}
		return end, false
	}
	rest := data[used:]
	switch {
	case len(rest) == 0:
		c.setRbuf(nil)
	case private:
		c.setRbuf(rb[:copy(data, rest)])
	default:
		if cap(rb) < len(rest) || cap(rb) > keepRead {
			rb = make([]byte, 0, max(minReadBuffer, len(rest)))
		}
		c.setRbuf(append(rb[:0], rest...))
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
	p.file.Close() // wakes the waiting goroutines; the workers stop on quit
	p.wfile.Close()
	p.connects.stop()
	p.lingers.stop()
	p.wg.Wait()
	for _, c := range p.byFD { // no goroutine holds them now
		if c != nil {
			p.close(c, broker.Input{})
		}
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
	if c.nc == nil {
		for {
			n, err := syscall.Read(int(c.fd), b)
			switch {
			case err == syscall.EINTR:
			case err != nil:
				return 0, err
			default:
				return n, nil
			}
		}
	}
	raw, err := c.nc.Conn.(*net.TCPConn).SyscallConn()
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

// listener returns, when ln is a TCP listener, an acceptor on a duplicate
// of its socket, which Close must close too (a TCP listener's own
// SyscallConn cannot wait for connections); otherwise nil, and Serve takes
// net.Conns from ln.Accept (TLS, tests' listeners).
func (p *poller) listener(ln net.Listener) (*acceptor, io.Closer) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, nil
	}
	f, err := tl.File() // shares ln's non-blocking mode, so Go's netpoller waits on it
	if err != nil {
		return nil, nil
	}
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil
	}
	a := &acceptor{ln: raw}
	a.fn = a.accept
	return a, f
}

// acceptFD takes one connection from a's listening socket with accept4,
// waiting for one through Go's netpoller, and admits it as a bare descriptor
// (see conn). It returns the accept error, or the listener's once closed.
func (s *Server) acceptFD(a *acceptor) error {
	if err := a.ln.Read(a.fn); err != nil {
		return err
	}
	fd, sa := a.fd, a.sa
	a.sa = nil
	if a.err != nil {
		return os.NewSyscallError("accept4", a.err)
	}
	c := &conn{s: s, fd: int32(fd), rfirst: true}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		c.ip = netip.AddrFrom4(a.Addr).As16()
		c.port = uint16(a.Port)
	case *syscall.SockaddrInet6:
		c.ip, c.port = a.Addr, uint16(a.Port)
	}
	if s.open.Load() >= int64(s.cfg.MaxConnections) {
		s.cfg.Logger.Warn("connection refused: too many connections", "remote", c.remote(), "max", s.cfg.MaxConnections)
		syscall.Close(fd)
		return nil
	}
	if s.memoryFull(c.remote()) {
		syscall.Close(fd)
		return nil
	}
	// What net.Conn sets on an accepted connection: no Nagle delay, and
	// TCP keep-alive probes after 15 s idle, every 15 s, 9 times.
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9)
	c.id = connID(s.nextSeq(), fd)
	s.open.Add(1)
	s.conns.Add(1)
	s.poll.add(c)
	return nil
}

// closeFD lets go of the reader's hold on c's bare descriptor: it closes it
// now unless a writer runs, which then closes it as it ends (and is woken if
// it waits for room). Either way the descriptor's number is not reused while
// the writer may still write to it.
func (c *conn) closeFD() {
	c.mu.Lock()
	c.gone, c.dead = true, true
	writing := c.writing
	c.mu.Unlock()
	if !writing {
		syscall.Close(int(c.fd))
		return
	}
	c.s.poll.wakeWriter(c.id)
}

// shutdownFD shuts c's bare descriptor down for reading (which wakes its
// worker) or writing (our FIN), with reset first setting SO_LINGER to 0 so
// that closing it sends a reset; it reports whether the shutdown succeeded.
// It does nothing once the reader has let go of the descriptor. An abort
// also wakes a writer waiting for room.
func (c *conn) shutdownFD(write, reset bool) bool {
	c.mu.Lock()
	ok := false
	if !c.gone {
		fd := int(c.fd)
		if reset {
			syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
		}
		how := syscall.SHUT_RD
		if write {
			how = syscall.SHUT_WR
		}
		ok = syscall.Shutdown(fd, how) == nil
	}
	c.mu.Unlock()
	if reset {
		c.s.poll.wakeWriter(c.id)
	}
	return ok
}

// writeFD writes b to c's bare descriptor, waiting for room (see
// poller.awaitWritable) up to the write timeout.
func (c *conn) writeFD(b []byte) error {
	var deadline time.Time
	for len(b) > 0 {
		n, err := syscall.Write(int(c.fd), b)
		switch {
		case n > 0:
			b = b[n:]
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			if deadline.IsZero() {
				deadline = time.Now().Add(c.s.cfg.WriteTimeout)
			}
			if err := c.s.poll.awaitWritable(c, deadline); err != nil {
				return err
			}
		case err != nil:
			return os.NewSyscallError("write", err)
		default:
			return io.ErrShortWrite
		}
	}
	return nil
}

// awaitWritable parks c's writer until its socket has room, the deadline
// passes, the connection is aborted or the server closes.
func (p *poller) awaitWritable(c *conn, deadline time.Time) error {
	ch := make(chan struct{}, 1)
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32))}
	p.mu.Lock()
	err := error(net.ErrClosed)
	if !p.stopped {
		err = syscall.EpollCtl(p.wfd, syscall.EPOLL_CTL_MOD, int(c.fd), &ev)
		if err == syscall.ENOENT { // first wait, or a descriptor closed since
			err = syscall.EpollCtl(p.wfd, syscall.EPOLL_CTL_ADD, int(c.fd), &ev)
		}
		if err != nil {
			err = os.NewSyscallError("epoll_ctl", err)
		} else {
			p.blocked[c.id] = ch
		}
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		p.mu.Lock()
		delete(p.blocked, c.id)
		p.mu.Unlock()
	}()
	dead := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.dead
	}
	if dead() { // aborted before we were registered for wakeWriter
		return net.ErrClosed
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch: // room, or an abort
	case <-t.C:
		return os.ErrDeadlineExceeded
	case <-p.s.quit:
		return net.ErrClosed
	}
	if dead() {
		return net.ErrClosed
	}
	return nil
}

// writable wakes the writer of an output event's connection (its id is the
// event's data). It always returns true (see wait).
func (p *poller) writable(ev *syscall.EpollEvent) bool {
	return p.wakeWriter(broker.ConnID(uint32(ev.Fd)) | broker.ConnID(uint32(ev.Pad))<<32)
}

// wakeWriter wakes the writer of the connection with id if it waits for
// room. It always returns true.
func (p *poller) wakeWriter(id broker.ConnID) bool {
	p.mu.Lock()
	ch := p.blocked[id]
	p.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return true
}
