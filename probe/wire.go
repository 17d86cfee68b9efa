package probe

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// Target is the broker under test and how to reach it.
type Target struct {
	Addr     string // host:port
	Username string // sent when not empty
	Password string // sent when Username is not empty
	// DialTimeout bounds one TCP dial (default 3 s).
	DialTimeout time.Duration
	// AnswerTimeout bounds the wait for an answer the protocol requires
	// (CONNACK, SUBACK, PUBACK; default 5 s).
	AnswerTimeout time.Duration
}

func (t Target) dialTimeout() time.Duration   { return or(t.DialTimeout, 3*time.Second) }
func (t Target) answerTimeout() time.Duration { return or(t.AnswerTimeout, 5*time.Second) }

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// UnusableError says that the broker could not be used at all: it could not
// be reached, refused the credentials or did not answer CONNECT. Tried says
// what the probe did.
type UnusableError struct {
	Tried string
	Err   error
}

func (e *UnusableError) Error() string { return e.Tried + ": " + e.Err.Error() }
func (e *UnusableError) Unwrap() error { return e.Err }

// RefusedError is a CONNACK with a non-zero return code [MQTT-3.2.2-5].
type RefusedError struct{ Code packet.ReturnCode }

func (e *RefusedError) Error() string {
	hint := ""
	switch e.Code {
	case packet.RefusedBadUsernamePassword, packet.RefusedNotAuthorized:
		hint = " (check --username and --password)"
	}
	return fmt.Sprintf("CONNACK refused the connection: %v%s", e.Code, hint)
}

// Errors of a connection's reads.
var (
	// ErrTimeout: nothing arrived within the wait.
	ErrTimeout = errors.New("no answer in time")
	// ErrClosed: the connection is closed (by the broker or by us).
	ErrClosed = errors.New("connection closed")
)

// Entry is one packet on the wire, or a note about a connection.
type Entry struct {
	At     time.Duration // since the log started
	Client string
	Conn   int           // the log's number of the connection
	Out    bool          // sent by the client
	Packet packet.Packet // nil for a note
	Note   string        // "dial", "closed: EOF", ...
}

// String formats the entry on one line: "+1.234s dev-1#3 -> PUBLISH q1 id=7 ...".
func (e Entry) String() string {
	dir := "<-"
	if e.Out {
		dir = "->"
	}
	what := e.Note
	if e.Packet != nil {
		what = fmt.Sprint(e.Packet)
		if p, ok := e.Packet.(*packet.Publish); ok {
			if u, ok := seqOf(p.Payload); ok {
				what += fmt.Sprintf(" msg=%d", u)
			}
		}
	} else {
		dir = "--"
	}
	return fmt.Sprintf("+%.3fs %s#%d %s %s", e.At.Seconds(), e.Client, e.Conn, dir, what)
}

// Log records every packet every client of a probe sent and received, with
// the wall-clock time since the log began. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	start   time.Time
	entries []Entry
	conns   int
}

// NewLog starts a log now.
func NewLog() *Log { return &Log{start: time.Now()} }

// Now is the time since the log began.
func (l *Log) Now() time.Duration { return time.Since(l.start) }

func (l *Log) add(e Entry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
}

