package tcp

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// pahoClient is an Eclipse Paho client whose every received message,
// routed or not, lands on msgs in arrival order.
type pahoClient struct {
	mqtt.Client
	msgs chan mqtt.Message
	lost chan error
	ack  *mqtt.ConnectToken
}

// pahoOptions are the options every test client starts from: no automatic
// reconnects (tests reconnect explicitly) and one ordered message channel.
func pahoOptions(addr, clientID string, clean bool) (*mqtt.ClientOptions, chan mqtt.Message, chan error) {
	msgs := make(chan mqtt.Message, 1024)
	lost := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(30 * time.Second).SetOrderMatters(true).SetProtocolVersion(4).SetConnectTimeout(waitFor).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { msgs <- m }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	return opts, msgs, lost
}

// dialPaho connects a Paho client with opts, failing the test on error.
func dialPaho(t *testing.T, opts *mqtt.ClientOptions, msgs chan mqtt.Message, lost chan error) *pahoClient {
	t.Helper()
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", opts.ClientID, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return &pahoClient{Client: c, msgs: msgs, lost: lost, ack: tok.(*mqtt.ConnectToken)}
}

// connectPaho connects clientID with default options.
func connectPaho(t *testing.T, addr, clientID string, clean bool) *pahoClient {
	t.Helper()
	opts, msgs, lost := pahoOptions(addr, clientID, clean)
	return dialPaho(t, opts, msgs, lost)
}

// wait waits for a token, failing the test on timeout or error.
func wait(t *testing.T, what string, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

// subscribe subscribes and checks the granted QoS.
func (c *pahoClient) subscribe(t *testing.T, filter string, qos, wantGranted byte) {
	t.Helper()
	tok := c.Subscribe(filter, qos, nil)
	wait(t, "subscribe "+filter, tok)
	if got := tok.(*mqtt.SubscribeToken).Result()[filter]; got != wantGranted {
		t.Fatalf("SUBACK for %q = %#x, want %#x", filter, got, wantGranted)
	}
}

// publish publishes and waits for the flow to complete.
func (c *pahoClient) publish(t *testing.T, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	wait(t, "publish "+topic, c.Publish(topic, qos, retain, payload))
}

// next returns the next received message, failing after waitFor.
func (c *pahoClient) next(t *testing.T) mqtt.Message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(waitFor):
		t.Fatalf("no message within %v", waitFor)
		return nil
	}
}

// expect checks that the next messages have exactly these payloads, in order.
func (c *pahoClient) expect(t *testing.T, payloads ...string) {
	t.Helper()
	for i, want := range payloads {
		if got := string(c.next(t).Payload()); got != want {
			t.Fatalf("message %d = %q, want %q", i, got, want)
		}
	}
}

// marker publishes a QoS 1 message to c on a topic only c subscribes to and
// checks it is the next message c gets: nothing else was pending before it.
// This proves absence without waiting for an arbitrary time.
func (c *pahoClient) marker(t *testing.T, name string) {
	t.Helper()
	topic := "marker/" + name
	c.subscribe(t, topic, 1, 1)
	c.publish(t, topic, 1, false, "marker")
	if m := c.next(t); m.Topic() != topic {
		t.Fatalf("got %q on %q before the marker: it should not have been delivered", m.Payload(), m.Topic())
	}
}

// TestPahoPersistentSession: a persistent subscriber goes away; what is
// published meanwhile arrives, in order, when it comes back, with
// SessionPresent=1 and without subscribing again [MQTT-3.2.2-2],
// [MQTT-3.1.2-4], [MQTT-3.1.2-5], [MQTT-4.6.0-6].
func TestPahoPersistentSession(t *testing.T) {
	_, addr, _ := startServer(t, Config{})
	sub := connectPaho(t, addr, "dev-1", false)
	if sub.ack.SessionPresent() {
		t.Error("first CONNECT: SessionPresent = true, want false [MQTT-3.2.2-3]")
	}
	sub.subscribe(t, "sensors/+/t", 1, 1)
	sub.Disconnect(100)

	pub := connectPaho(t, addr, "pub", true)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprint("m", i))
		pub.publish(t, fmt.Sprintf("sensors/%d/t", i%3), 1, false, want[i])
	}
	back := connectPaho(t, addr, "dev-1", false)
	if !back.ack.SessionPresent() {
		t.Error("resume: SessionPresent = false, want true [MQTT-3.2.2-2]")
	}
	back.expect(t, want...)
	back.marker(t, "persistent")
}

