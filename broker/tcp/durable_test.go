package tcp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// memStore is a Store in memory: Commit applies what was written before it
// to an image, which is what a restart would load.
type memStore struct {
	mu       sync.Mutex
	written  []broker.Change
	durable  int // written[:durable] are durable
	image    *broker.Image
	payloads map[string]bool // payloads of durable ChMessage
	sent     map[string]bool // "client#pid" of durable ChSent
	commits  int
	writes   int                  // Write calls with changes
	wrote    chan struct{}        // signalled after a Write with changes
	before   func(m *memStore)    // if set, called (unlocked) at the start of each Commit
	fail     error                // if set, Commit returns it
	applyErr error                // a change did not apply: the core's changes are inconsistent
	delay    func() time.Duration // if set, each Commit sleeps this long (a slow disk)
}

func newMemStore() *memStore {
	return &memStore{wrote: make(chan struct{}, 1), image: broker.NewImage(), payloads: map[string]bool{}, sent: map[string]bool{}}
}

func (m *memStore) Write(changes []broker.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(changes) > 0 {
		m.writes++
		select {
		case m.wrote <- struct{}{}:
		default:
		}
	}
	m.written = append(m.written, changes...)
	return nil
}

func (m *memStore) Commit() error {
	m.mu.Lock()
	n := len(m.written) // what was written before the call
	before, delay, fail := m.before, m.delay, m.fail
	m.mu.Unlock()
	if before != nil {
		before(m)
	}
	if delay != nil {
		time.Sleep(delay()) // a slow disk, not synchronisation
	}
	if fail != nil {
		return fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := m.durable; i < n; i++ {
		c := &m.written[i]
		if err := m.image.Apply(c); err != nil && m.applyErr == nil {
			m.applyErr = err
		}
		switch c.Kind {
		case broker.ChMessage:
			m.payloads[string(c.Payload)] = true
		case broker.ChSent:
			m.sent[fmt.Sprintf("%s#%d", c.ClientID, c.PacketID)] = true
		}
	}
	m.durable = n
	m.commits++
	return nil
}

// check runs f on the durable state.
func (m *memStore) check(f func(m *memStore) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return f(m)
}

// startDurable serves a durable server on m (ReaderGoroutine: the spy
// connections are not TCP connections), with ln wrapping the listener if
// not nil.
func startDurable(t *testing.T, cfg Config, d Durable, wrap func(net.Listener) net.Listener) (*Server, string, chan error) {
	t.Helper()
	if cfg.Broker.Policy.Name == "" {
		cfg.Broker.Policy, _ = broker.Profile("hivemq")
	}
	cfg.Reader = ReaderGoroutine
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := NewDurable(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return s, addr, served
}

// spyListener wraps each accepted connection in a spyConn.
type spyListener struct {
	net.Listener
	check func(c *spyConn, p packet.Packet)
}

func (l spyListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &spyConn{Conn: nc, check: l.check, pubs: map[uint16]string{}, subs: map[uint16][]string{}}, nil
}

// spyConn decodes what a client sends and, before the server's bytes go
// out, passes each packet the server writes to check.
type spyConn struct {
	net.Conn
	check func(c *spyConn, p packet.Packet)

	in       []byte
	mu       sync.Mutex
	clientID string
	clean    bool
	pubs     map[uint16]string   // inbound PUBLISH packet id -> payload
	subs     map[uint16][]string // inbound SUBSCRIBE packet id -> filters
}

func (c *spyConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in = append(c.in, b[:n]...)
	for {
		used, token, ferr := packet.Frame(c.in, false, 0)
		if ferr != nil || token == nil {
			break
		}
		p, _, _ := packet.Decode(token, 0)
		c.in = c.in[used:]
		c.mu.Lock()
		switch p := p.(type) {
		case *packet.Connect:
			c.clientID, c.clean = p.ClientID, p.CleanSession
		case *packet.Publish:
			c.pubs[p.PacketID] = string(p.Payload)
		case *packet.Subscribe:
			for _, s := range p.Subscriptions {
				c.subs[p.PacketID] = append(c.subs[p.PacketID], s.Filter)
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *spyConn) Write(b []byte) (int, error) {
	for rest := b; len(rest) > 0; {
		used, token, err := packet.Frame(rest, false, 0)
		if err != nil || token == nil {
			break
		}
		p, _, _ := packet.Decode(token, 0)
		c.check(c, p)
		rest = rest[used:]
	}
	return c.Conn.Write(b)
}

// TestDurableAcksFollowCommits: with a store whose commits take a random
// while, every acknowledgement and every PUBLISH a durable server writes
// follows the commit of what it acknowledges: a persistent session's
// CONNACK its session, a SUBACK its subscriptions, a PUBACK or PUBREC the
// message (a persistent subscriber holds a copy), a QoS 2 PUBLISH to a
// persistent session the copy's packet id (a QoS 1 one may go first: see
// mayPrecedeSync).
func TestDurableAcksFollowCommits(t *testing.T) {
	m := newMemStore()
	rng := rand.New(rand.NewPCG(1, 2))
	var rngMu sync.Mutex
	m.delay = func() time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return time.Duration(rng.IntN(2000)) * time.Microsecond
	}
	var checked sync.Map // kind -> count
	check := func(c *spyConn, p packet.Packet) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var ok bool
		var what string
		switch p := p.(type) {
		case *packet.Connack:
			if c.clean || p.ReturnCode != packet.Accepted {
				return
			}
			what = "CONNACK of " + c.clientID
			ok = m.check(func(m *memStore) bool { return m.image.Sessions[c.clientID] != nil })
		case *packet.Suback:
			what = fmt.Sprintf("SUBACK of %s for %v", c.clientID, c.subs[p.PacketID])
			ok = m.check(func(m *memStore) bool {
				s := m.image.Sessions[c.clientID]
				if s == nil {
					return false
				}
				for _, f := range c.subs[p.PacketID] {
					if _, sub := s.Subs[f]; !sub {
						return false
					}
				}
				return true
			})
		case *packet.Puback:
			payload := c.pubs[p.PacketID]
			what = fmt.Sprintf("PUBACK of %s #%d (%q)", c.clientID, p.PacketID, payload)
			ok = m.check(func(m *memStore) bool { return m.payloads[payload] })
		case *packet.Pubrec:
			payload := c.pubs[p.PacketID]
			what = fmt.Sprintf("PUBREC of %s #%d (%q)", c.clientID, p.PacketID, payload)
			ok = m.check(func(m *memStore) bool { return m.payloads[payload] })
		case *packet.Publish:
			if c.clean || p.QoS < 2 {
				return
			}
			what = fmt.Sprintf("PUBLISH to %s #%d", c.clientID, p.PacketID)
			ok = m.check(func(m *memStore) bool { return m.sent[fmt.Sprintf("%s#%d", c.clientID, p.PacketID)] })
		default:
			return
		}
		kind, _, _ := strings.Cut(what, " ")
		n, _ := checked.LoadOrStore(kind, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if !ok {
			t.Errorf("%s written before it was durable", what)
		}
	}
	_, addr, _ := startDurable(t, Config{}, Durable{Store: m}, func(ln net.Listener) net.Listener { return spyListener{ln, check} })

	sub := connectPaho(t, addr, "sub", false)
	sub.subscribe(t, "t/#", 2, 2)
	const pubs, each = 4, 25
	var wg sync.WaitGroup
	for i := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := connectPaho(t, addr, fmt.Sprint("pub-", i), i%2 == 0)
			for j := range each {
				tok := p.Publish(fmt.Sprint("t/", i), byte(1+i%2), false, fmt.Sprintf("m-%d-%d", i, j))
				if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
					t.Errorf("publish: %v", tok.Error())
					return
				}
			}
		}()
	}
	got := map[string]bool{}
	for range pubs * each {
		got[string(sub.next(t).Payload())] = true
	}
	wg.Wait()
	if len(got) != pubs*each {
		t.Fatalf("subscriber got %d distinct messages, want %d", len(got), pubs*each)
	}
	for _, k := range []string{"CONNACK", "SUBACK", "PUBACK", "PUBREC", "PUBLISH"} {
		if n, _ := checked.Load(k); n == nil || n.(*atomic.Int64).Load() == 0 {
			t.Errorf("no %s checked", k)
		}
	}
	if m.applyErr != nil {
		t.Errorf("the core's changes do not apply: %v", m.applyErr)
	}
}

// TestDurableGroupCommit: while a commit runs, the owner goes on stepping
// other connections' input into the next batch. The first commit after
// the publishers connect waits until 30 steps with changes have been
// written since, so while it runs; a server that synced step by step would never get there (and the
// test would fail at its deadline). Then every PUBACK arrives, and the
// commit metrics count the grouped steps.
func TestDurableGroupCommit(t *testing.T) {
	m := newMemStore()
	reg := prometheus.NewRegistry()
	metrics, err := NewStoreMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, _ := startDurable(t, Config{}, Durable{Store: m, Metrics: metrics}, nil)
	sub := dialRaw(t, addr)
	sub.connect(persistent("sub"), packet.Accepted)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	sub.recv()
	sub.send(&packet.Disconnect{})
	sub.expectClosed()

	var once sync.Once
	released := make(chan struct{})
	m.mu.Lock()
	w0 := m.writes
	m.before = func(m *memStore) {
		once.Do(func() {
			defer close(released)
			deadline := time.After(waitFor)
			for m.check(func(m *memStore) bool { return m.writes < w0+30 }) {
				select {
				case <-m.wrote:
				case <-deadline:
					t.Errorf("no step was written while a commit ran: commits are not grouped (writes %d, from %d; %v)", m.writes, w0, m.written[len(m.written)-3:])
					return
				}
			}
		})
	}
	m.mu.Unlock()

	const pubs, each = 10, 10
	clients := make([]*rawClient, pubs)
	for i := range clients {
		clients[i] = dialRaw(t, addr)
	}
	for i, c := range clients { // every PUBLISH is sent before any PUBACK is read
		c.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: fmt.Sprint("p", i), CleanSession: true, KeepAlive: 60})
		for j := range each {
			c.send(&packet.Publish{Topic: "t", QoS: 1, PacketID: uint16(j + 1), Payload: []byte(fmt.Sprint(i, "-", j))})
		}
	}
	for _, c := range clients {
		if ack, ok := c.recv().(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
			t.Fatalf("CONNACK = %v", ack)
		}
		for j := range each {
			if ack, ok := c.recv().(*packet.Puback); !ok || ack.PacketID != uint16(j+1) {
				t.Fatalf("got %v, want PUBACK #%d", ack, j+1)
			}
		}
	}
	<-released
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, f := range families {
		h := f.GetMetric()[0].GetHistogram()
		sums[f.GetName()] = h.GetSampleSum()
		sums[f.GetName()+"_count"] = float64(h.GetSampleCount())
	}
	if sums["sessionlab_store_commit_steps"] < 30 || sums["sessionlab_store_commit_steps_count"] >= sums["sessionlab_store_commit_steps"] ||
		sums["sessionlab_store_commit_seconds_count"] == 0 || sums["sessionlab_store_commit_changes"] < sums["sessionlab_store_commit_steps"] {
		t.Errorf("commit metrics: %v; want at least 30 steps in fewer commits, each step with changes", sums)
	}
}

