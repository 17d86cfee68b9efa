package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// echo checks that a connected client subscribed to "echo" with QoS 0 still
// gets its own message back: the server as a whole is unharmed.
func echo(t *testing.T, c *rawClient, payload string) {
	t.Helper()
	c.send(&packet.Publish{Topic: "echo", Payload: []byte(payload)})
	p, ok := c.recv().(*packet.Publish)
	if !ok || string(p.Payload) != payload {
		t.Fatalf("echo: got %v, want PUBLISH %q", p, payload)
	}
}

// echoClient connects a client subscribed to "echo".
func echoClient(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "bystander", CleanSession: true}, packet.Accepted)
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "echo"}}})
	if ack, ok := c.recv().(*packet.Suback); !ok || !bytes.Equal(ack.ReturnCodes, []byte{0}) {
		t.Fatalf("SUBACK = %v, want granted q0", ack)
	}
	return c
}

// TestBadInputClosesOnlyThatConnection sends malformed, oversized and garbage
// input on one connection at a time; each must close that connection only
// [MQTT-4.8.0-1], and the body of an oversized packet is never awaited.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	const maxSize = 64 << 10
	_, addr, rec := startServer(t, Config{MaxPacketSize: maxSize})
	good := echoClient(t, addr)
	connect := (&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "bad", CleanSession: true}).Append(nil)
	tests := []struct {
		name      string
		connected bool   // send a valid CONNECT first
		input     []byte // then this
	}{
		{"reserved packet type 15", false, []byte{0xF0, 0x00}},
		{"reserved packet type 0", true, []byte{0x00, 0x00}},
		{"remaining length over the limit, body never sent", true, []byte{0x30, 0x80, 0x80, 0x40}},
		{"HTTP request", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"CONNECT reserved flag set [MQTT-3.1.2-3]", false, []byte{0x10, 0x0D, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 60, 0, 1, 'x'}},
		{"PUBLISH with QoS 3 [MQTT-3.3.1-4]", true, []byte{0x36, 0x05, 0, 1, 'a', 0, 1}},
		{"PUBREL with flags 0000 [MQTT-3.6.1-1]", true, []byte{0x60, 0x02, 0, 1}},
		{"SUBSCRIBE without filters [MQTT-3.8.3-3]", true, []byte{0x82, 0x02, 0, 1}},
		{"topic with U+0000 [MQTT-1.5.3-2]", true, []byte{0x30, 0x05, 0, 3, 'a', 0, 'b'}},
		{"second CONNECT [MQTT-3.1.0-2]", true, connect},
		{"first packet not CONNECT [MQTT-3.1.0-1]", false, []byte{0xC0, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := dialRaw(t, addr)
			if tt.connected {
				bad.connect(&packet.Connect{ClientID: "bad", CleanSession: true}, packet.Accepted)
			}
			bad.write(tt.input)
			got := bad.expectClosed()
			for _, p := range got {
				if _, isAck := p.(*packet.Connack); !isAck {
					t.Errorf("before closing, the server sent %v", p)
				}
			}
			echo(t, good, tt.name)
		})
	}
	if n := rec.count(kind(broker.EvDisconnected, "bystander")); n != 0 {
		t.Errorf("the bystander was disconnected %d times", n)
	}
}

// TestRemainingLength checks, through the Inputs hook, that the codec's
// verdict reaches the core as InMalformed: a remaining length with a fifth
// byte is malformed (MQTT 3.1.1 section 2.2.3), one above MaxPacketSize is
// too large, both decided from the length bytes alone.
func TestRemainingLength(t *testing.T) {
	malformed := make(chan error, 1)
	_, addr, _ := startServer(t, Config{MaxPacketSize: packet.MaxPacketSize, Observer: func(rec *broker.Record) {
		if rec.Input.Kind == broker.InMalformed {
			malformed <- rec.Input.Err
		}
	}})
	tests := []struct {
		name   string
		header []byte
		want   error
	}{
		{"fifth length byte", []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, packet.ErrMalformed},
		{"largest length, body never sent", []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.connect(&packet.Connect{ClientID: "len", CleanSession: true}, packet.Accepted)
			c.write(tt.header)
			if tt.want == nil {
				c.send(&packet.Pingreq{}) // now inside the huge PUBLISH's body: no answer
				c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if n, err := c.nc.Read(make([]byte, 1)); n != 0 || !isTimeout(err) {
					t.Errorf("read = %d, %v; want nothing: the server waits for the body", n, err)
				}
				return
			}
			c.expectClosed()
			select {
			case err := <-malformed:
				if !errors.Is(err, tt.want) {
					t.Errorf("InMalformed error = %v, want %v", err, tt.want)
				}
			case <-time.After(waitFor):
				t.Fatal("no InMalformed input")
			}
		})
	}
}

