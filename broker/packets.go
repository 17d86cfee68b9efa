package broker

import "github.com/sessionlab/sessionlab/broker/packet"

// arena hands out *T values. With reuse it recycles the values handed out
// since the last reset; without, every get allocates, so outputs stay valid
// for as long as the driver holds them.
type arena[T any] struct {
	items []*T
	n     int
}

// get returns a zeroed *T.
func (a *arena[T]) get(reuse bool) *T {
	if !reuse {
		return new(T)
	}
	if a.n == len(a.items) {
		a.items = append(a.items, new(T))
	}
	p := a.items[a.n]
	a.n++
	var zero T
	*p = zero
	return p
}

// arenas holds one arena per packet type the broker sends.
type arenas struct {
	reuse    bool
	publish  arena[packet.Publish]
	puback   arena[packet.Puback]
	pubrec   arena[packet.Pubrec]
	pubrel   arena[packet.Pubrel]
	pubcomp  arena[packet.Pubcomp]
	connack  arena[packet.Connack]
	suback   arena[packet.Suback]
	unsuback arena[packet.Unsuback]
	pingresp arena[packet.Pingresp]
}

// reset makes every recycled packet available again (the previous Step's
// outputs are dead by contract).
func (a *arenas) reset() {
	a.publish.n, a.puback.n, a.pubrec.n, a.pubrel.n, a.pubcomp.n = 0, 0, 0, 0, 0
	a.connack.n, a.suback.n, a.unsuback.n, a.pingresp.n = 0, 0, 0, 0
}

// newPublish returns a zeroed PUBLISH.
func (a *arenas) newPublish() *packet.Publish { return a.publish.get(a.reuse) }

// newPuback returns a PUBACK for id.
func (a *arenas) newPuback(id uint16) *packet.Puback {
	p := a.puback.get(a.reuse)
	p.PacketID = id
	return p
}

// newPubrec returns a PUBREC for id.
func (a *arenas) newPubrec(id uint16) *packet.Pubrec {
	p := a.pubrec.get(a.reuse)
	p.PacketID = id
	return p
}

// newPubrel returns a PUBREL for id.
func (a *arenas) newPubrel(id uint16) *packet.Pubrel {
	p := a.pubrel.get(a.reuse)
	p.PacketID = id
	return p
}

// newPubcomp returns a PUBCOMP for id.
func (a *arenas) newPubcomp(id uint16) *packet.Pubcomp {
	p := a.pubcomp.get(a.reuse)
	p.PacketID = id
	return p
}

// newConnack returns a CONNACK.
func (a *arenas) newConnack(present bool, rc packet.ReturnCode) *packet.Connack {
	p := a.connack.get(a.reuse)
	p.SessionPresent, p.ReturnCode = present, rc
	return p
}

// newSuback returns a SUBACK with room for n return codes (length 0).
func (a *arenas) newSuback(id uint16, n int) *packet.Suback {
	p := a.suback.get(false) // its slice escapes with it: never recycled
	p.PacketID, p.ReturnCodes = id, make([]byte, 0, n)
	return p
}

// newUnsuback returns an UNSUBACK for id.
func (a *arenas) newUnsuback(id uint16) *packet.Unsuback {
	p := a.unsuback.get(a.reuse)
	p.PacketID = id
	return p
}

// newPingresp returns a PINGRESP.
func (a *arenas) newPingresp() *packet.Pingresp { return a.pingresp.get(a.reuse) }
