package packet_test

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

func benchPublish() *packet.Publish {
	return &packet.Publish{QoS: 1, PacketID: 7, Topic: "devices/42/telemetry", Payload: make([]byte, 64)}
}

func BenchmarkEncodePublishQoS1(b *testing.B) {
	p := benchPublish()
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Append(nil))))
	for b.Loop() {
		buf = p.Append(buf[:0])
	}
}

// BenchmarkDecodePublishQoS1 measures the hot path: DecodePublish into a
// reused *Publish, one allocation for the copied body.
func BenchmarkDecodePublishQoS1(b *testing.B) {
	wire := benchPublish().Append(nil)
	body := packet.Body(wire)
	var p packet.Publish
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if err := packet.DecodePublish(wire[0], body, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGenericPublishQoS1 measures Decode on the same packet:
// Frame, the header, one more allocation for the struct.
func BenchmarkDecodeGenericPublishQoS1(b *testing.B) {
	wire := benchPublish().Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, _, err := packet.Decode(wire, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeConnect(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = testConnect.Append(buf[:0])
	}
}

func BenchmarkDecodeConnect(b *testing.B) {
	wire := testConnect.Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, _, err := packet.Decode(wire, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		packet.Match("devices/+/telemetry/#", "devices/42/telemetry/temp")
	}
}
