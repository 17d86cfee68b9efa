package broker

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Stats is a snapshot of the broker's size, for checkers and metrics.
type Stats struct {
	Online   int // sessions with a live connection
	Offline  int // persistent sessions waiting for their client
	Conns    int // connections, including those not yet CONNECTed
	Queued   int // copies waiting in session queues
	Inflight int // copies sent and not yet completed
	Retained int // retained messages
}

// String describes the stats on one line.
func (s Stats) String() string {
	return "online=" + strconv.Itoa(s.Online) + " offline=" + strconv.Itoa(s.Offline) +
		" conns=" + strconv.Itoa(s.Conns) + " queued=" + strconv.Itoa(s.Queued) +
		" inflight=" + strconv.Itoa(s.Inflight) + " retained=" + strconv.Itoa(s.Retained)
}

// Stats counts sessions, connections and pending copies.
func (b *Broker) Stats() Stats {
	st := Stats{Conns: len(b.conns), Retained: len(b.retained)}
	for _, s := range b.sessions {
		if s.online() {
			st.Online++
		} else {
			st.Offline++
		}
		st.Queued += s.queue.Len()
		st.Inflight += len(s.inflight)
	}
	return st
}

// QueueLen is the number of copies queued (not yet sent) for clientID, the
// quantity QueueCap bounds; 0 when there is no such session.
func (b *Broker) QueueLen(clientID string) int {
	if s := b.sessions[clientID]; s != nil {
		return s.queue.Len()
	}
	return 0
}

// InflightLen is the number of copies sent to clientID and not yet
// completed; 0 when there is no such session.
func (b *Broker) InflightLen(clientID string) int {
	if s := b.sessions[clientID]; s != nil {
		return len(s.inflight)
	}
	return 0
}

// HasSession reports whether a session exists for clientID.
func (b *Broker) HasSession(clientID string) bool { return b.sessions[clientID] != nil }

// sessionsInOrder returns the sessions by creation sequence.
func (b *Broker) sessionsInOrder() []*session {
	ss := make([]*session, 0, len(b.sessions))
	for _, s := range b.sessions {
		ss = append(ss, s)
	}
	slices.SortFunc(ss, func(x, y *session) int { return cmpU64(x.seq, y.seq) })
	return ss
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

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

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

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
	dst = binary.AppendUvarint(dst, uint64(len(s.window)))
	for i := range s.window {
		dst = binary.AppendUvarint(dst, uint64(s.window[(s.windowHead+i)%len(s.window)]))
	}
	return dst
}

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

func appendMessage(dst []byte, m *message) []byte {
	dst = binary.AppendUvarint(dst, uint64(m.id))
	dst = appendString(dst, m.publisher)
	dst = appendString(dst, m.topic)
	dst = appendString(dst, string(m.payload))
	dst = append(dst, byte(m.qos))
	return appendBool(dst, m.retain)
}
