package packet

import (
	"strconv"
	"unsafe"
)

// reader walks the body of one packet (the bytes after the fixed header),
// producing *Error values whose offsets count from the start of the packet.
type reader struct {
	b    []byte // the packet body
	off  int    // next byte to read in b
	base int    // size of the fixed header, added to offsets in errors
	typ  Type
}

// failAt returns an ErrMalformed error about field at body offset at.
func (r *reader) failAt(at int, field, spec, reason string) *Error {
	return &Error{Kind: ErrMalformed, Type: r.typ, Field: field, Offset: r.base + at, SpecID: spec, Reason: reason}
}

// short is the error for a body that ends inside field.
func (r *reader) short(field string) *Error {
	return r.failAt(r.off, field, "", "remaining length ends inside the "+field)
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte(field string) (byte, error) {
	if r.left() < 1 {
		return 0, r.short(field)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) uint16(field string) (uint16, error) {
	if r.left() < 2 {
		return 0, r.short(field)
	}
	v := uint16(r.b[r.off])<<8 | uint16(r.b[r.off+1])
	r.off += 2
	return v, nil
}

// packetID reads a packet identifier, which must be non-zero [MQTT-2.3.1-1].
func (r *reader) packetID() (uint16, error) {
	at := r.off
	id, err := r.uint16("packet identifier")
	if err == nil && id == 0 {
		return 0, r.failAt(at, "packet identifier", "MQTT-2.3.1-1", "packet identifier is 0")
	}
	return id, err
}

// bytes reads a two-byte length and that many bytes (MQTT 3.1.1 section
// 1.5.3). The result aliases r.b and has its capacity capped at its length.
func (r *reader) bytes(field string) ([]byte, error) {
	if r.left() < 2 {
		return nil, r.short(field + " length") // concatenated only on error: the hot path allocates nothing here
	}
	n := int(r.b[r.off])<<8 | int(r.b[r.off+1])
	r.off += 2
	if r.left() < n {
		return nil, r.short(field)
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}

// string reads a UTF-8 encoded string and checks it with check (nil means
// the plain string rules, stringProblem). The result aliases r.b.
func (r *reader) string(field string, check func(string) problem) (string, error) {
	b, err := r.bytes(field)
	if err != nil {
		return "", err
	}
	s := unsafeString(b)
	if check == nil {
		check = stringProblem
	}
	if p := check(s); p.reason != "" {
		return "", r.failAt(r.off-len(b)+p.at, field, p.spec, p.reason)
	}
	return s, nil
}

// end rejects bytes left over after the last field.
func (r *reader) end(spec string) error {
	if r.left() != 0 {
		return r.failAt(r.off, "remaining length", spec, strconv.Itoa(r.left())+" bytes after the last field")
	}
	return nil
}

// unsafeString returns a string sharing b's memory. The decoder only uses
// it on buffers the decoded packet owns and nobody writes to afterwards.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// own returns a private copy of body, so a decoded packet never aliases the
// caller's read buffer.
func own(body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	return append([]byte(nil), body...)
}
