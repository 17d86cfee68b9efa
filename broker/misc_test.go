package broker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

func TestRetryOnLiveConnection(t *testing.T) {
	h := newHarness(t, "emqx", nil) // emqx_schema: retry_interval 30s
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", 2)
	h.connect(2, "p", true, 0)
	h.publish(2, "t", 1, 1, "x")
	first := h.sent(1)[0].PacketID
	h.publish(2, "t", 2, 2, "y")
	h.at(30*time.Second - time.Nanosecond)
	if got := len(events(h.all, EvSent)); got != 2 {
		t.Fatalf("sends before the retry interval: %d, want 2", got)
	}
	h.at(30 * time.Second)
	pubs := h.sent(1)
	if len(pubs) != 2 || !pubs[0].Dup || pubs[0].PacketID != first {
		t.Fatalf("at 30s sent %v, want both re-sent with DUP, same ids", pubs)
	}
	h.recv(1, &packet.Pubrec{PacketID: pubs[1].PacketID})
	h.at(60 * time.Second)
	if rel := packets[*packet.Pubrel](h, 1); len(rel) != 1 {
		t.Errorf("at 60s PUBRELs %v, want the PUBREL re-sent", rel)
	}
}

func TestRetryForGivesUp(t *testing.T) {
	h := newHarness(t, "aws", nil) // quotas page: retried for up to one hour
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", 1)
	h.connect(2, "p", true, 0)
	h.publish(2, "t", 1, 1, "x")
	h.at(time.Hour - time.Nanosecond)
	if got := len(events(h.all, EvDropped)); got != 0 {
		t.Fatalf("dropped before RetryFor: %d", got)
	}
	h.at(time.Hour)
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonRetryExhausted {
		t.Errorf("at 1h drops %v, want retry-exhausted", d)
	}
	if n := h.b.InflightLen("s"); n != 0 {
		t.Errorf("in flight %d, want 0", n)
	}
}

// acl is an Authorizer denying by topic prefix.
type acl struct{}

func (acl) CanPublish(_, user, topic string) bool    { return !strings.HasPrefix(topic, "nopub") }
func (acl) CanSubscribe(_, user, filter string) bool { return !strings.HasPrefix(filter, "nosub") }
func (acl) CanRead(client, user, topic string) bool {
	return !(client == "blind" && strings.HasPrefix(topic, "secret"))
}

func TestAuthorizer(t *testing.T) {
	p, _ := Profile("mosquitto")
	h := newHarnessConfig(t, Config{Policy: p, Authorize: acl{}})
	h.connect(1, "s", false, 0)
	h.connect(2, "blind", false, 0)
	h.connect(3, "p", true, 0)
	h.recv(1, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "nosub/x", QoS: 1}, {Filter: "#", QoS: 1}}})
	if got := packets[*packet.Suback](h, 1)[0].ReturnCodes; got[0] != packet.SubackFailure || got[1] != 1 {
		t.Errorf("SUBACK %v, want [0x80 1]", got)
	}
	h.subscribe(2, "#", 1)
	h.publish(3, "nopub/x", 1, 1, "x")
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonNotAuthorized || len(events(h.out, EvPublished)) != 0 {
		t.Errorf("denied publish: %s", h.trace())
	}
	if len(packets[*packet.Puback](h, 3)) != 1 {
		t.Error("denied publish not acknowledged: the client would resend forever")
	}
	h.publish(3, "secret/x", 1, 2, "x")
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].ClientID != "blind" || d[0].Reason != ReasonNotAuthorized {
		t.Errorf("CanRead denial: %s", h.trace())
	}
	if got := h.sent(1); len(got) != 1 {
		t.Errorf("allowed reader got %v", got)
	}
}

