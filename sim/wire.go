package sim

import (
	"fmt"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// malformed stands for bytes that did not decode (Options.Wire). It
// travels like a packet; the broker receives it as InMalformed, and a
// device treats it as a protocol error and closes the connection.
type malformed struct{ err error }

// Type returns 0, the reserved packet type: a malformed packet has none.
func (m *malformed) Type() packet.Type { return 0 }

// Append appends nothing: there are no valid bytes to write.
func (m *malformed) Append(dst []byte) []byte { return dst }

// String describes the decode error, e.g. "MALFORMED packet: ...".
func (m *malformed) String() string { return "MALFORMED " + m.err.Error() }

// wire encodes p and decodes the bytes again with the same decoder the TCP
// server uses, so that long runs exercise the codec. A decode failure, or
// trailing bytes, travels on as a malformed packet.
func (r *runner) wire(p packet.Packet) packet.Packet {
	r.wireBuf = p.Append(r.wireBuf[:0])
	q, n, err := packet.Decode(r.wireBuf, 0)
	if err == nil && n != len(r.wireBuf) {
		err = fmt.Errorf("sim: %v encodes to %d bytes, decoder used %d", p, len(r.wireBuf), n)
	}
	if err != nil {
		r.m.WireErrors++
		return &malformed{err: err}
	}
	return q
}
