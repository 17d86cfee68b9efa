package tcp

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// limitServer serves with a memory limit, metrics and a log buffer.
func limitServer(t *testing.T, limit int64) (addr string, reg *prometheus.Registry, logs *logBuffer) {
	t.Helper()
	reg = prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs = &logBuffer{}
	_, addr, _ = startServer(t, Config{MemoryLimit: limit, Metrics: m, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return addr, reg, logs
}

// TestMemoryLimitPartialPackets is the repro in small: connections
// that each send half of a 200 kB PUBLISH and stall. Under a 512 KiB limit
// a connection reserves its whole packet (the size is in the fixed header)
// once its buffer grows; those that do not fit are refused at once (closed,
// logged, counted). The others complete their PUBLISH when they send the
// other half, and closing gives their bytes back. Without the limit none
// would be refused.
func TestMemoryLimitPartialPackets(t *testing.T) {
	const limit, n, size = 512 << 10, 10, 200_000
	addr, reg, logs := limitServer(t, limit)
	publish := (&packet.Publish{Topic: "big", QoS: 1, PacketID: 1, Payload: bytes.Repeat([]byte{'x'}, size)}).Append(nil)
	clients := make([]*rawClient, n)
	for i := range clients { // all connected first: at the limit, new connections are refused
		clients[i] = dialRaw(t, addr)
		clients[i].connect(&packet.Connect{ClientID: fmt.Sprint("half-", i), CleanSession: true}, packet.Accepted)
	}
	for _, c := range clients {
		c.write(publish[:len(publish)/2]) // and stall
	}
	// Wait until the server has read every half: each connection has
	// either reserved its whole packet or been refused.
	total := float64(len(publish))
	var held, refused float64
	waitMetrics(t, reg, func() bool {
		held, _ = metricValue(t, reg, "sessionlab_memory_held_bytes", "", "")
		refused, _ = metricValue(t, reg, "sessionlab_memory_refusals_total", "what", refusedPartial)
		return math.Mod(held, total) == 0 && held/total+refused == n
	})
	reserved := int(held / total)
	if reserved == 0 || held > limit || refused == 0 {
		t.Fatalf("%d connections reserved %v bytes, %v refused; want 1 to %d within the %d-byte limit, the rest refused",
			reserved, held, refused, int(limit/total), limit)
	}
	if got := strings.Count(logs.String(), `msg="memory limit reached: refused" what=partial-packet`); got != int(refused) {
		t.Errorf("%d refusal log lines, want %v:\n%s", got, refused, logs.String())
	}
	kept := 0
	for i, c := range clients {
		c.nc.Write(publish[len(publish)/2:]) // fails on a connection already closed
		p, err := c.next()
		if err != nil {
			continue // refused
		}
		if ack, ok := p.(*packet.Puback); !ok || ack.PacketID != 1 {
			t.Errorf("client %d: got %v, want PUBACK 1", i, p)
		}
		kept++
	}
	if kept != reserved {
		t.Errorf("%d connections completed their PUBLISH, want the %d that reserved it", kept, reserved)
	}
	for _, c := range clients {
		c.nc.Close()
	}
	// Closing gives the buffers back: a new large packet fits again.
	waitHeld(t, reg, 0)
	c := dialRaw(t, addr)
	c.connect(&packet.Connect{ClientID: "after", CleanSession: true}, packet.Accepted)
	c.write(publish)
	if ack, ok := c.recv().(*packet.Puback); !ok || ack.PacketID != 1 {
		t.Errorf("after the stalled connections closed: got %v, want PUBACK", ack)
	}
}

// waitHeld waits until memory_held_bytes is want.
func waitHeld(t *testing.T, reg *prometheus.Registry, want float64) {
	t.Helper()
	waitMetrics(t, reg, func() bool {
		got, _ := metricValue(t, reg, "sessionlab_memory_held_bytes", "", "")
		return got == want
	})
}

// waitMetrics waits until cond holds, failing after waitFor. The server
// reads and closes connections asynchronously: it waits for it to.
func waitMetrics(t *testing.T, reg *prometheus.Registry, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			g, _ := reg.Gather()
			t.Fatalf("metrics not as expected within %v: %v", waitFor, g)
		}
		time.Sleep(time.Millisecond) // polls the metrics; asserts nothing about time
	}
}

// TestMemoryLimitPayloads: payloads the core holds count too. A subscriber
// that does not acknowledge keeps four 4 kB messages in flight; the fifth
// PUBLISH would cross the 16 kB limit, so it is dropped and its publisher
// disconnected (as Mosquitto's memory_limit does), and a new connection is
// refused while the limit is reached. Once the subscriber acknowledges, the
// payloads are released and connections are accepted again.
func TestMemoryLimitPayloads(t *testing.T) {
	const size = 4000 // below keepRead: no read buffer is counted
	addr, reg, logs := limitServer(t, 4*size)
	sub := dialRaw(t, addr)
	sub.connect(persistent("slow"), packet.Accepted)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	sub.recv()

	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "pub", CleanSession: true}, packet.Accepted)
	payload := bytes.Repeat([]byte{'p'}, size)
	for id := uint16(1); id <= 4; id++ {
		pub.send(&packet.Publish{Topic: "t", QoS: 1, PacketID: id, Payload: payload})
		p, err := pub.next()
		if ack, ok := p.(*packet.Puback); err != nil || !ok || ack.PacketID != id {
			t.Fatalf("publish %d: got %v, %v; want PUBACK\n%s", id, p, err, logs.String())
		}
	}
	pub.send(&packet.Publish{Topic: "t", QoS: 1, PacketID: 5, Payload: payload})
	if got := pub.expectClosed(); len(got) != 0 {
		t.Errorf("publish over the limit: got %v, want the connection closed without PUBACK", got)
	}
	if got, _ := metricValue(t, reg, "sessionlab_memory_refusals_total", "what", refusedPublish); got != 1 {
		t.Errorf("memory_refusals_total{what=publish} = %v, want 1", got)
	}
	if got, _ := metricValue(t, reg, "sessionlab_memory_held_bytes", "", ""); got != 4*size {
		t.Errorf("memory_held_bytes = %v, want %d", got, 4*size)
	}
	late := dialRaw(t, addr)
	late.nc.Write((&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "late", CleanSession: true}).Append(nil))
	if got := late.expectClosed(); len(got) != 0 {
		t.Errorf("new connection at the limit: got %v, want it closed", got)
	}
	if !strings.Contains(logs.String(), "what=connection") || !strings.Contains(logs.String(), "what=publish") {
		t.Errorf("logs lack the refusals:\n%s", logs.String())
	}

	for range 4 {
		p, ok := sub.recv().(*packet.Publish)
		if !ok {
			t.Fatalf("subscriber got %v, want PUBLISH", p)
		}
		sub.send(&packet.Puback{PacketID: p.PacketID})
	}
	waitHeld(t, reg, 0)
	dialRaw(t, addr).connect(&packet.Connect{ClientID: "later", CleanSession: true}, packet.Accepted)
}
