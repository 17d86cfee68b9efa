package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// harness drives a broker in tests. After every Step it records the outputs
// and checks conservation (invariant 15) against the broker's own state, so
// every test also checks that no copy disappears silently.
type harness struct {
	t   testing.TB
	b   *Broker
	now Time
	out []Output // outputs of the last Step (copied)
	all []Output // every output so far

	// image, when set, applies every step's durable changes, and the
	// harness checks after each step that Recover rebuilds from it the
	// state a crash at that instant leaves (see checkRecover).
	image *Image

	copies    map[MsgID]int // EvPublished.Copies
	delivered map[MsgID]int
	dropped   map[MsgID]int
}

// newHarness returns a harness on profile name with edit applied to it.
func newHarness(t testing.TB, name string, edit func(*Policy)) *harness {
	t.Helper()
	p, err := Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&p)
	}
	return newHarnessConfig(t, Config{Policy: p})
}

// newHarnessConfig returns a harness on cfg.
func newHarnessConfig(t testing.TB, cfg Config) *harness {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, copies: map[MsgID]int{}, delivered: map[MsgID]int{}, dropped: map[MsgID]int{}}
}

// step feeds in at the harness clock and checks conservation.
func (h *harness) step(in Input) []Output {
	h.t.Helper()
	rec := h.b.Step(h.now, in)
	if h.image != nil {
		for i := range rec.Changes {
			if err := h.image.Apply(&rec.Changes[i]); err != nil {
				h.t.Fatalf("after %v: %v", in, err)
			}
		}
	}
	h.out = append(h.out[:0], h.b.Outputs()...)
	h.all = append(h.all, h.out...)
	for _, o := range h.out {
		if o.Kind != OutEvent {
			continue
		}
		switch e := o.Event; e.Kind {
		case EvPublished:
			h.copies[e.Msg] += e.Copies
		case EvDelivered:
			h.delivered[e.Msg]++
		case EvDropped:
			if e.Publisher != e.ClientID || h.copies[e.Msg] > 0 || e.Reason != ReasonNotAuthorized && e.Reason != ReasonQoSUnsupported {
				h.dropped[e.Msg]++
			}
		}
		if o.Event.At != h.now {
			h.t.Fatalf("event %v: At = %v, want now %v", o.Event, o.Event.At, h.now)
		}
	}
	h.checkConservation()
	h.checkSessions()
	h.checkLive()
	if h.image != nil {
		h.checkRecover()
	}
	return h.out
}

// checkLive asserts that nothing is stuck: a pump would send nothing (the
// Step already sent what it could), and every pending deadline has a heap
// entry no later than it, so NextDeadline will ask for it.
func (h *harness) checkLive() {
	h.t.Helper()
	c := h.b.Clone()
	c.out = c.out[:0]
	for _, s := range c.sessionsInOrder() {
		c.pump(s)
		for _, o := range c.out {
			if o.Kind == OutSend {
				h.t.Fatalf("%s: a pump after the Step sends %v: stalled", s.clientID, o)
			}
		}
	}
	for _, s := range h.b.sessions {
		if due, ok := h.b.sessionDue(s); ok && !h.hasEntry(timerSession, s.seq, due) {
			h.t.Fatalf("%s: deadline %v has no timer entry", s.clientID, due)
		}
	}
	for _, cn := range h.b.conns {
		if due, ok := h.b.keepaliveDue(cn); ok && !h.hasEntry(timerKeepalive, uint64(cn.id), due) {
			h.t.Fatalf("conn %d: keepalive %v has no timer entry", cn.id, due)
		}
	}
}

// hasEntry reports whether the heap holds an entry for owner at or before due.
func (h *harness) hasEntry(kind timerKind, owner uint64, due Time) bool {
	for _, t := range h.b.timers.items {
		if t.kind == kind && t.owner == owner && t.at <= due {
			return true
		}
	}
	return false
}