// TestConnectTimeout closes connections that send no complete packet within
// ConnectTimeout, and not before.
func TestConnectTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	_, addr, _ := startServer(t, Config{ConnectTimeout: timeout})
	partial := (&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "slow"}).Append(nil)[:6]
	tests := []struct {
		name  string
		input []byte
	}{
		{"silent", nil},
		{"half a CONNECT", partial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c := dialRaw(t, addr)
			if tt.input != nil {
				c.write(tt.input)
			}
			if got := c.expectClosed(); len(got) != 0 {
				t.Errorf("server sent %v", got)
			}
			if elapsed := time.Since(start); elapsed < timeout {
				t.Errorf("closed after %v, before the %v timeout", elapsed, timeout)
			}
		})
	}
}

// TestMaxConnections refuses connections beyond the limit and keeps serving
// those it admitted.
func TestMaxConnections(t *testing.T) {
	s, addr, _ := startServer(t, Config{MaxConnections: 2})
	first := echoClient(t, addr)
	second := dialRaw(t, addr)
	second.connect(&packet.Connect{ClientID: "second", CleanSession: true}, packet.Accepted)
	third := dialRaw(t, addr)
	third.nc.Write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "third", CleanSession: true}).Append(nil))
	if got := third.expectClosed(); len(got) != 0 {
		t.Errorf("third connection got %v, want it closed unanswered", got)
	}
	echo(t, first, "still served")
	if got := s.Connections(); got != 2 {
		t.Errorf("Connections() = %d, want 2", got)
	}
}

// TestGarbageNeverPanics throws seeded random bytes, raw and after a valid
// CONNECT, at the server over many connections; it must keep serving.
func TestGarbageNeverPanics(t *testing.T) {
	_, addr, _ := startServer(t, Config{MaxPacketSize: 4 << 10})
	good := echoClient(t, addr)
	rng := rand.New(rand.NewPCG(8, 1883))
	connect := (&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "fuzz", KeepAlive: 1}).Append(nil)
	for i := range 200 {
		junk := make([]byte, rng.IntN(300))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			junk = append(connect, junk...)
		}
		c := dialRaw(t, addr)
		c.nc.Write(junk)
		c.nc.Close()
	}
	echo(t, good, "survived")
}

// TestSlowConsumerIsLost: a subscriber that stops reading fills its bounded
// write buffer and is treated as lost, instead of growing the server's
// memory; its unacknowledged QoS 1 messages stay in its session and are
// redelivered with DUP=1, same packet ids, in order, when it comes back
// [MQTT-4.4.0-1]; the QoS 0 flood is not stored.
func TestSlowConsumerIsLost(t *testing.T) {
	_, addr, rec := startServer(t, Config{WriteBuffer: 256 << 10})
	slow := stalledSubscriber(t, addr, "slow", 1)
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true}, packet.Accepted)
	const unacked = 10
	for i := range unacked {
		pub.send(&packet.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: "bulk", Payload: []byte{byte(i)}})
		if _, ok := pub.recv().(*packet.Puback); !ok {
			t.Fatalf("message %d: no PUBACK", i)
		}
	}
	flood := &packet.Publish{Topic: "bulk", Payload: bytes.Repeat([]byte{'x'}, 64<<10)}
	sent := 0
	for ; rec.count(kind(broker.EvDisconnected, "slow")) == 0; sent++ {
		if sent == 1000 { // 64 MB
			t.Fatal("the slow consumer was not cut off after 64 MB")
		}
		pub.send(flood)
	}
	ev, _ := rec.wait(t, 0, "EvDisconnected(slow)", kind(broker.EvDisconnected, "slow"))
	if ev.Reason != broker.ReasonConnLost {
		t.Errorf("slow consumer disconnected with reason %v, want ReasonConnLost", ev.Reason)
	}
	t.Logf("cut off after %d MB of QoS 0 flood", sent/16)
	slow.expectClosed()
	pub.send(&packet.Pingreq{}) // the server handles a connection's packets in order:
	for {                       // once PINGRESP is back, the flood has been routed
		if _, ok := pub.recv().(*packet.Pingresp); ok {
			break
		}
	}

	var firstIDs []uint16 // packet ids of the first sends, from the core's events
	for _, ev := range rec.all(func(ev broker.Event) bool {
		return ev.Kind == broker.EvSent && ev.ClientID == "slow" && ev.QoS == 1 && !ev.Dup
	}) {
		firstIDs = append(firstIDs, ev.PacketID)
	}
	if len(firstIDs) != unacked {
		t.Fatalf("%d first sends of QoS 1 copies to slow, want %d", len(firstIDs), unacked)
	}
	back := dialRaw(t, addr)
	if ack := back.connect(persistent("slow"), packet.Accepted); !ack.SessionPresent {
		t.Error("SessionPresent = false after the overflow, want true [MQTT-3.2.2-2]")
	}
	for i := range unacked {
		p, ok := back.recv().(*packet.Publish)
		if !ok || p.Topic != "bulk" || len(p.Payload) != 1 {
			t.Fatalf("redelivery %d: got %v, want a stored QoS 1 PUBLISH", i, p)
		}
		if int(p.Payload[0]) != i || !p.Dup || p.PacketID != firstIDs[i] {
			t.Errorf("redelivery %d: payload %d dup=%v id=%d, want payload %d dup=true id=%d",
				i, p.Payload[0], p.Dup, p.PacketID, i, firstIDs[i])
		}
		back.send(&packet.Puback{PacketID: p.PacketID})
	}
	back.send(&packet.Pingreq{})
	if p, ok := back.recv().(*packet.Pingresp); !ok {
		t.Errorf("after the redeliveries got %v, want PINGRESP (QoS 0 flood must not be stored)", p)
	}
}