func TestReusePacketsAllocatesNothingPerMessage(t *testing.T) {
	p, _ := Profile("mosquitto")
	b, _ := New(Config{Policy: p, ReusePackets: true})
	connect := func(c ConnID, id string) {
		b.Step(0, Input{Kind: InOpen, Conn: c})
		b.Step(0, Input{Kind: InPacket, Conn: c, Packet: &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id}})
	}
	connect(1, "s")
	connect(2, "p")
	b.Step(0, Input{Kind: InPacket, Conn: 1, Packet: &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}}})
	pub := &packet.Publish{Topic: "t", QoS: 1, PacketID: 1, Payload: []byte("0123456789")}
	ack := &packet.Puback{}
	round := func() {
		b.Step(0, Input{Kind: InPacket, Conn: 2, Packet: pub})
		ack.PacketID = b.Outputs()[1].Packet.(*packet.Publish).PacketID
		b.Step(0, Input{Kind: InPacket, Conn: 1, Packet: ack})
	}
	round()
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Errorf("allocs per QoS 1 round trip = %v, want 0", allocs)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{InPacket.String(), "packet"},
		{InputKind(99).String(), "input(99)"},
		{OutClose.String(), "close"},
		{EvSessionTakenOver.String(), "session-taken-over"},
		{EventKind(0).String(), "event(0)"},
		{ReasonQueueFull.String(), "queue-full"},
		{ReasonNone.String(), "none"},
		{Reason(200).String(), "reason(200)"},
		{Input{Kind: InDeadline}.String(), "deadline"},
		{Input{Kind: InLost, Conn: 3, Err: errors.New("eof")}.String(), `conn 3 lost err="eof"`},
		{Input{Kind: InPacket, Conn: 1, Packet: &packet.Puback{PacketID: 7}}.String(), "conn 1 packet PUBACK id=7"},
		{Output{Kind: OutClose, Conn: 2}.String(), "conn 2 close"},
		{Output{Kind: OutSend, Conn: 2, Packet: &packet.Pingresp{}}.String(), "conn 2 send PINGRESP"},
		{Output{Kind: OutSend, Conn: 2}.String(), "conn 2 send <nil>"},
		{Output{Kind: 9}.String(), "output(9)"},
		{Event{Kind: EvSent, At: time.Second, Conn: 1, ClientID: "s", Msg: 4, Topic: "a", QoS: 1, PacketID: 2,
			Dup: true, Stored: true, Publisher: "p"}.String(), "1s sent conn=1 c=s msg=4 topic=a q1 id=2 dup stored from=p"},
		{Event{Kind: EvRefused, ReturnCode: packet.RefusedNotAuthorized}.String(), "0s refused rc=not-authorized"},
		{Event{Kind: EvPublished, Copies: 3, Retain: true}.String(), "0s published q0 retain copies=3"},
		{Event{Kind: EvConnected, SessionPresent: true, Clean: true}.String(), "0s connected sp=true clean"},
		{Event{Kind: EvDropped, Reason: ReasonTTL}.String(), "0s dropped q0 reason=ttl"},
		{QoS2Ignore.String(), "ignore"},
		{QoS2Handling(9).String(), "qos2(9)"},
		{DropOldestQoS0First.String(), "drop-oldest-qos0-first"},
		{Overflow(-1).String(), "overflow(-1)"},
		{Invariants(0).String(), "none"},
		{AllInvariants.String(), "all"},
		{Invariants(0).With(InvTTL, InvWill).String(), "9,18"},
		{Stats{Online: 1, Offline: 2, Conns: 3, Queued: 4, Inflight: 5, Retained: 6}.String(),
			"online=1 offline=2 conns=3 queued=4 inflight=5 retained=6"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSpuriousDeadlineIsNoOp(t *testing.T) {
	h := newHarness(t, "tencent", nil)
	h.connect(1, "s", false, 60)
	before := h.b.AppendState(nil)
	if outs := h.step(Input{Kind: InDeadline}); len(outs) != 0 {
		t.Errorf("spurious deadline produced %s", h.trace())
	}
	if after := h.b.AppendState(nil); string(after) != string(before) {
		t.Error("spurious deadline changed the state")
	}
	if at, ok := h.b.NextDeadline(); !ok || at != 90*time.Second {
		t.Errorf("NextDeadline = %v, %v; want 90s (1.5 x 60s)", at, ok)
	}
}

func TestNextDeadlineTracksKeepaliveActivity(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 10)
	h.now = 10 * time.Second
	h.recv(1, &packet.Pingreq{})
	if at, ok := h.b.NextDeadline(); !ok || at != 25*time.Second {
		t.Errorf("NextDeadline = %v, %v; want 25s", at, ok)
	}
	h.recv(1, &packet.Disconnect{})
	if at, ok := h.b.NextDeadline(); ok {
		t.Errorf("NextDeadline = %v after disconnect, want none", at)
	}
}