// checkSessions asserts the per-session invariants that hold after every
// Step: queue bound (8), distinct in-flight packet ids (14), no expiry
// pending while online (10), at most one connection per session (12).
func (h *harness) checkSessions() {
	h.t.Helper()
	for id, s := range h.b.sessions {
		if c := h.b.pol.QueueCap; c > 0 && s.queue.Len() > c {
			h.t.Fatalf("%s: %d queued, cap %d", id, s.queue.Len(), c)
		}
		seen, resends := map[uint16]bool{}, 0
		for _, d := range s.inflight {
			if d.resend {
				resends++
			}
			if d.pid == 0 || seen[d.pid] {
				h.t.Fatalf("%s: in-flight packet id %d zero or duplicated [MQTT-2.3.1-2]", id, d.pid)
			}
			seen[d.pid] = true
		}
		if resends != s.resends {
			h.t.Fatalf("%s: %d copies flagged for resend, counter %d", id, resends, s.resends)
		}
		if s.online() && (s.expires || s.conn.sess != s || h.b.conns[s.conn.id] != s.conn) {
			h.t.Fatalf("%s: online session inconsistent (expires=%v)", id, s.expires)
		}
	}
}

// ackAll acknowledges every PUBLISH sent on c by the last Step (PUBACK for
// QoS 1, PUBREC then PUBCOMP for QoS 2), and repeats for what the acks send.
func (h *harness) ackAll(c ConnID) {
	h.t.Helper()
	for {
		var acks []packet.Packet
		for _, o := range h.out {
			if o.Kind != OutSend || o.Conn != c {
				continue
			}
			switch p := o.Packet.(type) {
			case *packet.Publish:
				if p.QoS == 1 {
					acks = append(acks, &packet.Puback{PacketID: p.PacketID})
				} else if p.QoS == 2 {
					acks = append(acks, &packet.Pubrec{PacketID: p.PacketID})
				}
			case *packet.Pubrel:
				acks = append(acks, &packet.Pubcomp{PacketID: p.PacketID})
			}
		}
		if len(acks) == 0 {
			return
		}
		var next []Output
		for _, a := range acks {
			next = append(next, h.recv(c, a)...)
		}
		h.out = next
	}
}

// drive acknowledges everything sent on c, then fires deadlines up to limit,
// acknowledging after each, like a client that acks instantly.
func (h *harness) drive(c ConnID, limit Time) {
	h.t.Helper()
	h.ackAll(c)
	for {
		d, ok := h.b.NextDeadline()
		if !ok || d > limit {
			break
		}
		h.now = max(h.now, d)
		h.step(Input{Kind: InDeadline})
		h.ackAll(c)
	}
	h.now = max(h.now, limit)
}

// sentEvents returns the EvSent events for clientID among outs.
func sentEvents(outs []Output, clientID string) []Event {
	var es []Event
	for _, e := range events(outs, EvSent) {
		if e.ClientID == clientID {
			es = append(es, e)
		}
	}
	return es
}

// checkConservation asserts copies = delivered + dropped + pending per MsgID.
func (h *harness) checkConservation() {
	h.t.Helper()
	pending := map[MsgID]int{}
	for _, s := range h.b.sessions {
		for i := 0; i < s.queue.Len(); i++ {
			pending[s.queue.at(i).msg.id]++
		}
		for _, d := range s.inflight {
			if d.state == copyWaitAck {
				pending[d.msg.id]++
			}
		}
	}
	for id, n := range h.copies {
		if got := h.delivered[id] + h.dropped[id] + pending[id]; got != n {
			h.t.Fatalf("conservation: msg %d: delivered %d + dropped %d + pending %d = %d, want copies %d",
				id, h.delivered[id], h.dropped[id], pending[id], got, n)
		}
	}
}

// at moves the clock to t, firing every deadline on the way like a driver.
func (h *harness) at(t Time) {
	h.t.Helper()
	for {
		d, ok := h.b.NextDeadline()
		if !ok || d > t {
			break
		}
		if d > h.now {
			h.now = d
		}
		h.step(Input{Kind: InDeadline})
	}
	h.now = t
}

