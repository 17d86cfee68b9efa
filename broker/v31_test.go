package broker

import (
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// connect31 is an MQTT 3.1 CONNECT (protocol name "MQIsdp", level 3).
func connect31(id string, clean bool) *packet.Connect {
	return &packet.Connect{ProtocolName: packet.ProtocolName31, ProtocolLevel: packet.ProtocolLevel31,
		ClientID: id, CleanSession: clean, KeepAlive: 60}
}

// TestMQTT31ClientIdentifier: an MQTT 3.1 client identifier is 1 to 23
// characters (MQTT V3.1 section 3.1, Client Identifier), counted as
// characters, not bytes; otherwise CONNACK 2 (Identifier Rejected) and the
// connection is closed. Unlike 3.1.1 [MQTT-3.1.3-6], an empty identifier is
// refused even with CleanSession=1.
func TestMQTT31ClientIdentifier(t *testing.T) {
	tests := []struct {
		name  string
		id    string
		clean bool
		want  packet.ReturnCode
	}{
		{"one character", "a", false, packet.Accepted},
		{"23 characters", strings.Repeat("x", 23), false, packet.Accepted},
		{"23 two-byte characters", strings.Repeat("é", 23), false, packet.Accepted},
		{"24 characters", strings.Repeat("x", 24), false, packet.RefusedIdentifierRejected},
		{"empty, persistent", "", false, packet.RefusedIdentifierRejected},
		{"empty, clean", "", true, packet.RefusedIdentifierRejected},
	}
	for _, tt := range tests {
		h := newHarness(t, "mosquitto", nil)
		h.open(1)
		outs := h.recv(1, connect31(tt.id, tt.clean))
		if got := h.connack(1); got.ReturnCode != tt.want {
			t.Errorf("%s: CONNACK = %v, want %v", tt.name, got, tt.want)
		}
		if got, want := closed(outs, 1), tt.want != packet.Accepted; got != want {
			t.Errorf("%s: closed = %v, want %v", tt.name, got, want)
		}
	}
	// The same 24-character identifier is fine under 3.1.1 [MQTT-3.1.3-5].
	h := newHarness(t, "mosquitto", nil)
	if got := h.connect(1, strings.Repeat("x", 24), false, 0); got.ReturnCode != packet.Accepted {
		t.Errorf("3.1.1 with 24 characters: CONNACK = %v, want accepted", got)
	}
}

// TestMQTT31PersistentSession: a 3.1 client's persistent session stores
// what is published while it is away and hands it over on return. Its
// CONNACK carries no session present flag (MQTT V3.1 section 3.2: that byte
// is reserved), while EvConnected still says the session was present.
func TestMQTT31PersistentSession(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.open(1)
	h.recv(1, connect31("dev31", false))
	if got := h.connack(1); got.ReturnCode != packet.Accepted || got.SessionPresent {
		t.Fatalf("first CONNACK = %v, want accepted, sp=false", got)
	}
	h.subscribe(1, "t", 1)
	h.lost(1)
	h.connect(2, "pub", true, 0)
	h.publish(2, "t", 1, 7, "while away")

	h.open(3)
	outs := h.recv(3, connect31("dev31", false))
	if got := h.connack(3); got.ReturnCode != packet.Accepted || got.SessionPresent {
		t.Errorf("returning CONNACK = %v, want accepted with sp=false (3.1 has no flag)", got)
	}
	if got := events(outs, EvConnected); len(got) != 1 || !got[0].SessionPresent {
		t.Errorf("EvConnected = %v, want one with SessionPresent", got)
	}
	if got := payloads(h.sent(3)); len(got) != 1 || got[0] != "while away" {
		t.Errorf("sent on return = %v, want [while away]", got)
	}
}