func TestInputsForUnknownConnectionsAreIgnored(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	for _, in := range []Input{
		{Kind: InPacket, Conn: 5, Packet: &packet.Pingreq{}},
		{Kind: InLost, Conn: 5},
		{Kind: InMalformed, Conn: 5},
		{Kind: 0},
	} {
		if outs := h.step(in); len(outs) != 0 {
			t.Errorf("%v: got %s, want nothing", in, h.trace())
		}
	}
}

func TestReusedConnIDForgetsTheOldConnection(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.open(1)
	if d := events(h.out, EvDisconnected); len(d) != 1 || d[0].Reason != ReasonConnLost {
		t.Errorf("reopen: %s", h.trace())
	}
}

func TestMalformedClosesAndFiresWill(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	outs := h.step(Input{Kind: InMalformed, Conn: 1, Err: errors.New("bad length")})
	if !closed(outs, 1) || len(events(outs, EvProtocolError)) != 1 {
		t.Errorf("malformed: %s", h.trace())
	}
}

func TestPolicyAccessor(t *testing.T) {
	h := newHarness(t, "aws", nil)
	if got := h.b.Policy().Name; got != "aws" {
		t.Errorf("Policy().Name = %q", got)
	}
}

// Regression tests for core bugs found by the property suites and the checker.

func TestReplayResumesWhenAcksBeatThePacingDeadline(t *testing.T) {
	p, _ := Profile("tencent")
	h := offlineSubscriber(t, p)
	for i := 1; i <= 15; i++ {
		h.publish(2, "t", 1, uint16(i), "x")
	}
	h.connect(3, "s", false, 0)
	h.at(4500 * time.Millisecond) // ten stored sends, none acked: the window (10) is full
	if n := h.b.InflightLen("s"); n != 10 {
		t.Fatalf("in flight %d, want 10", n)
	}
	h.at(4600 * time.Millisecond) // all ten PUBACKs arrive before the next 500 ms slot
	for _, d := range append([]delivery(nil), h.b.sessions["s"].inflight...) {
		h.recv(3, &packet.Puback{PacketID: d.pid})
	}
	h.drive(3, h.now+time.Minute)
	if got := len(events(h.all, EvDelivered)); got != 15 {
		t.Errorf("delivered %d, want 15: the replay stalled", got)
	}
}

func TestPumpAfterOverflowEviction(t *testing.T) {
	h := newHarness(t, "tencent", nil) // window 10, cap 150, DropOldest
	h.connect(1, "c", false, 0)
	h.subscribe(1, "a", 1)
	for i := 1; i <= 11; i++ {
		h.publish(1, "a", 1, uint16(i), "q1") // 10 in flight, 1 queued
	}
	for i := 1; i <= 149; i++ {
		h.publish(1, "a", 0, 0, "q0") // QoS 0 waits behind the QoS 1 head, in order
	}
	if got := h.b.QueueLen("c"); got != 150 {
		t.Fatalf("queued %d, want 150", got)
	}
	h.publish(1, "a", 0, 0, "q0") // evicts the QoS 1 head: the QoS 0 copies can go
	if got := len(h.sent(1)); got != 150 {
		t.Errorf("sent %d after the eviction, want the 150 QoS 0 copies", got)
	}
}

func TestTimersDueTogetherFireInStateOrder(t *testing.T) {
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		h := newHarness(t, "tencent", nil)
		h.connect(2, "s", false, 0)
		h.subscribe(2, "a", 1)
		h.connect(1, "p", true, 0)
		h.at(delay)
		h.recv(2, &packet.Disconnect{})
		h.publish(1, "a", 1, 1, "x")
		h.at(delay + 24*time.Hour)
		var got []string
		for _, e := range h.all {
			if e.Kind == OutEvent && (e.Event.Kind == EvDropped || e.Event.Kind == EvSessionExpired) {
				got = append(got, e.Event.Kind.String()+"/"+e.Event.Reason.String())
			}
		}
		if want := []string{"dropped/ttl", "session-expired/none"}; !slices.Equal(got, want) {
			t.Errorf("delay %v: %v, want %v (TTL before expiry)", delay, got, want)
		}
	}
}

