package tcp

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// benchPair connects a QoS 1 subscriber to "b" and a publisher.
func benchPair(b *testing.B) (pub, sub *rawClient) {
	_, addr, _ := startServer(b, Config{})
	sub = dialRaw(b, addr)
	sub.connect(&packet.Connect{ClientID: "b-sub", CleanSession: true}, packet.Accepted)
	sub.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "b", QoS: 1}}})
	sub.recv()
	pub = dialRaw(b, addr)
	pub.connect(&packet.Connect{ClientID: "b-pub", CleanSession: true}, packet.Accepted)
	return pub, sub
}

// BenchmarkQoS1RoundTrip measures one QoS 1 message at a time over loopback:
// PUBLISH, routed PUBLISH received and acknowledged by the subscriber, PUBACK
// back to the publisher.
func BenchmarkQoS1RoundTrip(b *testing.B) {
	pub, sub := benchPair(b)
	msg := &packet.Publish{QoS: 1, Topic: "b", Payload: make([]byte, 64)}
	b.ResetTimer()
	for i := range b.N {
		msg.PacketID = uint16(i%65535 + 1)
		pub.send(msg)
		p := sub.recv().(*packet.Publish)
		sub.send(&packet.Puback{PacketID: p.PacketID})
		pub.recv()
	}
}
