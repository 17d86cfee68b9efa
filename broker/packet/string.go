package packet

import (
	"strconv"
	"strings"
)

var typeNames = [16]string{"RESERVED0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED15"}

// String returns the packet type's name as the specification spells it,
// e.g. "PUBLISH"; reserved values print as "RESERVED0" and "RESERVED15".
func (t Type) String() string {
	if t < 16 {
		return typeNames[t]
	}
	return "TYPE(" + strconv.Itoa(int(t)) + ")"
}

// String returns "q0", "q1", "q2" (or "q3" and up for invalid values).
func (q QoS) String() string { return "q" + strconv.Itoa(int(q)) }

var returnCodeNames = [...]string{"accepted", "unacceptable-protocol-version", "identifier-rejected",
	"server-unavailable", "bad-username-or-password", "not-authorized"}

// String returns the return code's meaning in kebab case, e.g.
// "identifier-rejected", or its hex value if reserved.
func (c ReturnCode) String() string {
	if int(c) < len(returnCodeNames) {
		return returnCodeNames[c]
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

func flag(b *strings.Builder, on bool, name string) {
	if on {
		b.WriteString(" " + name)
	}
}

// String describes the CONNECT on one line, e.g.
// `CONNECT "dev-1" clean=false ka=60 will=q1:"t" user="u" pass=3B`.
func (p *Connect) String() string {
	var b strings.Builder
	b.WriteString("CONNECT ")
	if !p.Supported() {
		b.WriteString("proto=" + strconv.Quote(p.ProtocolName) + "/" + strconv.Itoa(int(p.ProtocolLevel)) +
			" rest=" + strconv.Itoa(len(p.Rest)) + "B")
		return b.String()
	}
	if p.V31() {
		b.WriteString("v3.1 ")
	}
	b.WriteString(strconv.Quote(p.ClientID) + " clean=" + strconv.FormatBool(p.CleanSession) +
		" ka=" + strconv.Itoa(int(p.KeepAlive)))
	if p.WillFlag {
		b.WriteString(" will=" + p.WillQoS.String() + ":" + strconv.Quote(p.WillTopic) +
			"/" + strconv.Itoa(len(p.WillPayload)) + "B")
		flag(&b, p.WillRetain, "will-retain")
	}
	if p.UsernameFlag {
		b.WriteString(" user=" + strconv.Quote(p.Username))
	}
	if p.PasswordFlag {
		b.WriteString(" pass=" + strconv.Itoa(len(p.Password)) + "B")
	}
	return b.String()
}

// String describes the CONNACK on one line, e.g. `CONNACK sp=true accepted`.
func (p *Connack) String() string {
	return "CONNACK sp=" + strconv.FormatBool(p.SessionPresent) + " " + p.ReturnCode.String()
}

// String describes the PUBLISH on one line, e.g.
// `PUBLISH q1 id=7 dup retain topic="a/b" payload=64B`.
func (p *Publish) String() string {
	var b strings.Builder
	b.WriteString("PUBLISH " + p.QoS.String())
	if p.QoS > 0 {
		b.WriteString(" id=" + strconv.Itoa(int(p.PacketID)))
	}
	flag(&b, p.Dup, "dup")
	flag(&b, p.Retain, "retain")
	b.WriteString(" topic=" + strconv.Quote(p.Topic) + " payload=" + strconv.Itoa(len(p.Payload)) + "B")
	return b.String()
}

func ackString(t Type, id uint16) string { return t.String() + " id=" + strconv.Itoa(int(id)) }

// String describes the PUBACK on one line, e.g. `PUBACK id=7`.
func (p *Puback) String() string { return ackString(PUBACK, p.PacketID) }

// String describes the PUBREC on one line, e.g. `PUBREC id=7`.
func (p *Pubrec) String() string { return ackString(PUBREC, p.PacketID) }

// String describes the PUBREL on one line, e.g. `PUBREL id=7`.
func (p *Pubrel) String() string { return ackString(PUBREL, p.PacketID) }

// String describes the PUBCOMP on one line, e.g. `PUBCOMP id=7`.
func (p *Pubcomp) String() string { return ackString(PUBCOMP, p.PacketID) }

// String describes the UNSUBACK on one line, e.g. `UNSUBACK id=7`.
func (p *Unsuback) String() string { return ackString(UNSUBACK, p.PacketID) }

// String describes the subscription as `"a/+":q1`.
func (s Subscription) String() string { return strconv.Quote(s.Filter) + ":" + s.QoS.String() }

// String describes the SUBSCRIBE on one line, e.g. `SUBSCRIBE id=3 ["a/+":q1 "b":q0]`.
func (p *Subscribe) String() string {
	parts := make([]string, len(p.Subscriptions))
	for i, s := range p.Subscriptions {
		parts[i] = s.String()
	}
	return ackString(SUBSCRIBE, p.PacketID) + " [" + strings.Join(parts, " ") + "]"
}

// String describes the SUBACK on one line, e.g. `SUBACK id=3 [1 0x80]`.
func (p *Suback) String() string {
	parts := make([]string, len(p.ReturnCodes))
	for i, c := range p.ReturnCodes {
		if c == SubackFailure {
			parts[i] = "0x80"
		} else {
			parts[i] = strconv.Itoa(int(c))
		}
	}
	return ackString(SUBACK, p.PacketID) + " [" + strings.Join(parts, " ") + "]"
}

// String describes the UNSUBSCRIBE on one line, e.g. `UNSUBSCRIBE id=3 ["a/+" "b"]`.
func (p *Unsubscribe) String() string {
	parts := make([]string, len(p.Filters))
	for i, f := range p.Filters {
		parts[i] = strconv.Quote(f)
	}
	return ackString(UNSUBSCRIBE, p.PacketID) + " [" + strings.Join(parts, " ") + "]"
}

// String returns "PINGREQ".
func (p *Pingreq) String() string { return "PINGREQ" }

// String returns "PINGRESP".
func (p *Pingresp) String() string { return "PINGRESP" }

// String returns "DISCONNECT".
func (p *Disconnect) String() string { return "DISCONNECT" }
