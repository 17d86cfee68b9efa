package broker

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// hostilePackets are packets a broken or malicious client may send; the core
// must answer each with an output (often a close), never a panic.
var hostilePackets = []packet.Packet{
	nil,
	&packet.Publish{Topic: "", QoS: 0},
	&packet.Publish{Topic: "a", QoS: 3, PacketID: 1},
	&packet.Publish{Topic: "a", QoS: 1, PacketID: 0},
	&packet.Publish{Topic: "a/#", QoS: 0},
	&packet.Publish{Topic: "a\x00b", QoS: 0},
	&packet.Subscribe{PacketID: 1},
	&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "", QoS: 9}, {Filter: "#/a", QoS: 1}}},
	&packet.Unsubscribe{PacketID: 1},
	&packet.Unsubscribe{PacketID: 1, Filters: []string{"", "#"}},
	&packet.Puback{PacketID: 0},
	&packet.Pubrec{PacketID: 65535},
	&packet.Pubrel{PacketID: 7},
	&packet.Pubcomp{PacketID: 7},
	&packet.Connack{},
	&packet.Suback{},
	&packet.Unsuback{},
	&packet.Pingresp{},
	&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "x", WillFlag: true, WillTopic: "bad/+"},
	&packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "x", WillFlag: true, WillTopic: "w", WillQoS: 3},
	&packet.Connect{ProtocolName: "", ProtocolLevel: 0},
}

func TestHostileInputsNeverPanic(t *testing.T) {
	for _, name := range ProfileNames() {
		for _, p := range hostilePackets {
			for _, connected := range []bool{false, true} {
				h := newHarness(t, name, nil)
				if connected {
					h.connect(1, "c", false, 5)
					h.subscribe(1, "#", 2)
				} else {
					h.open(1)
				}
				h.recv(1, p)
				h.recv(1, p)
				h.lost(1)
				h.advance(48 * time.Hour)
			}
		}
	}
}

// FuzzStep feeds byte-driven input sequences to a broker; the harness checks
// conservation, the queue bound, packet ids and liveness after every Step.
// The seed corpus runs with go test; run go test -fuzz=FuzzStep for more.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0, 0, 1, 3, 3, 3, 7, 9, 9, 0, 4})
	f.Add([]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 255, 128})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		name := ProfileNames()[int(data[0])%len(profileNames)]
		h := newHarness(t, name, func(p *Policy) { p.QueueCap = min(p.QueueCap, 4) })
		for i := 1; i+1 < len(data) && i < 400; i += 2 {
			op, arg := data[i], data[i+1]
			c := ConnID(arg%3 + 1)
			id := string(rune('a' + arg%3))
			switch op % 10 {
			case 0:
				h.open(c)
				h.recv(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id,
					CleanSession: arg&8 != 0, KeepAlive: uint16(arg % 4 * 10), WillFlag: arg&16 != 0, WillTopic: "w", WillQoS: packet.QoS(arg % 3)})
			case 1:
				h.recv(c, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: []string{"#", "w", "t/+", "t/1"}[arg%4], QoS: packet.QoS(arg / 4 % 3)}}})
			case 2, 3:
				q := packet.QoS(arg / 4 % 3)
				h.recv(c, &packet.Publish{Topic: []string{"w", "t/1", "t/2"}[arg%3], QoS: q, PacketID: uint16(arg) + 1, Retain: arg&32 != 0, Payload: []byte{arg}})
			case 4:
				h.recv(c, &packet.Puback{PacketID: uint16(arg % 8)})
			case 5:
				h.recv(c, &packet.Pubrec{PacketID: uint16(arg % 8)})
			case 6:
				h.recv(c, &packet.Pubcomp{PacketID: uint16(arg % 8)})
			case 7:
				h.recv(c, &packet.Pubrel{PacketID: uint16(arg) + 1})
			case 8:
				h.recv(c, hostilePackets[int(arg)%len(hostilePackets)])
			default:
				h.advance(Time(arg) * 1e9 * Time(1+int(op)%60))
			}
		}
	})
}
