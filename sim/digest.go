package sim

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// digest is a streaming 64-bit FNV-1a hash of a run's trace. It hashes a
// canonical binary form of every engine event and every core output (all
// fields, strings length-prefixed) rather than their String() forms: the
// same determinism guarantee at a fraction of the cost, and nothing is
// stored. Any difference in what happened, or when, changes the digest.
type digest uint64

const (
	fnvOffset digest = 14695981039346656037
	fnvPrime  digest = 1099511628211
)

func (d *digest) byte(b byte) { *d = (*d ^ digest(b)) * fnvPrime }

func (d *digest) u64(v uint64) {
	for i := 0; i < 8; i++ {
		d.byte(byte(v >> (8 * i)))
	}
}

func (d *digest) bool(b bool) {
	if b {
		d.byte(1)
	} else {
		d.byte(0)
	}
}

func (d *digest) str(s string) {
	d.u64(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		d.byte(s[i])
	}
}

func (d *digest) bytes(b []byte) {
	d.u64(uint64(len(b)))
	for _, c := range b {
		d.byte(c)
	}
}

// engineEvent hashes one popped engine event.
func (d *digest) engineEvent(e *event) {
	d.u64(uint64(e.at))
	d.byte(byte(e.kind))
	d.u64(uint64(e.dev))
	d.u64(e.conn)
	d.u64(uint64(e.arg))
}

// output hashes one core output at now.
func (d *digest) output(now time.Duration, o *broker.Output) {
	d.u64(uint64(now))
	d.byte(byte(o.Kind))
	d.u64(uint64(o.Conn))
	switch o.Kind {
	case broker.OutSend:
		d.packet(o.Packet)
	case broker.OutEvent:
		d.event(&o.Event)
	}
}

func (d *digest) event(e *broker.Event) {
	d.byte(byte(e.Kind))
	d.u64(uint64(e.At))
	d.u64(uint64(e.Conn))
	d.str(e.ClientID)
	d.u64(uint64(e.Msg))
	d.str(e.Topic)
	d.byte(byte(e.QoS))
	d.u64(uint64(e.PacketID))
	d.bool(e.Dup)
	d.bool(e.Stored)
	d.bool(e.SessionPresent)
	d.bool(e.Clean)
	d.u64(uint64(e.Copies))
	d.byte(byte(e.ReturnCode))
	d.byte(byte(e.Reason))
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
		d.bool(p.Dup)
		d.byte(byte(p.QoS))
		d.bool(p.Retain)
		d.str(p.Topic)
		d.u64(uint64(p.PacketID))
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
