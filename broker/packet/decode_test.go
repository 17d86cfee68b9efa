package packet_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

// TestDecodeOwnsMemory checks that decoded packets do not alias the input,
// so a connection's read buffer can be reused right after decoding.
func TestDecodeOwnsMemory(t *testing.T) {
	for _, f := range packettest.Golden() {
		if !f.OK() {
			continue
		}
		b := bytes.Clone(f.Bytes)
		p, _, err := packet.Decode(b, 0)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		for i := range b {
			b[i] = 0xee
		}
		if got := p.Append(nil); !bytes.Equal(got, f.Bytes) {
			t.Errorf("%v: after overwriting the input, re-encoded % x, want % x", f, got, f.Bytes)
		}
	}
}

func TestDecodeIgnoresFollowingBytes(t *testing.T) {
	a := (&packet.Puback{PacketID: 9}).Append(nil)
	p, n, err := packet.Decode(append(a, 0xff, 0xff), 0)
	if err != nil || n != len(a) || p.String() != "PUBACK id=9" {
		t.Errorf("Decode = %v, %d, %v; want PUBACK id=9, %d, nil", p, n, err, len(a))
	}
}

func TestDecodePublish(t *testing.T) {
	want := &packet.Publish{QoS: 1, PacketID: 7, Topic: "a/b", Payload: []byte("hello")}
	b := want.Append(nil)
	var got packet.Publish
	if err := packet.DecodePublish(b[0], packet.Body(b), &got); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if got.String() != want.String() || string(got.Payload) != "hello" || got.Topic != "a/b" {
		t.Errorf("got %v %q, want %v %q", &got, got.Payload, want, want.Payload)
	}
	if cap(got.Payload) != len(got.Payload) {
		t.Errorf("payload capacity %d, want %d: appending must not reach other memory", cap(got.Payload), len(got.Payload))
	}
}

func TestDecodePublishErrors(t *testing.T) {
	tests := []struct {
		name   string
		first  byte
		body   []byte
		spec   string
		offset int
	}{
		{"not a publish", 0x40, []byte{0, 1}, "", 0},
		{"qos 3", 0x36, []byte{0, 1, 'a', 0, 1}, "MQTT-3.3.1-4", 0},
		{"wildcard", 0x30, []byte{0, 1, '#'}, "MQTT-3.3.2-2", 4},
		{"packet id 0", 0x32, []byte{0, 1, 'a', 0, 0}, "MQTT-2.3.1-1", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := packet.Publish{Topic: "unchanged"}
			err := packet.DecodePublish(tt.first, tt.body, &p)
			var e *packet.Error
			if !errors.As(err, &e) || !errors.Is(err, packet.ErrMalformed) {
				t.Fatalf("got %v, want a malformed *packet.Error", err)
			}
			if e.SpecID != tt.spec || e.Offset != tt.offset {
				t.Errorf("got spec %q at %d, want %q at %d (%v)", e.SpecID, e.Offset, tt.spec, tt.offset, err)
			}
			if p.Topic != "unchanged" {
				t.Errorf("DecodePublish changed *p on error: %v", &p)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	_, _, err := packet.Decode([]byte{0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}, 0)
	want := "PUBLISH topic name at byte 6: topic name contains wildcard + [MQTT-3.3.2-2]: malformed packet"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestBody(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  []byte
	}{
		{"puback", []byte{0x40, 2, 0, 1}, []byte{0, 1}},
		{"pingreq", []byte{0xc0, 0}, []byte{}},
		{"short", []byte{0x40, 2, 0}, nil},
		{"bad header", []byte{0x41, 2, 0, 1}, nil},
	}
	for _, tt := range tests {
		if got := packet.Body(tt.frame); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: Body(% x) = % x, want % x", tt.name, tt.frame, got, tt.want)
		}
	}
}

// TestAllocs pins the allocation counts the broker's hot paths rely on.
func TestAllocs(t *testing.T) {
	pub := &packet.Publish{QoS: 1, PacketID: 7, Topic: "devices/42/telemetry", Payload: make([]byte, 64)}
	wire := pub.Append(nil)
	ack := (&packet.Puback{PacketID: 1}).Append(nil)
	buf := make([]byte, 0, 256)
	var into packet.Publish
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"Publish.Append into capacity", 0, func() { buf = pub.Append(buf[:0]) }},
		{"Connect.Append into capacity", 0, func() { buf = testConnect.Append(buf[:0]) }},
		{"Suback.Append into capacity", 0, func() { buf = (&packet.Suback{PacketID: 1, ReturnCodes: []byte{1}}).Append(buf[:0]) }},
		{"DecodePublish", 1, func() { _ = packet.DecodePublish(wire[0], packet.Body(wire), &into) }},
		{"Decode PUBLISH", 2, func() { _, _, _ = packet.Decode(wire, 0) }},
		{"Decode PUBACK", 1, func() { _, _, _ = packet.Decode(ack, 0) }},
		{"Frame", 0, func() { _, _, _ = packet.Frame(wire, false, 0) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.fn); got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}

var testConnect = &packet.Connect{
	ProtocolName: "MQTT", ProtocolLevel: 4, KeepAlive: 60, ClientID: "device-0042",
	WillFlag: true, WillQoS: 1, WillTopic: "devices/42/status", WillPayload: []byte("offline"),
	UsernameFlag: true, Username: "device-0042", PasswordFlag: true, Password: []byte("secret-token"),
}