// Entries returns a copy of the entries so far, in the order they were recorded.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Len is the number of entries so far.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Dump writes every entry, one a line.
func (l *Log) Dump() string {
	var b strings.Builder
	for _, e := range l.Entries() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Recv is one packet received, with its time on the log's clock.
type Recv struct {
	At time.Duration
	P  packet.Packet
}

// Conn is one client connection to the broker: writes are recorded and
// bounded by AnswerTimeout, and a reader goroutine decodes what arrives,
// records it and hands it to Next.
type Conn struct {
	target Target
	log    *Log
	client string
	id     int
	nc     net.Conn
	in     chan Recv
	done   chan struct{} // closed when the reader stops
	wmu    sync.Mutex
	buf    []byte
	why    string      // why the reader stopped, set before done is closed
	self   atomic.Bool // the client closed the connection
}

// Dial opens a TCP connection for client; it does not send CONNECT.
func (t Target) Dial(log *Log, client string) (*Conn, error) {
	log.mu.Lock()
	log.conns++
	id := log.conns
	log.mu.Unlock()
	nc, err := net.DialTimeout("tcp", t.Addr, t.dialTimeout())
	if err != nil {
		log.add(Entry{At: log.Now(), Client: client, Conn: id, Note: "dial failed: " + err.Error()})
		return nil, err
	}
	log.add(Entry{At: log.Now(), Client: client, Conn: id, Note: "dial " + t.Addr})
	c := &Conn{target: t, log: log, client: client, id: id, nc: nc, in: make(chan Recv, 8192), done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read decodes packets until the connection ends.
func (c *Conn) read() {
	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(packet.Split(1 << 20))
	for sc.Scan() {
		p, _, err := packet.Decode(sc.Bytes(), 1<<20)
		if err != nil {
			c.stop("malformed packet from the broker: " + err.Error())
			return
		}
		now := c.log.Now()
		c.log.add(Entry{At: now, Client: c.client, Conn: c.id, Packet: p})
		c.in <- Recv{At: now, P: p}
	}
	why := "EOF"
	if err := sc.Err(); err != nil {
		why = err.Error()
	}
	if c.self.Load() {
		why = "by the client"
	}
	c.stop(why)
}

func (c *Conn) stop(why string) {
	c.why = why
	c.log.add(Entry{At: c.log.Now(), Client: c.client, Conn: c.id, Note: "closed: " + why})
	c.nc.Close()
	close(c.done)
}

// Client is the client id the connection was opened for.
func (c *Conn) Client() string { return c.client }

// Send writes ps in one write and records them.
func (c *Conn) Send(ps ...packet.Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.buf = c.buf[:0]
	for _, p := range ps {
		if _, bye := p.(*packet.Disconnect); bye {
			c.self.Store(true) // the broker closes after it [MQTT-3.14.4-1]: that close is ours
		}
		c.buf = p.Append(c.buf)
	}
	now := c.log.Now()
	for _, p := range ps {
		c.log.add(Entry{At: now, Client: c.client, Conn: c.id, Out: true, Packet: p})
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.target.answerTimeout()))
	_, err := c.nc.Write(c.buf)
	return err
}

// Next returns the next packet received, waiting at most wait: ErrTimeout
// when nothing came, ErrClosed when the connection ended.
func (c *Conn) Next(wait time.Duration) (Recv, error) {
	select {
	case r := <-c.in:
		return r, nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-c.in:
		return r, nil
	case <-c.done:
		select {
		case r := <-c.in:
			return r, nil
		default:
		}
		return Recv{}, fmt.Errorf("%w (%s)", ErrClosed, c.why)
	case <-t.C:
		return Recv{}, ErrTimeout
	}
}

// Closed reports whether the connection has ended.
func (c *Conn) Closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Abort closes the TCP connection without DISCONNECT: to the broker this is
// a lost connection, so the Will fires [MQTT-3.1.2-8].
func (c *Conn) Abort() {
	c.self.Store(true)
	c.nc.Close()
	<-c.done
}

// Disconnect sends DISCONNECT and closes [MQTT-3.14.4-3].
func (c *Conn) Disconnect() {
	c.Send(&packet.Disconnect{})
	c.nc.Close()
	<-c.done
}

// Connect sends cc (with the target's credentials) and waits for CONNACK.
func (c *Conn) Connect(cc *packet.Connect) (*packet.Connack, error) {
	cc.ProtocolName, cc.ProtocolLevel = "MQTT", 4 // MQTT 3.1.1 [MQTT-3.1.2-1], [MQTT-3.1.2-2]
	if c.target.Username != "" {
		cc.UsernameFlag, cc.Username = true, c.target.Username
		cc.PasswordFlag, cc.Password = true, []byte(c.target.Password)
	}
	if err := c.Send(cc); err != nil {
		return nil, err
	}
	r, err := c.Next(c.target.answerTimeout())
	if err != nil {
		return nil, fmt.Errorf("waiting %v for CONNACK: %w", c.target.answerTimeout(), err)
	}
	ack, ok := r.P.(*packet.Connack)
	if !ok {
		return nil, fmt.Errorf("the first packet from the broker is %v, not CONNACK [MQTT-3.2.0-1]", r.P)
	}
	if ack.ReturnCode != packet.Accepted {
		return ack, &RefusedError{Code: ack.ReturnCode}
	}
	return ack, nil
}

// Open dials and connects client with the given CleanSession and Will.
func (t Target) Open(log *Log, client string, clean bool, will *packet.Publish) (*Conn, *packet.Connack, error) {
	c, err := t.Dial(log, client)
	if err != nil {
		return nil, nil, err
	}
	cc := &packet.Connect{ClientID: client, CleanSession: clean, KeepAlive: 60}
	if will != nil {
		cc.WillFlag, cc.WillQoS, cc.WillRetain, cc.WillTopic, cc.WillPayload = true, will.QoS, will.Retain, will.Topic, will.Payload
	}
	ack, err := c.Connect(cc)
	if err != nil {
		c.Abort()
		return nil, ack, err
	}
	return c, ack, nil
}

// Check connects once with a clean session and disconnects: an error is an
// UnusableError saying what was tried.
func (t Target) Check(log *Log, client string) error {
	c, _, err := t.Open(log, client, true, nil)
	if err != nil {
		who := "anonymously"
		if t.Username != "" {
			who = "as user " + t.Username
		}
		return &UnusableError{Tried: fmt.Sprintf("connecting to %s %s (CONNECT clean, client id %q; dial timeout %v, CONNACK timeout %v)",
			t.Addr, who, client, t.dialTimeout(), t.answerTimeout()), Err: err}
	}
	c.Disconnect()
	return nil
}

// Subscribe sends one SUBSCRIBE and waits for its SUBACK, answering (and
// recording) what else arrives meanwhile as stray. It returns the granted
// codes; ErrTimeout when no SUBACK came within wait.
func (c *Conn) Subscribe(id uint16, wait time.Duration, subs ...packet.Subscription) ([]byte, []Recv, error) {
	if err := c.Send(&packet.Subscribe{PacketID: id, Subscriptions: subs}); err != nil {
		return nil, nil, err
	}
	var stray []Recv
	deadline := time.Now().Add(wait)
	for {
		r, err := c.Next(time.Until(deadline))
		if err != nil {
			return nil, stray, err
		}
		if s, ok := r.P.(*packet.Suback); ok && s.PacketID == id {
			codes := make([]byte, len(s.ReturnCodes))
			for i, rc := range s.ReturnCodes {
				codes[i] = byte(rc)
			}
			return codes, stray, nil
		}
		stray = append(stray, r)
	}
}

// seq encodes a message number as an 8-byte big-endian payload, the
// simulator's message-id format.
func seq(u uint64) []byte {
	p := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		p[i] = byte(u)
		u >>= 8
	}
	return p
}

// seqOf reads a message number back; ok is false unless the payload is 8 bytes.
func seqOf(p []byte) (uint64, bool) {
	if len(p) != 8 {
		return 0, false
	}
	var u uint64
	for _, b := range p {
		u = u<<8 | uint64(b)
	}
	return u, true
}