// TestPahoCleanSession: CleanSession=1 discards the stored session and its
// queue, and the next persistent CONNECT finds no session [MQTT-3.1.2-6],
// [MQTT-3.2.2-1].
func TestPahoCleanSession(t *testing.T) {
	_, addr, rec := startServer(t, Config{})
	sub := connectPaho(t, addr, "dev-2", false)
	sub.subscribe(t, "cmd", 1, 1)
	sub.Disconnect(100)
	pub := connectPaho(t, addr, "pub", true)
	pub.publish(t, "cmd", 1, false, "queued")

	clean := connectPaho(t, addr, "dev-2", true)
	if clean.ack.SessionPresent() {
		t.Error("clean CONNECT: SessionPresent = true, want false [MQTT-3.2.2-1]")
	}
	clean.marker(t, "clean")
	clean.Disconnect(100)
	rec.wait(t, 0, "EvDropped(dev-2)", kind(broker.EvDropped, "dev-2"))

	again := connectPaho(t, addr, "dev-2", false)
	if again.ack.SessionPresent() {
		t.Error("persistent CONNECT after clean: SessionPresent = true, want false [MQTT-3.1.2-6]")
	}
	again.marker(t, "again")
}

// TestPahoQoS0Offline: QoS 0 messages for an offline session are stored only
// where the profile says so (mosquitto.conf(5) queue_qos0_messages=false;
// EMQX mqueue_store_qos0=true).
func TestPahoQoS0Offline(t *testing.T) {
	tests := []struct {
		profile string
		want    []string
	}{
		{"mosquitto", []string{"q1"}},
		{"hivemq", []string{"q1"}},
		{"emqx", []string{"q0", "q1"}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			policy, err := broker.Profile(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			_, addr, rec := startServer(t, Config{Broker: broker.Config{Policy: policy}})
			sub := connectPaho(t, addr, "dev-3", false)
			sub.subscribe(t, "t", 1, 1)
			sub.Disconnect(100)
			// Publish once the server has seen dev-3 go: its reading of
			// different connections is not ordered.
			rec.wait(t, 0, "EvDisconnected(dev-3)", kind(broker.EvDisconnected, "dev-3"))
			pub := connectPaho(t, addr, "pub", true)
			pub.publish(t, "t", 0, false, "q0")
			pub.publish(t, "t", 1, false, "q1")
			back := connectPaho(t, addr, "dev-3", false)
			back.expect(t, tt.want...)
			back.marker(t, "qos0")
			if len(tt.want) == 1 {
				ev, _ := rec.wait(t, 0, "EvDropped", kind(broker.EvDropped, "dev-3"))
				if ev.Reason != broker.ReasonQoS0Offline {
					t.Errorf("drop reason = %v, want ReasonQoS0Offline", ev.Reason)
				}
			}
		})
	}
}

// TestRedeliveryWithDup: a client that received QoS 1 messages without
// acknowledging them gets them again on resume, DUP=1, same packet ids, in
// the original order [MQTT-4.4.0-1], [MQTT-3.3.1-1].
func TestRedeliveryWithDup(t *testing.T) {
	_, addr, _ := startServer(t, Config{})
	c := dialRaw(t, addr)
	c.connect(persistent("dev-4"), packet.Accepted)
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	c.recv()
	pub := connectPaho(t, addr, "pub", true)
	var first []*packet.Publish
	for i := range 3 {
		pub.publish(t, "t", 1, false, fmt.Sprint("m", i))
		p, ok := c.recv().(*packet.Publish)
		if !ok || p.Dup {
			t.Fatalf("first send %d = %v, want PUBLISH without DUP", i, p)
		}
		first = append(first, p)
	}
	c.nc.Close() // no PUBACK, no DISCONNECT

	back := dialRaw(t, addr)
	if ack := back.connect(persistent("dev-4"), packet.Accepted); !ack.SessionPresent {
		t.Error("SessionPresent = false, want true")
	}
	for i, want := range first {
		got, ok := back.recv().(*packet.Publish)
		if !ok || !got.Dup || got.PacketID != want.PacketID || string(got.Payload) != string(want.Payload) {
			t.Errorf("redelivery %d = %v, want %q again with DUP=1 id=%d", i, got, want.Payload, want.PacketID)
		}
	}
}

// TestPahoTakeover: a second connection with the same ClientId takes over
// the session and the first is closed [MQTT-3.1.4-2].
func TestPahoTakeover(t *testing.T) {
	_, addr, rec := startServer(t, Config{})
	first := connectPaho(t, addr, "dev-5", false)
	first.subscribe(t, "t", 1, 1)
	second := connectPaho(t, addr, "dev-5", false)
	if !second.ack.SessionPresent() {
		t.Error("takeover: SessionPresent = false, want true")
	}
	select {
	case <-first.lost:
	case <-time.After(waitFor):
		t.Fatal("the first connection was not closed on takeover")
	}
	rec.wait(t, 0, "EvSessionTakenOver", kind(broker.EvSessionTakenOver, "dev-5"))
	pub := connectPaho(t, addr, "pub", true)
	pub.publish(t, "t", 1, false, "to the new connection")
	second.expect(t, "to the new connection")
}

