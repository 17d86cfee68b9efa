package broker

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestPayloadBytes: PayloadBytes counts each held message's payload once,
// whatever the number of copies, and falls back to zero when every copy is
// delivered and the retained message is cleared; a clone carries it.
func TestPayloadBytes(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	for _, c := range []ConnID{1, 2} {
		h.connect(c, string(rune('a'+c)), false, 0)
		h.subscribe(c, "t/#", 1)
		h.lost(c)
	}
	h.connect(3, "pub", true, 0)
	h.publish(3, "t/1", 1, 1, "12345")    // two copies, one message
	h.publish(3, "t/2", 0, 0, "xx")       // QoS 0 to offline sessions: not stored
	h.publish(3, "u", 1, 2, "not routed") // no subscriber: released at once
	h.recv(3, &packet.Publish{Topic: "t/r", QoS: 1, PacketID: 3, Retain: true, Payload: []byte("retained")})
	if got, want := h.b.PayloadBytes(), len("12345")+len("retained"); got != want {
		t.Fatalf("PayloadBytes = %d, want %d (queued + retained, each message once)", got, want)
	}
	if got := h.b.Clone().PayloadBytes(); got != h.b.PayloadBytes() {
		t.Errorf("clone: PayloadBytes = %d, want %d", got, h.b.PayloadBytes())
	}
	h.recv(3, &packet.Publish{Topic: "t/r", QoS: 0, Retain: true}) // clears the retained message [MQTT-3.3.1-10]
	for _, c := range []ConnID{4, 5} {
		h.connect(c, string(rune('a'+c-3)), false, 0)
		h.ackAll(c)
	}
	if got := h.b.PayloadBytes(); got != 0 {
		t.Errorf("PayloadBytes after every copy was acknowledged = %d, want 0", got)
	}
}
