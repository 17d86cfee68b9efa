package packet

import (
	"io"
	"strconv"
)

// MaxRemainingLength is the largest remaining length the four-byte variable
// length encoding can carry (MQTT 3.1.1 section 2.2.3).
const MaxRemainingLength = 268_435_455

// MaxPacketSize is the size in bytes of the largest MQTT 3.1.1 packet: one
// type byte, four length bytes and MaxRemainingLength bytes of body. A
// maxSize argument of zero, a negative number or anything larger means this.
const MaxPacketSize = 1 + 4 + MaxRemainingLength

// header is a parsed fixed header (MQTT 3.1.1 section 2.2).
type header struct {
	first     byte // type nibble and flags
	remaining int  // remaining length: bytes after the fixed header
	size      int  // bytes of the fixed header itself, 2 to 5
}

// total returns the size of the whole packet the header announces.
func (h header) total() int { return h.size + h.remaining }

// parseHeader parses the fixed header at the start of b and checks it against
// maxSize. It returns size 0 and a nil error when b ends before the header
// does. It rejects bad flags as soon as the first byte is present, and an
// over-long or oversized remaining length as soon as the length bytes show it,
// without waiting for the body and without allocating anything but the error.
func parseHeader(b []byte, maxSize int) (header, error) {
	if maxSize <= 0 || maxSize > MaxPacketSize {
		maxSize = MaxPacketSize
	}
	if len(b) == 0 {
		return header{}, nil
	}
	h := header{first: b[0]}
	if err := checkFirstByte(b[0]); err != nil {
		return header{}, err
	}
	t := Type(b[0] >> 4)
	mult := 1
	for i := 1; i <= 4; i++ {
		if i >= len(b) {
			return header{}, nil
		}
		c := b[i]
		h.remaining += int(c&0x7f) * mult
		if c&0x80 == 0 {
			if c == 0 && i > 1 {
				return header{}, &Error{Kind: ErrMalformed, Type: t, Field: "remaining length", Offset: i,
					Reason: "remaining length is not minimally encoded (sessionlab rejects padding so that decoding is canonical; MQTT 5 makes this normative as [MQTT-1.5.5-1])"}
			}
			h.size = i + 1
			if h.total() > maxSize {
				return header{}, tooLarge(t, h.remaining, maxSize)
			}
			return h, nil
		}
		mult *= 128
		// The smallest packet these length bytes can still announce has
		// one more length byte worth at least mult: reject it now.
		if i < 4 && i+2+h.remaining+mult > maxSize {
			return header{}, tooLarge(t, h.remaining+mult, maxSize)
		}
	}
	return header{}, &Error{Kind: ErrMalformed, Type: t, Field: "remaining length", Offset: 4,
		Reason: "remaining length continues past 4 bytes (MQTT 3.1.1 section 2.2.3)"}
}

// tooLarge builds the ErrTooLarge error for a remaining length of at least n.
func tooLarge(t Type, n, maxSize int) *Error {
	return &Error{Kind: ErrTooLarge, Type: t, Field: "remaining length", Offset: 1,
		Reason: "remaining length of at least " + strconv.Itoa(n) + " exceeds the maximum packet size " + strconv.Itoa(maxSize)}
}

// truncated builds the error for input that ends inside a packet.
func truncated(t Type, have, want int) *Error {
	return &Error{Kind: io.ErrUnexpectedEOF, Type: t, Field: "packet", Offset: have,
		Reason: "input ends after " + strconv.Itoa(have) + " of " + strconv.Itoa(want) + " bytes"}
}

// checkFirstByte rejects reserved packet types and fixed-header flags that
// differ from MQTT 3.1.1 table 2.2 [MQTT-2.2.2-1], [MQTT-2.2.2-2].
func checkFirstByte(c byte) *Error {
	t, flags := Type(c>>4), c&0x0f
	bad := func(spec, reason string) *Error {
		return &Error{Kind: ErrMalformed, Type: t, Field: "fixed header flags", SpecID: spec, Reason: reason}
	}
	switch t {
	case 0, 15:
		return &Error{Kind: ErrMalformed, Type: t, Field: "packet type",
			Reason: "packet type " + strconv.Itoa(int(t)) + " is reserved (MQTT 3.1.1 table 2.1)"}
	case PUBLISH:
		qos := flags >> 1 & 3
		if qos == 3 {
			return bad("MQTT-3.3.1-4", "PUBLISH has QoS 3")
		}
		if qos == 0 && flags&8 != 0 {
			return bad("MQTT-3.3.1-2", "PUBLISH has DUP set with QoS 0")
		}
		return nil
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		if flags != 2 {
			return bad("MQTT-2.2.2-1", t.String()+" flags must be 0010")
		}
		return nil
	}
	if flags != 0 {
		return bad("MQTT-2.2.2-1", t.String()+" flags must be 0000")
	}
	return nil
}

// appendHeader appends a fixed header with the given first byte and
// remaining length n (0 <= n <= MaxRemainingLength), minimally encoded.
func appendHeader(dst []byte, first byte, n int) []byte {
	dst = append(dst, first)
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(dst, byte(n))
}

// headerSize returns the size of the fixed header for remaining length n.
func headerSize(n int) int {
	switch {
	case n < 1<<7:
		return 2
	case n < 1<<14:
		return 3
	case n < 1<<21:
		return 4
	}
	return 5
}
