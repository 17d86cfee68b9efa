package broker

import "github.com/sessionlab/sessionlab/broker/packet"

// maxPacketIDs is the number of distinct non-zero packet identifiers.
const maxPacketIDs = 65535

// subscription is one topic filter of a session with its granted QoS.
type subscription struct {
	filter string
	qos    packet.QoS
}

// session is the server side of an MQTT session: subscriptions, the queue of
// copies not yet sent, copies in flight, and inbound QoS 2 packet ids waiting
// for PUBREL. Its fields change together in becomeOnline and becomeOffline.
//
// Fields are ordered to leave no padding (the bytes and flags last): an
// idle persistent session is this struct, and it stays in the 208-byte size
// class.
type session struct {
	clientID string
	user     string // the user of the last accepted CONNECT (for CanRead)
	seq      uint64 // creation sequence: the deterministic order of sessions
	conn     *conn  // nil while offline

	subs     []subscription // sorted by filter
	queue    ring           // copies not yet sent, oldest first
	inflight []delivery     // copies sent and not yet completed, in send order
	inbound2 []uint16       // inbound QoS 2 packet ids waiting for PUBREL [MQTT-4.3.3-2]
	resends  int            // in-flight copies with resend set: re-sends still owed since the resume
	backlog  int            // stored copies still in the queue since the last resume

	offlineAt  Time // when the disconnect was detected
	expireAt   Time // offline persistent sessions with expiry: when it expires
	lastReplay Time // last stored send (ReplayInterval, ReplayRate)
	pushed     Time // earliest timer heap entry of s

	nextPID  uint16
	clean    bool
	dirty    bool // in Broker.dirty: timers to re-arm at the end of Step
	expires  bool // expireAt is meaningful
	replayed bool // lastReplay is meaningful
	armed    bool // pushed is meaningful
}

// online reports whether a connection is attached to s.
func (s *session) online() bool { return s.conn != nil }

// findSub returns the index of filter in s.subs and whether it is there.
func (s *session) findSub(filter string) (int, bool) {
	lo, hi := 0, len(s.subs)
	for lo < hi {
		mid := (lo + hi) / 2
		if s.subs[mid].filter < filter {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(s.subs) && s.subs[lo].filter == filter
}

// hasInbound2 reports whether pid is an inbound QoS 2 id awaiting PUBREL.
func (s *session) hasInbound2(pid uint16) bool {
	for _, id := range s.inbound2 {
		if id == pid {
			return true
		}
	}
	return false
}

// addInbound2 records pid, keeping inbound2 sorted (its order is no
// behaviour's, and sorted it encodes like the durable state recovers it).
func (s *session) addInbound2(pid uint16) {
	i := 0
	for i < len(s.inbound2) && s.inbound2[i] < pid {
		i++
	}
	s.inbound2 = append(s.inbound2, 0)
	copy(s.inbound2[i+1:], s.inbound2[i:])
	s.inbound2[i] = pid
}

// removeInbound2 forgets pid and reports whether it was there.
func (s *session) removeInbound2(pid uint16) bool {
	for i, id := range s.inbound2 {
		if id == pid {
			s.inbound2 = append(s.inbound2[:i], s.inbound2[i+1:]...)
			return true
		}
	}
	return false
}

// findInflight returns the index of the in-flight copy with pid, or -1.
func (s *session) findInflight(pid uint16) int {
	for i := range s.inflight {
		if s.inflight[i].pid == pid {
			return i
		}
	}
	return -1
}

// allocPID returns the next packet id not used by a copy in flight
// [MQTT-2.3.1-2]. The caller guarantees fewer than maxPacketIDs are in flight.
func (s *session) allocPID() uint16 {
	for {
		s.nextPID++
		if s.nextPID == 0 {
			s.nextPID = 1
		}
		if s.findInflight(s.nextPID) < 0 {
			return s.nextPID
		}
	}
}

// conn is one network connection known to the broker.
type conn struct {
	id        ConnID
	sess      *session // nil until a CONNECT is accepted
	user      string
	keepalive Time // 0: no keepalive
	lastRecv  Time
	will      *packet.Publish // nil: no Will, or discarded by DISCONNECT
	pushedKA  Time
	armedKA   bool
	v31       bool // the CONNECT was MQTT 3.1 (its CONNACK has no session present flag)
}
