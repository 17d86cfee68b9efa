package packettest

import (
	"strings"

	"pgregory.net/rapid"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// levelRune draws characters for topic levels: mostly a small alphabet so
// that filters and topics collide often, sometimes any valid rune except
// U+0000, '/', '+' and '#'.
var levelRune = rapid.OneOf(
	rapid.SampledFrom([]rune("abcxyz019-_ $€")),
	rapid.Rune().Filter(func(r rune) bool { return r != 0 && r != '/' && r != '+' && r != '#' }),
)

// level draws one topic level, possibly empty.
var level = rapid.StringOfN(levelRune, 0, 4, -1)

// anyString draws a valid MQTT UTF-8 string: no U+0000 [MQTT-1.5.3-2].
var anyString = rapid.StringOfN(rapid.Rune().Filter(func(r rune) bool { return r != 0 }), 0, 12, -1)

// TopicName returns a generator of valid topic names (see
// packet.ValidTopicName): one to four levels, never empty.
func TopicName() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		s := strings.Join(rapid.SliceOfN(level, 1, 4).Draw(t, "levels"), "/")
		if s == "" {
			s = "t"
		}
		return s
	})
}

// TopicFilter returns a generator of valid topic filters (see
// packet.ValidTopicFilter): levels that are plain or '+', and possibly a
// final '#'.
func TopicFilter() *rapid.Generator[string] {
	filterLevel := rapid.OneOf(level, rapid.Just("+"))
	return rapid.Custom(func(t *rapid.T) string {
		levels := rapid.SliceOfN(filterLevel, 0, 4).Draw(t, "levels")
		if len(levels) == 0 || rapid.Bool().Draw(t, "hash") {
			levels = append(levels, "#")
		}
		if s := strings.Join(levels, "/"); s != "" {
			return s
		}
		return "#"
	})
}

var (
	qos        = rapid.Map(rapid.IntRange(0, 2), func(q int) packet.QoS { return packet.QoS(q) })
	packetID   = rapid.Uint16Range(1, 65535)
	smallBytes = rapid.SliceOfN(rapid.Byte(), 0, 16)
)

// Publish returns a generator of valid PUBLISH packets: packet id non-zero
// exactly when QoS > 0 [MQTT-2.3.1-1], DUP only with QoS > 0 [MQTT-3.3.1-2].
func Publish() *rapid.Generator[*packet.Publish] {
	return rapid.Custom(func(t *rapid.T) *packet.Publish {
		p := &packet.Publish{
			QoS:     qos.Draw(t, "qos"),
			Retain:  rapid.Bool().Draw(t, "retain"),
			Topic:   TopicName().Draw(t, "topic"),
			Payload: rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "payload"),
		}
		if p.QoS > 0 {
			p.Dup = rapid.Bool().Draw(t, "dup")
			p.PacketID = packetID.Draw(t, "id")
		}
		return p
	})
}

// Connect returns a generator of valid CONNECT packets, mostly MQTT 3.1.1
// with consistent flags [MQTT-3.1.2-11..13], [MQTT-3.1.2-22], sometimes
// MQTT 3.1 ("MQIsdp", level 3) with the same rules, sometimes another
// protocol level with opaque Rest bytes.
func Connect() *rapid.Generator[*packet.Connect] {
	return rapid.Custom(func(t *rapid.T) *packet.Connect {
		p := &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4}
		switch rapid.IntRange(0, 9).Draw(t, "protocol") {
		case 0:
			p.ProtocolName = rapid.SampledFrom([]string{"MQTT", "MQIsdp"}).Draw(t, "proto")
			p.ProtocolLevel = rapid.SampledFrom([]byte{5, 255}).Draw(t, "level")
			if p.ProtocolName == "MQTT" && rapid.Bool().Draw(t, "mqtt3") {
				p.ProtocolLevel = 3
			}
			p.Rest = rapid.SliceOfN(rapid.Byte(), 1, 16).Draw(t, "rest")
			return p
		case 1:
			p.ProtocolName, p.ProtocolLevel = packet.ProtocolName31, packet.ProtocolLevel31
		}
		p.CleanSession = rapid.Bool().Draw(t, "clean")
		p.KeepAlive = rapid.Uint16().Draw(t, "keepalive")
		p.ClientID = anyString.Draw(t, "clientid")
		if p.WillFlag = rapid.Bool().Draw(t, "will"); p.WillFlag {
			p.WillQoS = qos.Draw(t, "willqos")
			p.WillRetain = rapid.Bool().Draw(t, "willretain")
			p.WillTopic = TopicName().Draw(t, "willtopic")
			p.WillPayload = smallBytes.Draw(t, "willpayload")
		}
		if p.UsernameFlag = rapid.Bool().Draw(t, "user"); p.UsernameFlag {
			p.Username = anyString.Draw(t, "username")
			if p.PasswordFlag = rapid.Bool().Draw(t, "pass"); p.PasswordFlag {
				p.Password = smallBytes.Draw(t, "password")
			}
		}
		return p
	})
}