func TestRetryForOnlyWhileOnline(t *testing.T) {
	h := newHarness(t, "aws", nil)
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", 1)
	h.connect(2, "p", true, 0)
	h.publish(2, "t", 1, 1, "x")
	h.at(10 * time.Minute)
	h.lost(1)
	h.at(65 * time.Minute)
	if n := h.b.InflightLen("s"); n != 1 || len(events(h.all, EvDropped)) != 0 {
		t.Fatalf("offline past RetryFor: in flight %d, drops %v; want the copy stored (the AWS page)", n, events(h.all, EvDropped))
	}
	h.connect(3, "s", false, 0)
	if got := h.sent(3); len(got) != 1 || !got[0].Dup {
		t.Fatalf("resume sent %v, want the DUP resend", got)
	}
	if at, ok := h.b.NextDeadline(); !ok || at > h.now {
		t.Fatalf("NextDeadline = %v, %v; want the past-due give-up now", at, ok)
	}
	h.at(h.now)
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonRetryExhausted {
		t.Errorf("drops %v, want retry-exhausted once online", d)
	}
}

func TestMaxPacketSize(t *testing.T) {
	tests := []struct {
		payload int
		qos     packet.QoS
		closed  bool
	}{
		{100 - 2 - 2 - 1, 0, false}, // exactly 100 bytes: 2 header + 2 length + 1 topic + 95
		{100 - 2 - 2 - 1 + 1, 0, true},
		{100 - 2 - 2 - 1 - 2, 1, false},
		{100 - 2 - 2 - 1 - 1, 1, true},
	}
	for _, tt := range tests {
		h := newHarness(t, "mosquitto", func(p *Policy) { p.MaxPacketSize = 100 })
		h.connect(1, "p", true, 0)
		outs := h.recv(1, &packet.Publish{Topic: "t", QoS: tt.qos, PacketID: 1, Payload: make([]byte, tt.payload)})
		if got := closed(outs, 1); got != tt.closed {
			t.Errorf("payload %d q%d: closed = %v, want %v", tt.payload, tt.qos, got, tt.closed)
		}
		enc := (&packet.Publish{Topic: "t", QoS: tt.qos, PacketID: 1, Payload: make([]byte, tt.payload)}).Append(nil)
		if got := len(enc) > 100; got != tt.closed {
			t.Errorf("payload %d q%d: encoded %d bytes, test expectation wrong", tt.payload, tt.qos, len(enc))
		}
	}
}

func TestPolicyString(t *testing.T) {
	p, _ := Profile("tencent")
	got := p.String()
	for _, want := range []string{"tencent ", "MaxQoS=1", "QueueCap=150", "Overflow=drop-oldest", "ReplayInterval=500ms", "Promises=all"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Error("Policy.String is not one line")
	}
}

func TestRetainedReplayIntoFullQueuePumpsAfterEachEviction(t *testing.T) {
	h := newHarness(t, "tencent", func(p *Policy) { p.QueueCap, p.InflightWindow = 3, 2 })
	h.connect(1, "c", false, 0)
	h.subscribe(1, "a", 1)
	h.publish(1, "a", 1, 1, "m2") // retained later by the next publish; in flight
	h.recv(1, &packet.Publish{Topic: "a", QoS: 1, PacketID: 2, Retain: true, Payload: []byte("r1")})
	h.subscribe(1, "a", 1) // replays r1: the window (2) is now full
	for i, p := range []string{"q1", "x0", "y0"} {
		q := packet.QoS(1)
		if i > 0 {
			q = 0
		}
		h.recv(1, &packet.Publish{Topic: "a", QoS: q, PacketID: uint16(3 + i), Retain: true, Payload: []byte(p)})
	}
	h.recv(1, &packet.Publish{Topic: "b", QoS: 0, Retain: true, Payload: []byte("b0")})
	if got := h.b.QueueLen("c"); got != 3 {
		t.Fatalf("queued %d, want the cap 3 (q1 head blocking two QoS 0)", got)
	}
	h.all = nil
	h.recv(1, &packet.Subscribe{PacketID: 9, Subscriptions: []packet.Subscription{{Filter: "+", QoS: 0}}})
	var drops []string
	for _, e := range events(h.all, EvDropped) {
		drops = append(drops, e.Topic+"/"+e.QoS.String())
	}
	if want := []string{"a/q1"}; !slices.Equal(drops, want) {
		t.Errorf("drops %v, want only the QoS 1 head %v", drops, want)
	}
}
