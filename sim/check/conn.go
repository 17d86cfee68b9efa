package check

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

// input follows one broker input.
func (k *Checker) input(in broker.Input) {
	switch in.Kind {
	case broker.InOpen:
		k.conns[in.Conn] = &conn{id: in.Conn, lastRecv: k.now}
	case broker.InPacket:
		c := k.conns[in.Conn]
		if c == nil || c.ended {
			return
		}
		k.inConn = c
		c.lastRecv = k.now
		k.packetIn(c, in.Packet)
		k.armKeepalive(c)
	case broker.InLost, broker.InMalformed:
		if c := k.conns[in.Conn]; c != nil && !c.ended {
			k.inConn = c
			k.endConn(c)
		}
	}
}

// packetIn follows a packet the broker received on c.
func (k *Checker) packetIn(c *conn, p packet.Packet) {
	switch p := p.(type) {
	case *packet.Connect:
		k.connect(c, p)
	case *packet.Publish:
		k.curUID = payloadID(p.Payload)
		k.seenUID(k.curUID) // whatever answers it leaves after this step is observed
	case *packet.Pubcomp:
		if c.client != nil {
			k.pubcomp(c.client, p.PacketID)
		}
	case *packet.Disconnect:
		c.will = false // DISCONNECT discards the Will [MQTT-3.14.4-3]
	}
}

// connect records a CONNECT and what the shadow expects its CONNACK to say
// about the session [MQTT-3.2.2-1..3].
func (k *Checker) connect(c *conn, p *packet.Connect) {
	if p.ClientID == "" || c.client != nil {
		return // auto-assigned ids and second CONNECTs are not followed
	}
	cl := k.clientOf(p.ClientID)
	c.client, c.clean, c.will = cl, p.CleanSession, p.WillFlag
	c.keepalive = time.Duration(p.KeepAlive) * time.Second
	view := model.SessionView{Exists: cl.exists, Clean: cl.clean, Online: cl.online, OfflineAt: cl.offlineAt}
	want, sure := model.SessionPresent(k.cfg.Policy, view, p.CleanSession, k.now)
	c.wantSP, c.maySP = want, !sure
}

// send follows a packet the broker sent.
func (k *Checker) send(id broker.ConnID, p packet.Packet) {
	if p, ok := p.(*packet.Publish); ok {
		k.unreported()
		k.lastPub = wirePub{conn: id, dup: p.Dup, qos: p.QoS, pid: p.PacketID, uid: payloadID(p.Payload), set: true}
		return
	}
	c := k.conns[id]
	if c == nil || c.client == nil {
		return
	}
	switch p := p.(type) {
	case *packet.Connack:
		k.connack(c, p)
	case *packet.Pubrel:
		cl := c.client
		for i, pid := range cl.pubrelOwed {
			if pid == p.PacketID {
				cl.pubrelOwed = append(cl.pubrelOwed[:i], cl.pubrelOwed[i+1:]...)
				break
			}
		}
	}
}

// connack checks SessionPresent against the shadow (invariant 1) and that
// no other connection of the ClientId is still live (invariant 12).
func (k *Checker) connack(c *conn, p *packet.Connack) {
	cl := c.client
	if p.ReturnCode != packet.Accepted {
		if p.SessionPresent {
			k.fail(cl, broker.InvSessionPresent, "[MQTT-3.2.2-4]", "refused CONNACK (rc=%d) has SessionPresent=1", p.ReturnCode)
		}
		return
	}
	switch {
	case c.clean && p.SessionPresent:
		k.fail(cl, broker.InvSessionPresent, "[MQTT-3.2.2-1]", "CleanSession=1 answered with SessionPresent=1")
	case !c.maySP && p.SessionPresent != c.wantSP:
		src := "[MQTT-3.2.2-2]"
		if !c.wantSP {
			src = "[MQTT-3.2.2-3]"
		}
		k.fail(cl, broker.InvSessionPresent, src, "SessionPresent=%v, want %v (session %s)", p.SessionPresent, c.wantSP, k.shadowString(cl))
	}
	if old := cl.conn; old != nil && old != c && old.accepted && !old.ended {
		k.fail(cl, broker.InvTakeover, "[MQTT-3.1.4-2]", "conn %d accepted while conn %d of the same ClientId is still open", c.id, old.id)
	}
	c.accepted = true
	cl.conn = c
	k.armKeepalive(c)
}

// shadowString describes the checker's shadow of cl's session.
func (k *Checker) shadowString(cl *client) string {
	switch {
	case !cl.exists:
		return "none"
	case cl.online:
		return "online"
	}
	return "offline since " + cl.offlineAt.String()
}

// endConn marks c closed or lost, and forgets it once its session (if
// any) has gone offline too. QoS 0 copies sent on it and never received are
// forgotten: they were lost on the way (at most once).
func (k *Checker) endConn(c *conn) {
	c.ended = true
	if !c.accepted || c.offline {
		delete(k.conns, c.id)
	}
	for _, r := range c.qos0 {
		if r.received == 0 && k.copies[keyOf(r.m.id, r.cl)] == r {
			k.forgetCopy(r)
		}
	}
	c.qos0 = nil
}

// armKeepalive schedules the check that c is not kept past its keepalive
// deadline (model.KeepaliveDeadline). One entry per connection is in the
// heap at a time: when it falls due, expireDues moves it to the deadline
// of the latest packet if one came since (a packet only ever moves the
// deadline later).
func (k *Checker) armKeepalive(c *conn) {
	if at, ok := model.KeepaliveDeadline(c.lastRecv, c.keepalive); ok && c.accepted && !c.ended && !c.kaArmed {
		c.kaArmed = true
		k.dues.add(due{at: at, kind: dueKeepalive, conn: c})
	}
}

// keepaliveKick checks that a keepalive disconnect came at the keepalive
// deadline, not earlier (model.KeepaliveDeadline).
func (k *Checker) keepaliveKick(cl *client, c *conn) {
	if c == nil {
		return
	}
	if at, ok := model.KeepaliveDeadline(c.lastRecv, c.keepalive); !ok || k.now < at {
		k.fail(cl, broker.InvKeepalive, "[MQTT-3.1.2-24]", "conn %d closed for keepalive after %v of silence (keepalive %v)",
			c.id, k.now-c.lastRecv, c.keepalive)
	}
}

// payloadID reads the simulator's 8-byte big-endian message id from a
// payload (0 when it has none).
func payloadID(p []byte) uint64 {
	if len(p) < 8 {
		return 0
	}
	var u uint64
	for _, b := range p[:8] {
		u = u<<8 | uint64(b)
	}
	return u
}

// unreported fails the run if the last PUBLISH sent was not reported by an
// EvSent: a copy on the wire that the accounting does not know of (15).
func (k *Checker) unreported() {
	if w := k.lastPub; w.set {
		var cl *client
		if c := k.conns[w.conn]; c != nil {
			cl = c.client
		}
		k.fail(cl, broker.InvConservation, "(invariant 15)",
			"PUBLISH (dup=%v q%d id=%d) sent on conn %d without an EvSent", w.dup, w.qos, w.pid, w.conn)
		k.lastPub = wirePub{}
	}
}