// Connack returns a generator of valid CONNACK packets: session present
// only with return code 0 [MQTT-3.2.2-4].
func Connack() *rapid.Generator[*packet.Connack] {
	return rapid.Custom(func(t *rapid.T) *packet.Connack {
		p := &packet.Connack{ReturnCode: packet.ReturnCode(rapid.IntRange(0, 5).Draw(t, "rc"))}
		p.SessionPresent = p.ReturnCode == packet.Accepted && rapid.Bool().Draw(t, "sp")
		return p
	})
}

// Subscribe returns a generator of valid SUBSCRIBE packets with one to four
// subscriptions [MQTT-3.8.3-3].
func Subscribe() *rapid.Generator[*packet.Subscribe] {
	sub := rapid.Custom(func(t *rapid.T) packet.Subscription {
		return packet.Subscription{Filter: TopicFilter().Draw(t, "filter"), QoS: qos.Draw(t, "qos")}
	})
	return rapid.Custom(func(t *rapid.T) *packet.Subscribe {
		return &packet.Subscribe{PacketID: packetID.Draw(t, "id"), Subscriptions: rapid.SliceOfN(sub, 1, 4).Draw(t, "subs")}
	})
}

// Suback returns a generator of valid SUBACK packets with one to four
// return codes, each 0, 1, 2 or 0x80 [MQTT-3.9.3-2].
func Suback() *rapid.Generator[*packet.Suback] {
	code := rapid.SampledFrom([]byte{0, 1, 2, packet.SubackFailure})
	return rapid.Custom(func(t *rapid.T) *packet.Suback {
		return &packet.Suback{PacketID: packetID.Draw(t, "id"), ReturnCodes: rapid.SliceOfN(code, 1, 4).Draw(t, "codes")}
	})
}

// Unsubscribe returns a generator of valid UNSUBSCRIBE packets with one to
// four filters [MQTT-3.10.3-2].
func Unsubscribe() *rapid.Generator[*packet.Unsubscribe] {
	return rapid.Custom(func(t *rapid.T) *packet.Unsubscribe {
		return &packet.Unsubscribe{PacketID: packetID.Draw(t, "id"), Filters: rapid.SliceOfN(TopicFilter(), 1, 4).Draw(t, "filters")}
	})
}

// Gen returns a generator of valid packets of all fourteen types, each of
// which Decode accepts and re-encodes to the same bytes.
func Gen() *rapid.Generator[packet.Packet] {
	id := func(mk func(uint16) packet.Packet) *rapid.Generator[packet.Packet] {
		return rapid.Map(packetID, mk)
	}
	return rapid.OneOf(
		asPacket(Connect()), asPacket(Connack()), asPacket(Publish()),
		id(func(i uint16) packet.Packet { return &packet.Puback{PacketID: i} }),
		id(func(i uint16) packet.Packet { return &packet.Pubrec{PacketID: i} }),
		id(func(i uint16) packet.Packet { return &packet.Pubrel{PacketID: i} }),
		id(func(i uint16) packet.Packet { return &packet.Pubcomp{PacketID: i} }),
		asPacket(Subscribe()), asPacket(Suback()), asPacket(Unsubscribe()),
		id(func(i uint16) packet.Packet { return &packet.Unsuback{PacketID: i} }),
		rapid.Just[packet.Packet](&packet.Pingreq{}),
		rapid.Just[packet.Packet](&packet.Pingresp{}),
		rapid.Just[packet.Packet](&packet.Disconnect{}),
	)
}

func asPacket[P packet.Packet](g *rapid.Generator[P]) *rapid.Generator[packet.Packet] {
	return rapid.Map(g, func(p P) packet.Packet { return p })
}
