package tcp

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// metricValue returns the value of the series name{label=value} (label may be
// empty for an unlabelled series) from reg, and false if it is absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == label && l.GetValue() == value)
			}
			if !match {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			}
		}
	}
	return 0, false
}

// TestMetrics checks the Prometheus series against a scripted history: a
// persistent subscriber goes offline, three QoS 1 and one QoS 0 messages
// arrive, then it resumes and acknowledges everything.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, rec := startServer(t, Config{Metrics: m})
	sub := dialRaw(t, addr)
	sub.connect(persistent("m-sub"), packet.Accepted)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "t", QoS: 1}}})
	sub.recv()
	sub.send(&packet.Disconnect{})
	sub.expectClosed()

	pub := dialRaw(t, addr)
	pub.connect(&packet.Connect{ClientID: "m-pub", CleanSession: true}, packet.Accepted)
	for i := range 3 {
		pub.send(&packet.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: "t", Payload: []byte{byte(i)}})
		pub.recv()
	}
	dialRaw(t, addr).connect(&packet.Connect{ClientID: "m-x", ProtocolName: "MQTT", ProtocolLevel: 3},
		packet.RefusedProtocolVersion)
	pub.send(&packet.Publish{Topic: "t", Payload: []byte("q0")}, &packet.Pingreq{})
	pub.recv() // PINGRESP: everything before it has been performed, events included

	offline := []struct {
		name, label, value string
		want               float64
	}{
		{"sessionlab_queued_messages", "", "", 3},
		{"sessionlab_sessions", "state", "offline", 1},
		{"sessionlab_sessions", "state", "online", 1}, // m-pub
		{"sessionlab_published_total", "", "", 4},
		{"sessionlab_drops_total", "reason", broker.ReasonQoS0Offline.String(), 1},
		{"sessionlab_connects_refused_total", "code", "0x01", 1},
	}
	for _, tt := range offline {
		if got, ok := metricValue(t, reg, tt.name, tt.label, tt.value); got != tt.want {
			t.Errorf("offline: %s{%s=%q} = %v (present %v), want %v", tt.name, tt.label, tt.value, got, ok, tt.want)
		}
	}

	back := dialRaw(t, addr)
	back.connect(persistent("m-sub"), packet.Accepted)
	for range 3 {
		p := back.recv().(*packet.Publish)
		back.send(&packet.Puback{PacketID: p.PacketID})
	}
	delivered := 0
	rec.wait(t, 0, "3 EvDelivered(m-sub)", func(ev broker.Event) bool {
		if ev.Kind == broker.EvDelivered && ev.ClientID == "m-sub" {
			delivered++
		}
		return delivered == 3
	})
	back.send(&packet.Pingreq{})
	back.recv() // the owner has performed everything before PINGRESP
	online := []struct {
		name, label, value string
		want               float64
	}{
		{"sessionlab_queued_messages", "", "", 0},
		{"sessionlab_sessions", "state", "offline", 0},
		{"sessionlab_sessions", "state", "online", 2},
		{"sessionlab_deliveries_total", "", "", 3},
		{"sessionlab_connections", "", "", 2},
	}
	for _, tt := range online {
		if got, ok := metricValue(t, reg, tt.name, tt.label, tt.value); got != tt.want {
			t.Errorf("resumed: %s{%s=%q} = %v (present %v), want %v", tt.name, tt.label, tt.value, got, ok, tt.want)
		}
	}
}