// TestPahoRetained: a new subscriber gets the retained message with RETAIN=1
// [MQTT-3.3.1-6]; live forwarding clears RETAIN [MQTT-3.3.1-9]; an empty
// retained payload clears it [MQTT-3.3.1-10].
func TestPahoRetained(t *testing.T) {
	_, addr, _ := startServer(t, Config{})
	pub := connectPaho(t, addr, "pub", true)
	pub.publish(t, "state/lamp", 1, true, "on")

	sub := connectPaho(t, addr, "sub", true)
	sub.subscribe(t, "state/#", 1, 1)
	if m := sub.next(t); string(m.Payload()) != "on" || !m.Retained() {
		t.Errorf("on subscribe got %q retained=%v, want \"on\" retained=true", m.Payload(), m.Retained())
	}
	pub.publish(t, "state/lamp", 1, true, "off")
	if m := sub.next(t); string(m.Payload()) != "off" || m.Retained() {
		t.Errorf("live got %q retained=%v, want \"off\" retained=false", m.Payload(), m.Retained())
	}
	pub.publish(t, "state/lamp", 1, true, "")
	sub.next(t) // the clearing message itself, forwarded live

	late := connectPaho(t, addr, "late", true)
	late.subscribe(t, "state/#", 1, 1)
	late.marker(t, "retained-cleared")
}

// TestWill: silence past 1.5 x keepalive closes the connection and publishes
// its Will [MQTT-3.1.2-24], [MQTT-3.1.2-8], not earlier; a DISCONNECT
// discards the Will [MQTT-3.14.4-3].
func TestWill(t *testing.T) {
	_, addr, rec := startServer(t, Config{})
	watcher := connectPaho(t, addr, "watcher", true)
	watcher.subscribe(t, "wills/#", 1, 1)

	polite := dialRaw(t, addr)
	polite.connect(&packet.Connect{ClientID: "polite", CleanSession: true, KeepAlive: 60,
		WillFlag: true, WillQoS: 1, WillTopic: "wills/polite", WillPayload: []byte("gone")}, packet.Accepted)
	polite.send(&packet.Disconnect{})
	polite.expectClosed()
	watcher.marker(t, "no-will")

	start := time.Now()
	silent := dialRaw(t, addr)
	silent.connect(&packet.Connect{ClientID: "silent", CleanSession: false, KeepAlive: 1,
		WillFlag: true, WillQoS: 1, WillTopic: "wills/silent", WillPayload: []byte("gone")}, packet.Accepted)
	silent.expectClosed()
	if elapsed := time.Since(start); elapsed < 1500*time.Millisecond {
		t.Errorf("closed after %v of silence, want at least 1.5 x keepalive = 1.5s", elapsed)
	}
	if m := watcher.next(t); m.Topic() != "wills/silent" || string(m.Payload()) != "gone" {
		t.Errorf("got %q on %q, want the Will \"gone\" on wills/silent", m.Payload(), m.Topic())
	}
	ev, _ := rec.wait(t, 0, "EvDisconnected(silent)", kind(broker.EvDisconnected, "silent"))
	if ev.Reason != broker.ReasonKeepalive {
		t.Errorf("disconnect reason = %v, want ReasonKeepalive", ev.Reason)
	}
}

