package tcp

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// waitFor bounds every wait in these tests. It is a failure deadline, never a
// synchronisation device: tests proceed as soon as what they wait for happens.
const waitFor = 10 * time.Second

// recorder collects the core's events from Config.Observer and lets a test
// wait for one.
type recorder struct {
	mu     sync.Mutex
	events []broker.Event
	notify chan struct{} // closed and replaced on every step
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{})} }

func (r *recorder) observe(rec *broker.Record) {
	r.mu.Lock()
	for ev := range rec.Events() {
		r.events = append(r.events, *ev)
	}
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

// wait returns the first event from index from on that satisfies match, and
// its index, failing the test after waitFor.
func (r *recorder) wait(t *testing.T, from int, what string, match func(broker.Event) bool) (broker.Event, int) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if match(r.events[i]) {
				ev := r.events[i]
				r.mu.Unlock()
				return ev, i
			}
		}
		from = len(r.events)
		notify := r.notify
		r.mu.Unlock()
		select {
		case <-notify:
		case <-deadline:
			t.Fatalf("no %s event within %v", what, waitFor)
		}
	}
}

// count returns how many events so far satisfy match.
func (r *recorder) count(match func(broker.Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if match(ev) {
			n++
		}
	}
	return n
}

// all returns the events so far that satisfy match, in order.
func (r *recorder) all(match func(broker.Event) bool) []broker.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []broker.Event
	for _, ev := range r.events {
		if match(ev) {
			got = append(got, ev)
		}
	}
	return got
}

// kind matches events of one kind for one client ("" for any client).
func kind(k broker.EventKind, clientID string) func(broker.Event) bool {
	return func(ev broker.Event) bool { return ev.Kind == k && (clientID == "" || ev.ClientID == clientID) }
}

// readerEnv names the reader startServer uses when a test sets none, as
// Reader.UnmarshalText takes it; unset, the platform's default (epoll on
// Linux). TestGoroutineReaderSuite sets it to run the suite again.
const readerEnv = "SESSIONLAB_TCP_READER"

// testReader is $SESSIONLAB_TCP_READER.
var testReader = func() Reader {
	var r Reader
	if err := r.UnmarshalText([]byte(cmp.Or(os.Getenv(readerEnv), "default"))); err != nil {
		panic(readerEnv + ": " + err.Error())
	}
	return r
}()

// startServer serves cfg (the mosquitto profile unless cfg sets a policy) on
// a loopback port and returns the server, its address and its event recorder.
func startServer(t testing.TB, cfg Config) (*Server, string, *recorder) {
	t.Helper()
	if cfg.Reader == ReaderDefault {
		cfg.Reader = testReader
	}
	if cfg.Broker.Policy.Name == "" {
		p, err := broker.Profile("mosquitto")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Broker.Policy = p
	}
	rec := newRecorder()
	if prev := cfg.Observer; prev != nil {
		cfg.Observer = func(r *broker.Record) { prev(r); rec.observe(r) }
	} else {
		cfg.Observer = rec.observe
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve = %v, want ErrClosed", err)
		}
	})
	return s, ln.Addr().String(), rec
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// rawClient is a hand-driven MQTT client on a raw socket, for what a library
// client will not do: send garbage, withhold acknowledgements, go silent.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	buf []byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

// write sends raw bytes.
func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send encodes and sends packets.
func (c *rawClient) send(ps ...packet.Packet) {
	c.t.Helper()
	var b []byte
	for _, p := range ps {
		b = p.Append(b)
	}
	c.write(b)
}

// next reads the next packet, or returns the read error.
func (c *rawClient) next() (packet.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(waitFor))
	for {
		n, token, err := packet.Frame(c.buf, false, 0)
		if err != nil {
			return nil, err
		}
		if token != nil {
			p, _, err := packet.Decode(token, 0)
			c.buf = c.buf[n:]
			return p, err
		}
		chunk := make([]byte, 4096)
		m, err := c.nc.Read(chunk)
		c.buf = append(c.buf, chunk[:m]...)
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

// recv reads the next packet, failing the test on error.
func (c *rawClient) recv() packet.Packet {
	c.t.Helper()
	p, err := c.next()
	if err != nil {
		c.t.Fatalf("reading a packet: %v", err)
	}
	return p
}

// connect sends CONNECT and checks the CONNACK's return code; it returns the
// CONNACK.
func (c *rawClient) connect(p *packet.Connect, want packet.ReturnCode) *packet.Connack {
	c.t.Helper()
	if p.ProtocolName == "" {
		p.ProtocolName, p.ProtocolLevel = "MQTT", 4
	}
	c.send(p)
	ack, ok := c.recv().(*packet.Connack)
	if !ok || ack.ReturnCode != want {
		c.t.Fatalf("CONNACK = %v, want return code %v", ack, want)
	}
	return ack
}

// expectClosed reads until the server closes the connection, failing if it
// does not within waitFor. Packets read before the close are returned.
func (c *rawClient) expectClosed() []packet.Packet {
	c.t.Helper()
	var got []packet.Packet
	for {
		p, err := c.next()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			c.t.Fatalf("connection still open after %v", waitFor)
		case err != nil:
			return got
		}
		got = append(got, p)
	}
}

// persistent returns a CONNECT for a persistent session.
func persistent(clientID string) *packet.Connect {
	return &packet.Connect{ClientID: clientID, KeepAlive: 60}
}
