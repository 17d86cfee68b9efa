package check

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// conn is the checker's view of one network connection.
type conn struct {
	id        broker.ConnID
	client    *client // set by CONNECT
	clean     bool
	keepalive time.Duration
	lastRecv  time.Duration // the last packet the broker received on it
	will      bool          // a Will is held for it
	accepted  bool          // CONNACK 0 sent
	ended     bool          // closed by the broker, or lost
	kaArmed   bool          // a dueKeepalive for it is in the heap
	offline   bool          // its session went offline (EvDisconnected)
	// wantSP is the SessionPresent the shadow expects for the CONNACK;
	// maySP says either value is allowed (inside an expiry tolerance).
	wantSP, maySP bool
	qos0          []*copyRec // QoS 0 copies sent on it, not yet received
}

// client is the checker's shadow of one ClientId's session.
type client struct {
	id        string
	idx       uint32 // its index, in order of first appearance (copyKey)
	gen       uint32 // session incarnation, bumped by EvSessionCreated
	exists    bool   // a session exists for the ClientId
	clean     bool   // that session is a clean one
	online    bool
	conn      *conn // the accepted connection, nil when none
	offlineAt time.Duration

	queue    []*copyRec // queued copies, in enqueue order
	inflight []*copyRec // sent QoS>0 copies, in first-send order

	// Resume state: the copies owed a DUP resend, in order, and the ids
	// owed a PUBREL; pacing of stored sends.
	resend     []*copyRec
	pubrelOwed []uint16
	paced      []time.Duration // the latest stored sends since the resume (model.PaceWindow of them)
	nPaced     int             // stored sends since the resume

	willOwed bool // an abrupt loss owes the Will before the next input
	// crashOnline: the session was online when the broker crashed; it goes
	// offline at the restart.
	crashOnline bool

	recent [recentLen]broker.Event
	nRec   int
}

// holds reports whether a copy in flight to c holds packet id pid.
func (c *client) holds(pid uint16) bool {
	for _, r := range c.inflight {
		if r.pid == pid {
			return true
		}
	}
	return false
}

// recentLen is how many events per client a violation report shows.
const recentLen = 8

// note remembers ev among the client's recent events.
func (c *client) note(ev broker.Event) {
	c.recent[c.nRec%recentLen] = ev
	c.nRec++
}

// recentLines returns the client's recent events, oldest first.
func (c *client) recentLines() []string {
	n := min(c.nRec, recentLen)
	out := make([]string, 0, n)
	for i := c.nRec - n; i < c.nRec; i++ {
		out = append(out, c.recent[i%recentLen].String())
	}
	return out
}

// msg is one accepted message and the accounting of its copies.
type msg struct {
	id        broker.MsgID
	publisher string
	topic     string
	qos       packet.QoS
	retain    bool
	uid       uint64 // the simulator's payload id, 0 when none
	older     *msg   // the previous message with the same uid, if still held
	at        time.Duration
	owed      int // EvPublished.Copies
	seen      int // distinct copies the broker reported
	delivered int
	dropped   int
	records   int // copy records the checker still holds
}

// open reports whether some copy of m is still pending or unreported.
func (m *msg) open() bool { return m.delivered+m.dropped < m.owed }

// copyKey names one subscriber copy in one machine word, so that the map
// takes its fast 64-bit path: the message in the high 40 bits, the
// client's index in the low 24 (clientBits).
type copyKey uint64

// clientBits is how many bits of a copyKey hold the client's index: 16.7
// million clients, far above any simulated fleet.
const clientBits = 24

// keyOf names the copy of message msg for cl.
func keyOf(msg broker.MsgID, cl *client) copyKey {
	return copyKey(uint64(msg)<<clientBits | uint64(cl.idx))
}

// copyRec is the checker's view of one subscriber copy.
type copyRec struct {
	m         *msg
	cl        *client
	gen       uint32
	qos       packet.QoS
	pid       uint16
	queued    bool
	queuedAt  time.Duration
	wasQueued bool
	inflight  bool
	waitComp  bool // QoS 2 after PUBREC
	sent      bool
	firstSent time.Duration
	delivered bool
	dropped   bool
	received  int
}

// done reports whether the copy reached its end state at the broker.
func (r *copyRec) done() bool { return r.delivered || r.dropped }

// wirePub is what the checker keeps of a PUBLISH the broker sent: the
// packet itself may be reused by the core, its fields may not.
type wirePub struct {
	conn broker.ConnID
	dup  bool
	qos  packet.QoS
	pid  uint16
	uid  uint64
	set  bool
}
