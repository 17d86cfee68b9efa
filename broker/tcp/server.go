package tcp

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("tcp: server closed")

// Server serves one broker core on one or more listeners. Create it with
// New, run it with Serve (plain TCP) and ServeTLS, once per listener, stop it
// with Close.
type Server struct {
	cfg    Config
	core   *broker.Broker
	start  time.Time
	inputs chan arrival
	quit   chan struct{}

	closeOnce sync.Once
	ownerDone chan struct{}
	accepting sync.WaitGroup // accept loops (Serve, ServeTLS) running
	conns     sync.WaitGroup // open connections and writer goroutines
	open      atomic.Int64   // connections not yet closed by their reader
	nextID    atomic.Uint64  // the last connection's sequence number, by any accept loop (see connID)

	mu      sync.Mutex // guards lns, lnFiles and live
	lns     []net.Listener
	lnFiles []io.Closer        // duplicates of plain listeners' sockets that acceptFD takes connections from
	live    map[*conn]struct{} // every connection not yet closed by its reader goroutine, for Close

	mem     *memory    // Config.MemoryLimit's accounts
	owner   ownerState // owner goroutine only
	prepare Preparer   // cfg.Broker.Auth, when it can check credentials ahead of time
	poll    *poller    // the event loop reader (Config.Reader epoll), or nil
	dur     *durable   // NewDurable's group commit, or nil
}

// Preparer is implemented by an Authenticator that can check a CONNECT's
// credentials ahead of Authenticate (auth.Passwords, auth.Owners). When
// Config.Broker.Auth implements it, each connection's reader goroutine calls
// Prepare on a CONNECT before handing it to the owner, so password hashing
// runs in parallel rather than on the goroutine that steps the core, and the
// owner calls Forget once the core has handled that CONNECT.
type Preparer interface {
	Prepare(c *packet.Connect)
	Forget(c *packet.Connect)
}

// arrival is one input on its way to the owner, with the connection it came
// from (for InOpen, so the owner learns where to write).
type arrival struct {
	in   broker.Input
	conn *conn
}

// New returns a server with cfg, or an error naming an invalid field (of cfg
// or of its policy).
func New(cfg Config) (*Server, error) {
	if _, err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	core, err := broker.New(cfg.Broker)
	if err != nil {
		return nil, err
	}
	return newServer(cfg, core, 0, nil)
}

// newServer starts a server on core, whose clock reads boot now.
func newServer(cfg Config, core *broker.Broker, boot broker.Time, dur *durable) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		core:      core,
		start:     time.Now().Add(-boot),
		dur:       dur,
		inputs:    make(chan arrival, cfg.InputQueue),
		quit:      make(chan struct{}),
		ownerDone: make(chan struct{}),
		live:      map[*conn]struct{}{},
	}
	s.prepare, _ = cfg.Broker.Auth.(Preparer)
	s.mem = &memory{limit: cfg.MemoryLimit}
	if cfg.Metrics != nil {
		cfg.Metrics.memory.Store(s.mem)
	}
	if cfg.Reader == ReaderEpoll {
		if s.poll, err = newPoller(s); err != nil {
			return nil, err
		}
	}
	go s.run()
	return s, nil
}

// Serve accepts plain MQTT connections on ln until Close, then returns
// ErrClosed; any other accept error is returned as is (after closing the
// server). Serve may be called once per listener, next to ServeTLS.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, nil) }

// serve is the accept loop of Serve and, with t set, ServeTLS.
func (s *Server) serve(ln net.Listener, t *TLS) error {
	s.mu.Lock()
	select {
	case <-s.quit:
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	default:
	}
	s.lns = append(s.lns, ln)
	s.accepting.Add(1) // under mu, before Close can close quit and wait
	var acc *acceptor  // when the event loop accepts bare descriptors from a plain ln
	if s.poll != nil && t == nil {
		var f io.Closer
		if acc, f = s.poll.listener(ln); f != nil {
			s.lnFiles = append(s.lnFiles, f)
		}
	}
	s.mu.Unlock()
	defer s.accepting.Done()
	var backoff time.Duration
	for {
		err := s.accept(ln, acc, t)
		if err != nil {
			select {
			case <-s.quit:
				return ErrClosed
			default:
			}
			if !transient(err) {
				go s.Close() // Close waits for this loop to end
				return err
			}
			// Out of descriptors or an aborted handshake: wait and retry,
			// as net/http does, rather than stop serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.cfg.Logger.Warn("accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.quit:
				return ErrClosed
			}
			continue
		}
		backoff = 0
	}
}

// accept takes one connection from ln and admits it: as a bare descriptor
// from acc, a duplicate of ln's socket, when the event loop reads it (see
// acceptFD), else as a net.Conn, wrapped in TLS when t is set.
func (s *Server) accept(ln net.Listener, acc *acceptor, t *TLS) error {
	if acc != nil {
		return s.acceptFD(acc)
	}
	nc, err := ln.Accept()
	if err != nil {
		return err
	}
	if t != nil {
		nc = t.server(nc)
	}
	s.admit(nc)
	return nil
}

// nextSeq returns the next connection's sequence number.
func (s *Server) nextSeq() broker.ConnID { return broker.ConnID(s.nextID.Add(1)) }

// transient reports whether an accept error is worth retrying.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// admit starts reading a new connection (registers it with the poller, or
// starts its reader goroutine), or closes it at once when MaxConnections are
// open.
func (s *Server) admit(nc net.Conn) {
	if s.open.Load() >= int64(s.cfg.MaxConnections) {
		s.cfg.Logger.Warn("connection refused: too many connections",
			"remote", nc.RemoteAddr().String(), "max", s.cfg.MaxConnections)
		nc.Close()
		return
	}
	if !s.admitMemory(nc) {
		return
	}
	c := newConn(s, netConnID(s.nextSeq()), nc)
	s.open.Add(1)
	s.conns.Add(1)
	if s.poll != nil && s.poll.add(c) {
		return // the poller closes it on Close
	}
	s.mu.Lock()
	s.live[c] = struct{}{}
	s.mu.Unlock()
	go c.read()
}

// Connections returns the number of connections open now.
func (s *Server) Connections() int { return int(s.open.Load()) }

// Close stops accepting, closes every connection and stops the owner. It
// waits for all of the server's goroutines to end and is safe to call more
// than once. Sessions live in memory and are gone afterwards.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.quit)
		for _, ln := range s.lns {
			ln.Close()
		}
		for _, f := range s.lnFiles {
			f.Close()
		}
		s.mu.Unlock()
		s.accepting.Wait()
		<-s.ownerDone
		if s.poll != nil {
			s.poll.stop() // closes the connections it reads
		}
		s.mu.Lock()
		for c := range s.live { // also those closing or lingering
			c.nc.Close()
		}
		s.mu.Unlock()
		s.conns.Wait()
	})
	return nil
}

// submit hands an input to the owner, in order per connection. It returns
// false when the server is closing.
func (s *Server) submit(a arrival) bool {
	select {
	case s.inputs <- a:
		return true
	case <-s.quit:
		return false
	}
}
