package packet

import "strconv"

// Decode decodes the one whole packet at the start of b and returns it with
// the number of bytes it occupied. maxSize bounds the whole packet in bytes
// (fixed header included); 0 means MaxPacketSize. The check is made on the
// length bytes before the body is looked at or anything allocated.
//
// Decode enforces what MQTT 3.1.1 requires of a server's input and also
// decodes the packets a server sends (CONNACK, SUBACK, ...), so clients and
// tests use it too. Every error is an *Error whose Kind is ErrMalformed,
// ErrTooLarge or io.ErrUnexpectedEOF (b ends inside the packet); bytes
// after the packet are ignored. The returned packet is a pointer (*Publish,
// *Connect, ...) and owns its memory: b may be reused afterwards.
//
// Decode costs one allocation for the packet struct plus one for a copy of
// the body. For the hot path, incoming PUBLISH packets, use DecodePublish.
func Decode(b []byte, maxSize int) (Packet, int, error) {
	h, err := parseHeader(b, maxSize)
	if err != nil {
		return nil, 0, err
	}
	if h.size == 0 || len(b) < h.total() {
		want := h.total()
		if h.size == 0 {
			want = len(b) + 1
		}
		return nil, 0, truncated(Type(b0(b)>>4), len(b), want)
	}
	p, err := decodeBody(h.first, b[h.size:h.total()], h.size)
	if err != nil {
		return nil, 0, err
	}
	return p, h.total(), nil
}

// b0 returns b's first byte, or 0 if b is empty.
func b0(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// decodeBody decodes a body whose fixed header (first byte, base bytes
// long) has already been checked by parseHeader.
func decodeBody(first byte, body []byte, base int) (Packet, error) {
	r := &reader{b: body, base: base, typ: Type(first >> 4)}
	switch r.typ {
	case CONNECT:
		r.b = own(body)
		return decodeConnect(r)
	case CONNACK:
		return decodeConnack(r)
	case PUBLISH:
		p := new(Publish)
		if err := decodePublish(first, r, p); err != nil {
			return nil, err
		}
		return p, nil
	case PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK:
		return decodeAck(r)
	case SUBSCRIBE:
		r.b = own(body)
		return decodeSubscribe(r)
	case SUBACK:
		r.b = own(body)
		return decodeSuback(r)
	case UNSUBSCRIBE:
		r.b = own(body)
		return decodeUnsubscribe(r)
	}
	return decodeEmpty(r) // PINGREQ, PINGRESP, DISCONNECT; parseHeader rejected 0 and 15
}

// DecodePublish is the hot path for incoming PUBLISH packets: it decodes
// the body of a PUBLISH whose first fixed-header byte is first into *p,
// with one allocation (a copy of body that Topic and Payload share), so the
// caller may reuse body afterwards. On error *p is unchanged. body is the
// packet after the fixed header, as returned by Body; error offsets assume
// a minimally encoded remaining length.
func DecodePublish(first byte, body []byte, p *Publish) error {
	if err := checkFirstByte(first); err != nil {
		return err
	}
	r := &reader{b: body, base: headerSize(len(body)), typ: Type(first >> 4)}
	if r.typ != PUBLISH {
		return r.failAt(-r.base, "packet type", "", "packet is a "+r.typ.String()+", not a PUBLISH")
	}
	return decodePublish(first, r, p)
}

// Body returns the body of the packet at the start of frame (as produced by
// Split): the bytes after its fixed header. It returns nil if frame does not
// start with a whole packet whose fixed header is valid.
func Body(frame []byte) []byte {
	h, err := parseHeader(frame, 0)
	if err != nil || h.size == 0 || len(frame) < h.total() {
		return nil
	}
	return frame[h.size:h.total()]
}

// decodePublish validates the PUBLISH in r.b (still the caller's bytes),
// then copies the body once and points Topic and Payload into the copy.
func decodePublish(first byte, r *reader, p *Publish) error {
	topic, err := r.string("topic name", topicNameProblem) // [MQTT-3.3.2-1], [MQTT-3.3.2-2]
	if err != nil {
		return err
	}
	qos := QoS(first >> 1 & 3)
	var id uint16
	if qos > 0 {
		if id, err = r.packetID(); err != nil {
			return err
		}
	}
	buf := own(r.b) // the topic is the first field: buf[2 : 2+len(topic)]
	*p = Publish{
		Dup:      first&0x08 != 0,
		QoS:      qos,
		Retain:   first&0x01 != 0,
		Topic:    unsafeString(buf[2 : 2+len(topic)]),
		PacketID: id,
		Payload:  buf[r.off:len(buf):len(buf)],
	}
	return nil
}

// decodeAck decodes PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK, whose
// body is exactly a non-zero packet identifier (sections 3.4 to 3.7, 3.11).
func decodeAck(r *reader) (Packet, error) {
	if len(r.b) != 2 {
		return nil, r.failAt(-r.base+1, "remaining length", "", r.typ.String()+" must have remaining length 2, not "+strconv.Itoa(len(r.b)))
	}
	id, err := r.packetID()
	if err != nil {
		return nil, err
	}
	switch r.typ {
	case PUBACK:
		return &Puback{PacketID: id}, nil
	case PUBREC:
		return &Pubrec{PacketID: id}, nil
	case PUBREL:
		return &Pubrel{PacketID: id}, nil
	case PUBCOMP:
		return &Pubcomp{PacketID: id}, nil
	}
	return &Unsuback{PacketID: id}, nil
}

// decodeEmpty decodes PINGREQ, PINGRESP and DISCONNECT, which have no body
// (sections 3.12 to 3.14).
func decodeEmpty(r *reader) (Packet, error) {
	if len(r.b) != 0 {
		return nil, r.failAt(-r.base+1, "remaining length", "", r.typ.String()+" must have remaining length 0, not "+strconv.Itoa(len(r.b)))
	}
	switch r.typ {
	case PINGREQ:
		return &Pingreq{}, nil
	case PINGRESP:
		return &Pingresp{}, nil
	}
	return &Disconnect{}, nil
}

// decodeConnack decodes a CONNACK (section 3.2): reserved flag bits 7-1
// zero, and no session present with a refusal [MQTT-3.2.2-4].
func decodeConnack(r *reader) (Packet, error) {
	if len(r.b) != 2 {
		return nil, r.failAt(-r.base+1, "remaining length", "", "CONNACK must have remaining length 2, not "+strconv.Itoa(len(r.b)))
	}
	flags, rc := r.b[0], ReturnCode(r.b[1])
	if flags&^1 != 0 {
		return nil, r.failAt(0, "acknowledge flags", "", "reserved bits 7-1 of the connect acknowledge flags are not 0 (section 3.2.2.1)")
	}
	if flags == 1 && rc != Accepted {
		return nil, r.failAt(0, "acknowledge flags", "MQTT-3.2.2-4", "session present is 1 with a non-zero return code")
	}
	return &Connack{SessionPresent: flags == 1, ReturnCode: rc}, nil
}
