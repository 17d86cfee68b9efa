package netsim

import "time"

// Close closes c from side by at now, gracefully (FIN). Data already sent
// by that side is still delivered; the peer learns that the connection ended
// after the last of it, and the Notice says when. ok is false when the peer
// will not be told: the connection is broken (reset or half-open), or the
// peer has already closed or noticed.
func (n *Network[M]) Close(now time.Duration, c ConnID, by Side) (Notice, bool) {
	cn := n.lookup(c)
	if cn == nil || cn.flags&sideFlag(by) == 0 {
		return Notice{}, false
	}
	n.closeSide(c.slot(), by)
	peer := by.Peer()
	if cn.flags&broken != 0 || cn.flags&sideFlag(peer) == 0 {
		return Notice{}, false
	}
	hs := n.hostState(int(cn.host))
	at := max(cn.last[peer], now+n.lat(hs).Sample(hs.rand))
	if now < hs.partition {
		at = max(at, hs.partition+n.lat(hs).Sample(hs.rand))
	}
	cn.last[peer] = at
	return Notice{Conn: c, Side: peer, At: at}, true
}

// Noticed records that side learnt at a Notice's time that c is gone. It
// reports whether that side still held the connection (false when it had
// already closed it itself, or the notice is stale).
func (n *Network[M]) Noticed(c ConnID, side Side) bool {
	cn := n.lookup(c)
	if cn == nil || cn.flags&sideFlag(side) == 0 {
		return false
	}
	n.closeSide(c.slot(), side)
	return true
}

// closeSide marks a side closed and frees the slot when both are.
func (n *Network[M]) closeSide(slot int, s Side) {
	cn := &n.conns[slot]
	cn.flags &^= sideFlag(s)
	cn.pipe[s].clear()
	if cn.flags&(clientOpen|serverOpen) == 0 {
		cn.pipe[s.Peer()].clear()
		cn.flags = 0
		n.free = append(n.free, slot)
		n.open--
	}
}

// Fail applies fault f to c at now: Reset breaks it and returns a Notice for
// each side still holding it, each after that side's own delay; HalfOpen
// breaks it silently and returns none. A fault on a connection that is
// already closed or broken does nothing.
func (n *Network[M]) Fail(now time.Duration, c ConnID, f Fault) []Notice {
	cn := n.lookup(c)
	if cn == nil || cn.flags&broken != 0 || f == NoFault {
		return nil
	}
	cn.flags |= broken
	cn.pipe[Client].clear()
	cn.pipe[Server].clear()
	if f == HalfOpen {
		return nil
	}
	hs := n.hostState(int(cn.host))
	var out []Notice
	for _, s := range [2]Side{Client, Server} {
		if cn.flags&sideFlag(s) != 0 {
			out = append(out, Notice{Conn: c, Side: s, At: now + n.lat(hs).Sample(hs.rand)})
		}
	}
	return out
}

// Outage starts a broker-wide outage at now lasting until until: dials are
// refused until then, and every connection the server still holds is reset.
// The server side learns at once (its own process closed the sockets); the
// client side learns after its delay, unless the connection was already
// half-open, in which case the client is not told. The returned notices are
// in connection-slot order.
func (n *Network[M]) Outage(now, until time.Duration) []Notice {
	n.outage = max(n.outage, until)
	var out []Notice
	for slot := range n.conns {
		cn := &n.conns[slot]
		if cn.flags&serverOpen == 0 {
			continue
		}
		c := makeConnID(slot, cn.gen)
		out = append(out, Notice{Conn: c, Side: Server, At: now})
		if cn.flags&(broken|clientOpen) == clientOpen {
			hs := n.hostState(int(cn.host))
			out = append(out, Notice{Conn: c, Side: Client, At: now + n.lat(hs).Sample(hs.rand)})
		}
		cn.flags |= broken
		cn.pipe[Client].clear()
		cn.pipe[Server].clear()
	}
	return out
}

// Partition cuts host h off from now until until: dials time out, and what
// is sent in either direction is held until the partition heals.
// Connections survive unless an endpoint gives up on them meanwhile.
func (n *Network[M]) Partition(now time.Duration, h int, until time.Duration) {
	hs := n.hostState(h)
	hs.partition = max(hs.partition, until)
}

// Partitioned reports whether host h is partitioned at now.
func (n *Network[M]) Partitioned(now time.Duration, h int) bool {
	return now < n.hostState(h).partition
}
