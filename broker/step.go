package broker

import "github.com/sessionlab/sessionlab/broker/packet"

// Step feeds one input at time now: the one door into the broker. It resets
// Outputs, fills them with what the input caused and returns the step's
// Record (valid until the next Step). Inputs for unknown connections are
// ignored: the broker may have closed them already.
func (b *Broker) Step(now Time, in Input) Record {
	clear(b.out)
	b.out = b.out[:0]
	if cap(b.out) > maxKeptOutputs {
		b.out = nil // a burst (a fan-out to many sessions) does not pin memory
	}
	if cap(b.matches) > maxKeptOutputs {
		b.matches = nil
	}
	b.pkts.reset()
	clear(b.changes)
	b.changes = b.changes[:0]
	if cap(b.changes) > maxKeptOutputs {
		b.changes = nil
	}
	if now > b.now {
		b.now = now
	}
	switch in.Kind {
	case InOpen:
		b.stepOpen(in.Conn)
	case InPacket:
		if c := b.conns[in.Conn]; c != nil {
			c.lastRecv = b.now
			b.forgetNext(timerKeepalive, uint64(c.id))
			if c.sess != nil {
				b.forgetNext(timerSession, c.sess.seq)
			}
			b.stepPacket(c, in.Packet)
		}
	case InLost:
		b.lose(b.conns[in.Conn], ReasonConnLost, false)
	case InMalformed:
		if c := b.conns[in.Conn]; c != nil {
			b.protocolError(c)
		}
	case InDeadline:
		b.stepDeadline()
	}
	b.settleDirty()
	return Record{At: b.now, Input: in, Outputs: b.out, Changes: b.changes}
}

// maxKeptOutputs bounds the capacity of the reused output and scratch
// slices kept between Steps.
const maxKeptOutputs = 4096

// stepOpen registers a new connection. A reused ConnID is a driver bug; the
// old connection is forgotten as if lost.
func (b *Broker) stepOpen(id ConnID) {
	if old := b.conns[id]; old != nil {
		b.lose(old, ReasonConnLost, false)
	}
	b.conns[id] = &conn{id: id, lastRecv: b.now}
}

// stepPacket dispatches a packet to its handler. The first packet must be
// CONNECT [MQTT-3.1.0-1]; packets only a server sends are protocol errors.
func (b *Broker) stepPacket(c *conn, p packet.Packet) {
	if connect, ok := p.(*packet.Connect); ok {
		b.handleConnect(c, connect)
		return
	}
	if c.sess == nil {
		b.protocolError(c) // [MQTT-3.1.0-1]
		return
	}
	switch p := p.(type) {
	case *packet.Publish:
		b.handlePublish(c, p)
	case *packet.Puback:
		b.handlePuback(c.sess, p.PacketID)
	case *packet.Pubrec:
		b.handlePubrec(c.sess, p.PacketID)
	case *packet.Pubrel:
		b.handlePubrel(c, p.PacketID)
	case *packet.Pubcomp:
		b.handlePubcomp(c.sess, p.PacketID)
	case *packet.Subscribe:
		b.handleSubscribe(c, p)
	case *packet.Unsubscribe:
		b.handleUnsubscribe(c, p)
	case *packet.Pingreq:
		b.send(c, b.pkts.newPingresp()) // [MQTT-3.12.4-1]
	case *packet.Disconnect:
		c.will = nil // [MQTT-3.14.4-3]
		b.lose(c, ReasonClientDisconnect, true)
	default:
		b.protocolError(c) // CONNACK, SUBACK, UNSUBACK, PINGRESP, nil [MQTT-4.8.0-1]
	}
}

// protocolError closes c for violating the protocol; its Will fires
// [MQTT-4.8.0-1].
func (b *Broker) protocolError(c *conn) {
	ev := Event{Kind: EvProtocolError, Conn: c.id, Reason: ReasonProtocol}
	if c.sess != nil {
		ev.ClientID = c.sess.clientID
	}
	b.emit(ev)
	b.lose(c, ReasonProtocol, true)
}

// lose forgets connection c (nil is ignored): its session goes offline and
// its Will, if any, is published [MQTT-3.1.2-8]. closeOut asks the driver to
// close the connection (not needed when the driver reported the loss).
func (b *Broker) lose(c *conn, reason Reason, closeOut bool) {
	if c == nil {
		return
	}
	delete(b.conns, c.id)
	b.next.known = false
	s := c.sess
	if s != nil {
		b.becomeOffline(s, reason)
	}
	if closeOut {
		b.out = append(b.out, Output{Kind: OutClose, Conn: c.id})
	}
	if s != nil && c.will != nil {
		b.publishWill(s.clientID, c.user, c.id, c.will)
	}
}

// emit appends an observation event stamped with the current time.
func (b *Broker) emit(ev Event) {
	ev.At = b.now
	b.out = append(b.out, Output{Kind: OutEvent, Conn: ev.Conn, Event: ev})
}

// send appends a packet to write on c.
func (b *Broker) send(c *conn, p packet.Packet) {
	b.out = append(b.out, Output{Kind: OutSend, Conn: c.id, Packet: p})
}
