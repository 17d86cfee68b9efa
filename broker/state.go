package broker

import (
	"encoding/binary"
	"slices"
)

// AppendState appends a canonical encoding of the broker's full logical
// state to dst: equal states encode to equal bytes whatever the history of
// maps and heaps. Timer heap entries are hints derived from state and are
// not encoded. For state hashing by the exhaustive explorer.
func (b *Broker) AppendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(b.now))
	dst = binary.AppendUvarint(dst, b.sessSeq)
	dst = binary.AppendUvarint(dst, b.autoIDs)
	dst = binary.AppendUvarint(dst, uint64(b.nextMsg))
	ids := make([]ConnID, 0, len(b.conns))
	for id := range b.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = appendConn(dst, b.conns[id])
	}
	ss := b.sessionsInOrder()
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendSession(dst, s)
	}
	topics := make([]string, 0, len(b.retained))
	for t := range b.retained {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	dst = binary.AppendUvarint(dst, uint64(len(topics)))
	for _, t := range topics {
		dst = appendMessage(dst, b.retained[t])
	}
	return dst
}

// appendString appends s with its length.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendBool appends v as one byte.
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendConn appends the logical state of c.
func appendConn(dst []byte, c *conn) []byte {
	dst = binary.AppendUvarint(dst, uint64(c.id))
	var client string
	if c.sess != nil {
		client = c.sess.clientID
	}
	dst = appendString(dst, client)
	dst = appendString(dst, c.user)
	dst = binary.AppendUvarint(dst, uint64(c.keepalive))
	dst = binary.AppendUvarint(dst, uint64(c.lastRecv))
	dst = appendBool(dst, c.will != nil)
	if c.will != nil {
		dst = appendString(dst, c.will.Topic)
		dst = appendString(dst, string(c.will.Payload))
		dst = append(dst, byte(c.will.QoS))
		dst = appendBool(dst, c.will.Retain)
	}
	return dst
}

// appendSession appends the logical state of s; timer hints are left out.
func appendSession(dst []byte, s *session) []byte {
	dst = appendString(dst, s.clientID)
	dst = binary.AppendUvarint(dst, s.seq)
	dst = appendBool(dst, s.clean)
	dst = appendString(dst, s.user)
	dst = binary.AppendUvarint(dst, uint64(len(s.subs)))
	for _, sub := range s.subs {
		dst = appendString(dst, sub.filter)
		dst = append(dst, byte(sub.qos))
	}
	dst = binary.AppendUvarint(dst, uint64(s.queue.Len()))
	for i := 0; i < s.queue.Len(); i++ {
		dst = appendDelivery(dst, s.queue.at(i))
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.inflight)))
	for i := range s.inflight {
		dst = appendDelivery(dst, &s.inflight[i])
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.inbound2)))
	for _, id := range s.inbound2 {
		dst = binary.AppendUvarint(dst, uint64(id))
	}
	dst = binary.AppendUvarint(dst, uint64(s.nextPID))
	dst = binary.AppendUvarint(dst, uint64(s.offlineAt))
	dst = appendBool(dst, s.expires)
	dst = binary.AppendUvarint(dst, uint64(s.expireAt))
	dst = binary.AppendUvarint(dst, uint64(s.backlog))
	dst = appendBool(dst, s.replayed)
	dst = binary.AppendUvarint(dst, uint64(s.lastReplay))
	return dst
}

// appendDelivery appends one copy with its message.
func appendDelivery(dst []byte, d *delivery) []byte {
	dst = appendMessage(dst, d.msg)
	dst = binary.AppendUvarint(dst, uint64(d.at))
	dst = binary.AppendUvarint(dst, uint64(d.firstSent))
	dst = binary.AppendUvarint(dst, uint64(d.lastSent))
	dst = binary.AppendUvarint(dst, uint64(d.pid))
	dst = append(dst, byte(d.qos), byte(d.state))
	dst = appendBool(dst, d.stored)
	return appendBool(dst, d.resend)
}

// appendMessage appends a message by value.
func appendMessage(dst []byte, m *message) []byte {
	dst = binary.AppendUvarint(dst, uint64(m.id))
	dst = appendString(dst, m.publisher)
	dst = appendString(dst, m.topic)
	dst = appendString(dst, string(m.payload))
	dst = append(dst, byte(m.qos))
	return appendBool(dst, m.retain)
}