// TestTencentCapAndPacing: under the tencent profile an offline session
// keeps at most 150 messages and stored messages are replayed one per 500 ms
// ("sends the stored QoS 1 messages sequentially at 500 ms intervals ... Up
// to 150 messages can be stored", Tencent Cloud IoT Hub, "MQTT Persistent Session"). Only lower bounds on the gaps are
// asserted: the core's send times exactly, the client's arrival times with
// 100 ms allowance for scheduling jitter between two deliveries.
func TestTencentCapAndPacing(t *testing.T) {
	policy, addr, rec := storedWhileAway(t, "tencent", "dev-6", func(p broker.Policy) int { return p.QueueCap + 5 })
	back := connectPaho(t, addr, "dev-6", false)
	var arrivals []time.Time
	for i := range 3 {
		// The tencent profile's victim is the oldest (broker/profile.go), so
		// the replay starts with m5.
		if m, want := back.next(t), fmt.Sprint("m", 5+i); string(m.Payload()) != want {
			t.Errorf("stored message %d = %q, want %q", i, m.Payload(), want)
		}
		arrivals = append(arrivals, time.Now())
	}
	// The publishes' events were all performed before the first replayed
	// message was written, so the drops are all recorded by now.
	drops := rec.all(kind(broker.EvDropped, "dev-6"))
	if len(drops) != 5 {
		t.Fatalf("%d drops for dev-6, want 5 (cap %d)", len(drops), policy.QueueCap)
	}
	for _, d := range drops {
		if d.Reason != broker.ReasonQueueFull {
			t.Errorf("drop reason = %v, want ReasonQueueFull", d.Reason)
		}
	}

	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < policy.ReplayInterval-100*time.Millisecond {
			t.Errorf("client saw stored messages %d and %d %v apart, want about %v or more", i-1, i, gap, policy.ReplayInterval)
		}
	}
	coreSpacesStoredSends(t, rec, "dev-6", len(arrivals), policy.ReplayInterval)
}

// TestAWSPacingAsAClientMeasuresIt: under the aws profile a client that
// resumes a session with 30 stored messages never receives more than 10 in
// any one second ("sent at a maximum rate of 10 messages per second", AWS
// IoT Core, "MQTT persistent sessions"): the core spaces them at least
// 100 ms apart (asserted exactly on its send times), and the client's own
// arrival times are held to the rule with allowance for scheduling jitter
// on a loaded machine: consecutive arrivals at least half the spacing
// apart (bursts of 10, as the profile once sent them, fail here), and at
// most 10 in any 980 ms.
func TestAWSPacingAsAClientMeasuresIt(t *testing.T) {
	const stored = 30
	policy, addr, rec := storedWhileAway(t, "aws", "dev-aws", func(broker.Policy) int { return stored })
	back := connectPaho(t, addr, "dev-aws", false)
	arrivals := make([]time.Time, 0, stored)
	for i := range stored {
		if m, want := back.next(t), fmt.Sprint("m", i); string(m.Payload()) != want {
			t.Errorf("stored message %d = %q, want %q", i, m.Payload(), want)
		}
		arrivals = append(arrivals, time.Now())
	}
	const jitter = 20 * time.Millisecond
	spacing := time.Second / time.Duration(policy.ReplayRate)
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < spacing/2 {
			t.Errorf("client received stored messages %d and %d %v apart, want about %v or more", i-1, i, gap, spacing)
		}
	}
	const window = time.Second - jitter
	for i := range arrivals {
		n := 0
		for j := i; j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < window; j++ {
			n++
		}
		if n > policy.ReplayRate {
			t.Errorf("client received %d stored messages within %v of message %d, want at most %d", n, window, i, policy.ReplayRate)
		}
	}
	coreSpacesStoredSends(t, rec, "dev-aws", stored, spacing)
}

// storedWhileAway starts a server under the named profile, gives client id
// a persistent session subscribed to "t" and takes it offline, then
// publishes count(policy) QoS 1 messages "m0", "m1", ... for it to find.
func storedWhileAway(t *testing.T, profile, id string, count func(broker.Policy) int) (broker.Policy, string, *recorder) {
	t.Helper()
	policy, err := broker.Profile(profile)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, rec := startServer(t, Config{Broker: broker.Config{Policy: policy}})
	sub := connectPaho(t, addr, id, false)
	sub.subscribe(t, "t", 1, 1)
	sub.Disconnect(100)
	rec.wait(t, 0, "EvDisconnected("+id+")", kind(broker.EvDisconnected, id))
	pub := connectPaho(t, addr, "pub", true)
	for i := range count(policy) {
		pub.publish(t, "t", 1, false, fmt.Sprint("m", i))
	}
	return policy, addr, rec
}

// coreSpacesStoredSends waits for the core's first n stored EvSent to id and
// checks that they were sent at least spacing apart (exact: the core's own
// times).
func coreSpacesStoredSends(t *testing.T, rec *recorder, id string, n int, spacing time.Duration) {
	t.Helper()
	storedSend := func(ev broker.Event) bool { return ev.Kind == broker.EvSent && ev.ClientID == id && ev.Stored }
	seen := 0
	rec.wait(t, 0, "the stored EvSents", func(ev broker.Event) bool {
		if storedSend(ev) {
			seen++
		}
		return seen == n
	})
	sent := rec.all(storedSend)
	for i := 1; i < len(sent); i++ {
		if gap := sent[i].At - sent[i-1].At; gap < spacing {
			t.Errorf("core sent stored messages %d and %d %v apart, want >= %v", i-1, i, gap, spacing)
		}
	}
}
