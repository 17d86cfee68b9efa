package broker

import (
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

// PayloadBytes is the total payload size of the messages the broker holds
// between steps: queued, in flight or retained, each message counted once
// however many copies point at it (a retained message replayed on
// SUBSCRIBE is a message of its own). Drivers bound memory with it (broker/tcp's
// MemoryLimit).
func (b *Broker) PayloadBytes() int { return b.payloadBytes }

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

// cmpU64 compares a and b like cmp.Compare.
func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
