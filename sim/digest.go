package sim

import (
	"encoding/binary"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// digest is a streaming 64-bit hash of a run's trace. It hashes a canonical
// binary form of every engine event and every core output (all fields,
// strings length-prefixed) rather than their String() forms: the same
// determinism guarantee at a fraction of the cost, and nothing is stored.
// Each 64-bit word is folded in FNV-1a style (xor, then multiply by the FNV
// prime) followed by an xorshift, which feeds the high bits back into the
// low ones (a multiply alone only carries upward, so a difference confined
// to a word's top bits would stay in the digest's top bits). Sum applies a
// final avalanche. Any difference in what happened, or when, changes the
// digest.
type digest uint64

const (
	fnvOffset digest = 14695981039346656037
	fnvPrime  digest = 1099511628211
)

func (d *digest) u64(v uint64) {
	h := (*d ^ digest(v)) * fnvPrime
	*d = h ^ h>>29
}

// Sum returns the digest, avalanched (SplitMix64's finaliser).
func (d digest) Sum() uint64 {
	z := uint64(d)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (d *digest) byte(b byte) { d.u64(uint64(b)) }

func (d *digest) bool(b bool) {
	if b {
		d.u64(1)
	} else {
		d.u64(0)
	}
}

func (d *digest) str(s string) {
	d.u64(uint64(len(s)))
	for len(s) >= 8 {
		d.u64(binary.LittleEndian.Uint64([]byte(s[:8])))
		s = s[8:]
	}
	var tail uint64
	for i := 0; i < len(s); i++ {
		tail |= uint64(s[i]) << (8 * i)
	}
	d.u64(tail)
}

func (d *digest) bytes(b []byte) {
	d.u64(uint64(len(b)))
	for len(b) >= 8 {
		d.u64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	d.u64(tail)
}

// engineEvent hashes one popped engine event.
func (d *digest) engineEvent(e *event) {
	d.u64(uint64(e.at))
	d.u64(uint64(e.kind)<<56 | uint64(e.arg)<<32 | uint64(uint32(e.dev)))
	d.u64(e.conn)
}

// output hashes one core output at now.
func (d *digest) output(now time.Duration, o *broker.Output) {
	d.u64(uint64(now))
	d.u64(uint64(o.Kind))
	d.u64(uint64(o.Conn))
	switch o.Kind {
	case broker.OutSend:
		d.packet(o.Packet)
	case broker.OutEvent:
		d.event(&o.Event)
	}
}

func (d *digest) event(e *broker.Event) {
	d.u64(uint64(e.Kind)<<56 | uint64(e.QoS)<<48 | uint64(e.ReturnCode)<<40 | uint64(e.Reason)<<32 |
		uint64(e.PacketID)<<16 | flags(e.Dup, e.Stored, e.SessionPresent, e.Clean))
	d.u64(uint64(e.At))
	d.u64(uint64(e.Conn))
	d.u64(uint64(e.Msg))
	d.u64(uint64(e.Copies))
	d.str(e.ClientID)
	d.str(e.Topic)
	d.str(e.Publisher)
}

// packet hashes the fields of a packet the broker sends.
func (d *digest) packet(p packet.Packet) {
	if p == nil {
		d.byte(0)
		return
	}
	d.byte(byte(p.Type()))
	switch p := p.(type) {
	case *packet.Publish:
		d.u64(uint64(p.QoS)<<32 | uint64(p.PacketID)<<8 | flags(p.Dup, p.Retain))
		d.str(p.Topic)
		d.bytes(p.Payload)
	case *packet.Connack:
		d.bool(p.SessionPresent)
		d.byte(byte(p.ReturnCode))
	case *packet.Puback:
		d.u64(uint64(p.PacketID))
	case *packet.Pubrec:
		d.u64(uint64(p.PacketID))
	case *packet.Pubrel:
		d.u64(uint64(p.PacketID))
	case *packet.Pubcomp:
		d.u64(uint64(p.PacketID))
	case *packet.Suback:
		d.u64(uint64(p.PacketID))
		d.bytes(p.ReturnCodes)
	case *packet.Unsuback:
		d.u64(uint64(p.PacketID))
	}
}

// flags packs booleans into the low bits of a word, first in bit 0.
func flags(bs ...bool) uint64 {
	var f uint64
	for i, b := range bs {
		if b {
			f |= 1 << i
		}
	}
	return f
}
