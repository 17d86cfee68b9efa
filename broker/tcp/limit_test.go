package tcp

import (
	"bytes"
	"fmt"
	"log/slog"
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
// that each send half of a large PUBLISH and stall. With a limit of 512 KiB
// and ten halves of 100 kB, some connections are refused (closed, logged,
// counted) and the rest, within the limit, complete their PUBLISH once they
// send the other half. Without the limit every one would be kept.
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
	refused := n - kept
	if kept == 0 || kept*size/2 > limit {
		t.Errorf("%d connections kept their partial PUBLISH, want 1 to %d", kept, limit/(size/2))
	}
	if got, _ := metricValue(t, reg, "sessionlab_memory_refusals_total", "what", refusedPartial); int(got) != refused {
		t.Errorf("memory_refusals_total{what=partial-packet} = %v, want %d (the connections refused)", got, refused)
	}
	if got := strings.Count(logs.String(), `msg="memory limit reached: refused" what=partial-packet`); got != refused {
		t.Errorf("%d refusal log lines, want %d:\n%s", got, refused, logs.String())
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

// waitHeld waits until memory_held_bytes is want, failing after waitFor.
// Connections close asynchronously: it waits for the server to notice.
func waitHeld(t *testing.T, reg *prometheus.Registry, want float64) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got, _ := metricValue(t, reg, "sessionlab_memory_held_bytes", "", "")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory_held_bytes = %v, want %v within %v", got, want, waitFor)
		}
		time.Sleep(time.Millisecond) // polls a gauge; asserts nothing about time
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
		if ack, ok := pub.recv().(*packet.Puback); !ok || ack.PacketID != id {
			t.Fatalf("publish %d: got %v, want PUBACK", id, ack)
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