// stalledSubscriber connects a persistent session subscribed to "bulk" with
// qos, on a socket with a 4 KiB receive buffer, that reads nothing after its
// SUBACK.
func stalledSubscriber(t *testing.T, addr, clientID string, qos packet.QoS) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	c.connect(persistent(clientID), packet.Accepted)
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "bulk", QoS: qos}}})
	if _, ok := c.recv().(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	return c
}

// TestBlockedWriteTimesOut: a client that stops reading while its outbox
// is still within WriteBuffer is treated as lost once a write has waited
// WriteTimeout for room, with either reader (the event loop's writers wait
// for room through the poller's output set, the others in net.Conn.Write).
func TestBlockedWriteTimesOut(t *testing.T) {
	s, addr, rec := startServer(t, Config{WriteBuffer: 256 << 20, WriteTimeout: 300 * time.Millisecond})
	stalledSubscriber(t, addr, "stalled", 0)
	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true}, packet.Accepted)
	flood := &packet.Publish{Topic: "bulk", Payload: bytes.Repeat([]byte{'x'}, 64<<10)}
	for sent := 0; rec.count(kind(broker.EvDisconnected, "stalled")) == 0; sent++ {
		if sent == 1000 { // 64 MB, well below WriteBuffer
			t.Fatal("the stalled consumer was not cut off")
		}
		pub.send(flood)
		time.Sleep(5 * time.Millisecond) // pacing the flood so that the write timeout, not the outbox limit, cuts it off
	}
	ev, _ := rec.wait(t, 0, "EvDisconnected(stalled)", kind(broker.EvDisconnected, "stalled"))
	if ev.Reason != broker.ReasonConnLost {
		t.Errorf("stalled consumer disconnected with reason %v, want ReasonConnLost", ev.Reason)
	}
	// Its socket is closed (the kernel still sends what it holds, at the
	// pace of a 4 KiB window, so the client does not see it yet).
	for deadline := time.Now().Add(waitFor); s.Connections() > 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open %v after the timeout, want 1 (pub)", s.Connections(), waitFor)
		}
	}
}

// TestCloseEndsEveryConnection: Close returns only when every goroutine has
// ended, and closes connections in every state: not yet CONNECTed, online,
// and refused (lingering while the client keeps its side open).
func TestCloseEndsEveryConnection(t *testing.T) {
	s, addr, _ := startServer(t, Config{})
	silent := dialRaw(t, addr)
	online := echoClient(t, addr)
	refused := dialRaw(t, addr)
	refused.connect(&packet.Connect{ClientID: "", CleanSession: false}, packet.RefusedIdentifierRejected) // [MQTT-3.1.3-8]
	s.Close()
	if got := s.Connections(); got != 0 {
		t.Errorf("Connections() after Close = %d, want 0", got)
	}
	for name, c := range map[string]*rawClient{"silent": silent, "online": online, "refused": refused} {
		if _, err := c.next(); err == nil {
			t.Errorf("%s: connection still delivers packets after Close", name)
		}
	}
}

// TestFragmentedInput feeds a session's packets in pieces of seeded random
// sizes, down to one byte, including packets larger than the initial read
// buffer and than the size kept when idle: the reader must frame across
// reads, grow, shrink and compact correctly.
func TestFragmentedInput(t *testing.T) {
	_, addr, _ := startServer(t, Config{})
	big := bytes.Repeat([]byte("0123456789"), 600) // 6,000 bytes > keepRead > minReadBuffer
	var stream []byte
	stream = (&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "frag", CleanSession: true}).Append(stream)
	stream = (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "f/#", QoS: 1}}}).Append(stream)
	for i := range 5 {
		stream = (&packet.Publish{QoS: 1, PacketID: uint16(i + 2), Topic: "f/x", Payload: big[:1+i*1400]}).Append(stream)
	}
	c := dialRaw(t, addr)
	rng := rand.New(rand.NewPCG(2, 3))
	for rest := stream; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(40))
		if rng.IntN(4) == 0 {
			n = 1
		}
		c.write(rest[:n])
		rest = rest[n:]
	}
	var publishes []int
	for len(publishes) < 5 {
		if p, ok := c.recv().(*packet.Publish); ok {
			if !bytes.Equal(p.Payload, big[:len(p.Payload)]) {
				t.Fatalf("PUBLISH payload of %d bytes corrupted", len(p.Payload))
			}
			publishes = append(publishes, len(p.Payload))
			c.send(&packet.Puback{PacketID: p.PacketID})
		}
	}
	for i, got := range publishes {
		if want := 1 + i*1400; got != want {
			t.Errorf("publish %d carried %d bytes, want %d", i, got, want)
		}
	}
}
