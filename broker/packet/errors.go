package packet

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel kinds of decoding errors. Every error the decoder and the framer
// return is an *Error whose Kind is one of these (or io.ErrUnexpectedEOF for a
// packet cut short), so callers can test with errors.Is.
var (
	// ErrMalformed reports bytes that are not a valid MQTT 3.1.1 packet. A
	// server receiving one must close the connection [MQTT-4.8.0-1].
	ErrMalformed = errors.New("malformed packet")
	// ErrTooLarge reports a remaining length above the configured maximum
	// packet size. It is detected from the length bytes alone, before the
	// body is read or anything is allocated.
	ErrTooLarge = errors.New("packet too large")
)

// Error describes why a packet was rejected and where. Offset counts bytes
// from the first byte of the packet's fixed header.
type Error struct {
	Kind   error  // ErrMalformed, ErrTooLarge or io.ErrUnexpectedEOF
	Type   Type   // packet type, 0 if the first byte was not yet known
	Field  string // field being decoded, e.g. "topic name"
	Offset int    // byte offset of the offending field in the packet
	SpecID string // normative statement violated, e.g. "MQTT-3.3.1-4"; may be empty
	Reason string // one sentence saying what is wrong
}

// Error formats the error as one line, for example
// `PUBLISH topic name at byte 4: topic name contains wildcard + [MQTT-3.3.2-2]: malformed packet`.
// The packet type is left out when it is 0 (a standalone topic check).
func (e *Error) Error() string {
	var b strings.Builder
	if e.Type != 0 {
		b.WriteString(e.Type.String() + " ")
	}
	b.WriteString(e.Field + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason)
	if e.SpecID != "" {
		b.WriteString(" [" + e.SpecID + "]")
	}
	b.WriteString(": " + e.Kind.Error())
	return b.String()
}

// Unwrap returns the error's Kind, so errors.Is(err, ErrMalformed) works.
func (e *Error) Unwrap() error { return e.Kind }
