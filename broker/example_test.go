package broker_test

import (
	"fmt"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Example shows the driver loop: one input with the current time, then the
// step record's outputs, then NextDeadline. A persistent subscriber goes offline, a message
// is stored for it, and it is delivered when the session resumes.
func Example() {
	policy, _ := broker.Profile("mosquitto")
	b, err := broker.New(broker.Config{Policy: policy})
	if err != nil {
		panic(err)
	}
	step := func(now broker.Time, in broker.Input) {
		rec := b.Step(now, in)
		for _, out := range rec.Outputs {
			if out.Kind == broker.OutSend || out.Kind == broker.OutClose {
				fmt.Println(out)
			}
		}
	}
	connect := func(c broker.ConnID, id string) {
		step(0, broker.Input{Kind: broker.InOpen, Conn: c})
		step(0, broker.Input{Kind: broker.InPacket, Conn: c, Packet: &packet.Connect{
			ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id, KeepAlive: 30}})
	}
	connect(1, "sensor")
	step(0, broker.Input{Kind: broker.InPacket, Conn: 1, Packet: &packet.Subscribe{
		PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "cmd/#", QoS: 1}}}})
	step(0, broker.Input{Kind: broker.InLost, Conn: 1})
	connect(2, "controller")
	step(0, broker.Input{Kind: broker.InPacket, Conn: 2, Packet: &packet.Publish{
		Topic: "cmd/reboot", QoS: 1, PacketID: 9, Payload: []byte("now")}})
	connect(3, "sensor")
	if t, ok := b.NextDeadline(); ok {
		fmt.Println("next deadline:", t)
	}
	// Output:
	// conn 1 send CONNACK sp=false accepted
	// conn 1 send SUBACK id=1 [1]
	// conn 2 send CONNACK sp=false accepted
	// conn 2 send PUBACK id=9
	// conn 3 send CONNACK sp=true accepted
	// conn 3 send PUBLISH q1 id=1 topic="cmd/reboot" payload=3B
	// next deadline: 45s
}
