package packet

// This file holds the append-style encoders. They write what the packet
// says without validating it: a packet that satisfies the decoder's rules
// encodes to bytes the decoder accepts, and Decode(p.Append(nil)) returns p.
// Strings longer than 65535 bytes or bodies longer than MaxRemainingLength
// are the caller's bug and produce bytes no peer will accept.

// protocolName and protocolLevel identify MQTT 3.1.1 in CONNECT [MQTT-3.1.2-1], [MQTT-3.1.2-2].
const (
	protocolName  = "MQTT"
	protocolLevel = 4
)

// ProtocolName31 and ProtocolLevel31 identify MQTT 3.1 in CONNECT (MQTT
// V3.1 Protocol Specification, section 3.1, "Protocol name" and "Protocol
// version"; https://public.dhe.ibm.com/software/dw/webservices/ws-mqtt/mqtt-v3r1.html).
// Its CONNECT has the same flags and payload layout as MQTT 3.1.1's.
const (
	ProtocolName31  = "MQIsdp"
	ProtocolLevel31 = 3
)

func appendUint16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendString(dst []byte, s string) []byte {
	dst = appendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = appendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// Type returns CONNECT.
func (p *Connect) Type() Type { return CONNECT }

// Supported reports whether the CONNECT names MQTT 3.1.1 (protocol name
// "MQTT", level 4) or MQTT 3.1 ("MQIsdp", level 3; see V31), the protocols
// whose flags and payload the decoder interprets. Otherwise the bytes after
// the level are kept in Rest.
func (p *Connect) Supported() bool {
	return p.ProtocolName == protocolName && p.ProtocolLevel == protocolLevel || p.V31()
}

// V31 reports whether the CONNECT names MQTT 3.1 (ProtocolName31, level
// ProtocolLevel31). The codec reads it like MQTT 3.1.1's; the rules that
// differ (client identifier length, CONNACK flags) are the broker's.
func (p *Connect) V31() bool {
	return p.ProtocolName == ProtocolName31 && p.ProtocolLevel == ProtocolLevel31
}

func (p *Connect) flags() byte {
	var f byte
	if p.UsernameFlag {
		f |= 0x80
	}
	if p.PasswordFlag {
		f |= 0x40
	}
	if p.WillRetain {
		f |= 0x20
	}
	f |= byte(p.WillQoS&3) << 3
	if p.WillFlag {
		f |= 0x04
	}
	if p.CleanSession {
		f |= 0x02
	}
	return f
}

func (p *Connect) remaining() int {
	n := 2 + len(p.ProtocolName) + 1
	if !p.Supported() {
		return n + len(p.Rest)
	}
	n += 1 + 2 + 2 + len(p.ClientID)
	if p.WillFlag {
		n += 2 + len(p.WillTopic) + 2 + len(p.WillPayload)
	}
	if p.UsernameFlag {
		n += 2 + len(p.Username)
	}
	if p.PasswordFlag {
		n += 2 + len(p.Password)
	}
	return n
}

// Append appends the CONNECT's encoding to dst. For an unsupported protocol
// it writes the name, the level and Rest verbatim.
func (p *Connect) Append(dst []byte) []byte {
	dst = appendHeader(dst, byte(CONNECT)<<4, p.remaining())
	dst = appendString(dst, p.ProtocolName)
	dst = append(dst, p.ProtocolLevel)
	if !p.Supported() {
		return append(dst, p.Rest...)
	}
	dst = append(dst, p.flags())
	dst = appendUint16(dst, p.KeepAlive)
	dst = appendString(dst, p.ClientID)
	if p.WillFlag {
		dst = appendString(dst, p.WillTopic)
		dst = appendBytes(dst, p.WillPayload)
	}
	if p.UsernameFlag {
		dst = appendString(dst, p.Username)
	}
	if p.PasswordFlag {
		dst = appendBytes(dst, p.Password)
	}
	return dst
}

// Type returns CONNACK.
func (p *Connack) Type() Type { return CONNACK }

// Append appends the CONNACK's encoding to dst.
func (p *Connack) Append(dst []byte) []byte {
	var sp byte
	if p.SessionPresent {
		sp = 1
	}
	return append(dst, byte(CONNACK)<<4, 2, sp, byte(p.ReturnCode))
}

// Type returns PUBLISH.
func (p *Publish) Type() Type { return PUBLISH }

func (p *Publish) first() byte {
	f := byte(PUBLISH)<<4 | byte(p.QoS&3)<<1
	if p.Dup {
		f |= 0x08
	}
	if p.Retain {
		f |= 0x01
	}
	return f
}

func (p *Publish) remaining() int {
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	return n
}

// Append appends the PUBLISH's encoding to dst. The packet identifier is
// written only for QoS 1 and 2 (MQTT 3.1.1 section 3.3.2.2).
func (p *Publish) Append(dst []byte) []byte {
	dst = appendHeader(dst, p.first(), p.remaining())
	dst = appendString(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendUint16(dst, p.PacketID)
	}
	return append(dst, p.Payload...)
}

// appendAck appends a two-byte-body acknowledgement packet.
func appendAck(dst []byte, first byte, id uint16) []byte {
	return append(dst, first, 2, byte(id>>8), byte(id))
}

// Type returns PUBACK.
func (p *Puback) Type() Type { return PUBACK }

// Append appends the PUBACK's encoding to dst.
func (p *Puback) Append(dst []byte) []byte { return appendAck(dst, byte(PUBACK)<<4, p.PacketID) }

// Type returns PUBREC.
func (p *Pubrec) Type() Type { return PUBREC }

// Append appends the PUBREC's encoding to dst.
func (p *Pubrec) Append(dst []byte) []byte { return appendAck(dst, byte(PUBREC)<<4, p.PacketID) }

// Type returns PUBREL.
func (p *Pubrel) Type() Type { return PUBREL }

// Append appends the PUBREL's encoding to dst, with the fixed-header flags
// 0010 [MQTT-3.6.1-1].
func (p *Pubrel) Append(dst []byte) []byte { return appendAck(dst, byte(PUBREL)<<4|2, p.PacketID) }

// Type returns PUBCOMP.
func (p *Pubcomp) Type() Type { return PUBCOMP }

// Append appends the PUBCOMP's encoding to dst.
func (p *Pubcomp) Append(dst []byte) []byte { return appendAck(dst, byte(PUBCOMP)<<4, p.PacketID) }

// Type returns SUBSCRIBE.
func (p *Subscribe) Type() Type { return SUBSCRIBE }

// Append appends the SUBSCRIBE's encoding to dst, with the fixed-header
// flags 0010 [MQTT-3.8.1-1].
func (p *Subscribe) Append(dst []byte) []byte {
	n := 2
	for _, s := range p.Subscriptions {
		n += 2 + len(s.Filter) + 1
	}
	dst = appendHeader(dst, byte(SUBSCRIBE)<<4|2, n)
	dst = appendUint16(dst, p.PacketID)
	for _, s := range p.Subscriptions {
		dst = appendString(dst, s.Filter)
		dst = append(dst, byte(s.QoS))
	}
	return dst
}

// Type returns SUBACK.
func (p *Suback) Type() Type { return SUBACK }

// Append appends the SUBACK's encoding to dst.
func (p *Suback) Append(dst []byte) []byte {
	dst = appendHeader(dst, byte(SUBACK)<<4, 2+len(p.ReturnCodes))
	dst = appendUint16(dst, p.PacketID)
	return append(dst, p.ReturnCodes...)
}

// Type returns UNSUBSCRIBE.
func (p *Unsubscribe) Type() Type { return UNSUBSCRIBE }

// Append appends the UNSUBSCRIBE's encoding to dst, with the fixed-header
// flags 0010 [MQTT-3.10.1-1].
func (p *Unsubscribe) Append(dst []byte) []byte {
	n := 2
	for _, f := range p.Filters {
		n += 2 + len(f)
	}
	dst = appendHeader(dst, byte(UNSUBSCRIBE)<<4|2, n)
	dst = appendUint16(dst, p.PacketID)
	for _, f := range p.Filters {
		dst = appendString(dst, f)
	}
	return dst
}

// Type returns UNSUBACK.
func (p *Unsuback) Type() Type { return UNSUBACK }

// Append appends the UNSUBACK's encoding to dst.
func (p *Unsuback) Append(dst []byte) []byte { return appendAck(dst, byte(UNSUBACK)<<4, p.PacketID) }

// Type returns PINGREQ.
func (p *Pingreq) Type() Type { return PINGREQ }

// Append appends the PINGREQ's encoding to dst.
func (p *Pingreq) Append(dst []byte) []byte { return append(dst, byte(PINGREQ)<<4, 0) }

// Type returns PINGRESP.
func (p *Pingresp) Type() Type { return PINGRESP }

// Append appends the PINGRESP's encoding to dst.
func (p *Pingresp) Append(dst []byte) []byte { return append(dst, byte(PINGRESP)<<4, 0) }

// Type returns DISCONNECT.
func (p *Disconnect) Type() Type { return DISCONNECT }

// Append appends the DISCONNECT's encoding to dst.
func (p *Disconnect) Append(dst []byte) []byte { return append(dst, byte(DISCONNECT)<<4, 0) }