// TestDurableRestart: a persistent subscriber's queue and a retained
// message survive a Close and a restart from the store's image, which
// Close has committed; the session resumes with SessionPresent=1 and gets
// the queue in order; a later boot past the session's expiry (the clock
// goes on from Durable.Boot) finds it expired.
func TestDurableRestart(t *testing.T) {
	p, _ := broker.Profile("hivemq")
	p.SessionExpiry = time.Hour
	m := newMemStore()
	s1, addr, _ := startDurable(t, Config{Broker: broker.Config{Policy: p}}, Durable{Store: m}, nil)
	sub := connectPaho(t, addr, "sub", false)
	sub.subscribe(t, "t", 1, 1)
	sub.Disconnect(100)
	pub := connectPaho(t, addr, "pub", true)
	for i := range 10 {
		pub.publish(t, "t", 1, false, fmt.Sprint(i))
	}
	pub.publish(t, "r", 1, true, "kept")
	s1.Close()
	if !m.check(func(m *memStore) bool { return m.durable == len(m.written) && m.image.Copies() == 10 }) {
		t.Fatalf("after Close: %d of %d changes durable, %d copies", m.durable, len(m.written), m.image.Copies())
	}

	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s2, addr, _ := startDurable(t, Config{Broker: broker.Config{Policy: p}, Metrics: metrics},
		Durable{Store: m, Image: m.image, Boot: s1.now() + time.Minute}, nil)
	if got, _ := metricValue(t, reg, "sessionlab_sessions", "state", "offline"); got != 1 {
		t.Errorf("sessions{state=offline} after restart = %v, want 1 (the restored session)", got)
	}
	raw := dialRaw(t, addr)
	if ack := raw.connect(persistent("sub"), packet.Accepted); !ack.SessionPresent {
		t.Fatal("SessionPresent=0 after restart")
	}
	for i := range 10 {
		p, ok := raw.recv().(*packet.Publish)
		if !ok || string(p.Payload) != fmt.Sprint(i) {
			t.Fatalf("after restart got %v, want message %d", p, i)
		}
		raw.send(&packet.Puback{PacketID: p.PacketID})
	}
	other := connectPaho(t, addr, "other", true)
	other.subscribe(t, "r", 1, 1)
	other.expect(t, "kept")
	raw.send(&packet.Disconnect{})
	raw.expectClosed() // the close follows the commit of the session going offline
	s2.Close()

	_, addr, _ = startDurable(t, Config{Broker: broker.Config{Policy: p}}, Durable{Store: m, Image: m.image, Boot: s1.now() + 3*time.Hour}, nil)
	sub = connectPaho(t, addr, "sub", false)
	if sub.ack.SessionPresent() {
		t.Fatal("a session whose expiry passed while the server was down was resumed")
	}
}

// TestDurableStoreFailure: when a commit fails, the server stops without
// acknowledging what it could not make durable.
func TestDurableStoreFailure(t *testing.T) {
	m := newMemStore()
	_, addr, served := startDurable(t, Config{}, Durable{Store: m}, nil)
	sub := dialRaw(t, addr)
	sub.connect(persistent("sub"), packet.Accepted)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	sub.recv()
	m.mu.Lock()
	m.fail = errors.New("disk on fire")
	m.mu.Unlock()
	pub := dialRaw(t, addr)
	pub.send(&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "p", CleanSession: true, KeepAlive: 60},
		&packet.Publish{Topic: "t", QoS: 1, PacketID: 7, Payload: []byte("x")})
	for _, p := range pub.expectClosed() {
		if _, ok := p.(*packet.Puback); ok {
			t.Fatal("PUBACK of a message whose commit failed")
		}
	}
	select {
	case err := <-served:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after the store failed")
	}
}