// advance moves the clock by d.
func (h *harness) advance(d time.Duration) { h.t.Helper(); h.at(h.now + d) }

func (h *harness) open(c ConnID) { h.t.Helper(); h.step(Input{Kind: InOpen, Conn: c}) }
func (h *harness) lost(c ConnID) { h.t.Helper(); h.step(Input{Kind: InLost, Conn: c}) }

func (h *harness) recv(c ConnID, p packet.Packet) []Output {
	h.t.Helper()
	return h.step(Input{Kind: InPacket, Conn: c, Packet: p})
}

// connect opens c and sends CONNECT; it returns the CONNACK.
func (h *harness) connect(c ConnID, id string, clean bool, ka uint16) *packet.Connack {
	h.t.Helper()
	h.open(c)
	h.recv(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id, CleanSession: clean, KeepAlive: ka})
	return h.connack(c)
}

// connack returns the CONNACK sent on c by the last Step, or fails.
func (h *harness) connack(c ConnID) *packet.Connack {
	h.t.Helper()
	for _, o := range h.out {
		if p, ok := o.Packet.(*packet.Connack); ok && o.Conn == c {
			return p
		}
	}
	h.t.Fatalf("no CONNACK on conn %d in %s", c, h.trace())
	return nil
}

func (h *harness) subscribe(c ConnID, filter string, qos packet.QoS) {
	h.t.Helper()
	h.recv(c, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}})
}

func (h *harness) publish(c ConnID, topic string, qos packet.QoS, pid uint16, payload string) {
	h.t.Helper()
	h.recv(c, &packet.Publish{Topic: topic, QoS: qos, PacketID: pid, Payload: []byte(payload)})
}

// sent returns the PUBLISH packets sent on c by the last Step.
func (h *harness) sent(c ConnID) []*packet.Publish {
	var ps []*packet.Publish
	for _, o := range h.out {
		if p, ok := o.Packet.(*packet.Publish); ok && o.Conn == c {
			ps = append(ps, p)
		}
	}
	return ps
}

// packets returns the packets of type T sent on c by the last Step.
func packets[T packet.Packet](h *harness, c ConnID) []T {
	var ps []T
	for _, o := range h.out {
		if p, ok := o.Packet.(T); ok && o.Conn == c && o.Kind == OutSend {
			ps = append(ps, p)
		}
	}
	return ps
}

// events returns the events of kind k among outs.
func events(outs []Output, k EventKind) []Event {
	var es []Event
	for _, o := range outs {
		if o.Kind == OutEvent && o.Event.Kind == k {
			es = append(es, o.Event)
		}
	}
	return es
}

// closed reports whether outs close c.
func closed(outs []Output, c ConnID) bool {
	for _, o := range outs {
		if o.Kind == OutClose && o.Conn == c {
			return true
		}
	}
	return false
}

// trace renders the last Step's outputs.
func (h *harness) trace() string {
	var b strings.Builder
	for _, o := range h.out {
		fmt.Fprintf(&b, "\n    %v", o)
	}
	return b.String()
}

// payloads returns the payloads of ps as strings.
func payloads(ps []*packet.Publish) []string {
	var s []string
	for _, p := range ps {
		s = append(s, string(p.Payload))
	}
	return s
}

// ackEverything acknowledges, from the broker's state, every copy in flight
// on every live connection, until nothing acknowledgeable is left.
func (h *harness) ackEverything() {
	h.t.Helper()
	for progress := true; progress; {
		progress = false
		for _, s := range h.b.sessionsInOrder() {
			if !s.online() {
				continue
			}
			for _, d := range append([]delivery(nil), s.inflight...) {
				if d.resend {
					continue
				}
				var ack packet.Packet = &packet.Pubcomp{PacketID: d.pid}
				if d.qos == 1 {
					ack = &packet.Puback{PacketID: d.pid}
				} else if d.state == copyWaitAck {
					ack = &packet.Pubrec{PacketID: d.pid}
				}
				h.recv(s.conn.id, ack)
				progress = true
			}
		}
	}
}
