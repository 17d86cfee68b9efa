package properties

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/properties/history"
)

// Explorer enumerates, breadth first, every interleaving of a small
// alphabet of operations up to Depth, from a fresh broker. Every transition
// runs the core and the model in lockstep (their outputs must agree) and
// feeds the core's events to the per-session specification (SessionPresent,
// expiry window, order, pacing, TTL, conservation); states are hashed (the
// core's AppendState plus the clients' and the specification's state) so
// that each distinct state is expanded once. Because the search is breadth
// first, the first violation found has a shortest path.
type Explorer struct {
	Policy      broker.Policy
	Clients     int
	Alphabet    []Op
	Depth       int // most operations on a path
	MaxMessages int // most PUBLISH operations on a path (each publishes one message)
	// Counters are the starting values of the packet-id counters; near
	// 65535, MaxMessages messages wrap them (NearWrap).
	Counters Counters

	mutate func(*Lockstep) // tests: plant a bug in the initial state
}

// Report is what an exploration found.
type Report struct {
	States      int   // distinct states reached, the initial one included
	Transitions int   // operations applied
	Depth       int   // depth completed
	Violation   error // nil if none
	Path        []Op  // a shortest path to the violation
	Trace       string
}

// String summarises the report; on a violation it lists the path.
func (r Report) String() string {
	s := fmt.Sprintf("%d states, %d transitions, depth %d", r.States, r.Transitions, r.Depth)
	if r.Violation == nil {
		return s
	}
	ops := make([]string, len(r.Path))
	for i, op := range r.Path {
		ops[i] = op.String()
	}
	return fmt.Sprintf("%s; violation after:\n  %s\ninputs:\n  %s\n%v", s, strings.Join(ops, "\n  "),
		strings.ReplaceAll(r.Trace, "\n", "\n  "), r.Violation)
}

// node is one reached state with the path that reached it first.
type node struct {
	l    *Lockstep
	spec *history.Live
	err  error // the first violation the specification saw on the way
	path []Op
	msgs int
}

// Run explores and returns what it found.
func (e Explorer) Run() Report {
	root, err := e.root()
	if err != nil {
		return Report{Violation: err}
	}
	seen := map[[sha256.Size]byte]bool{e.key(root): true}
	frontier := []*node{root}
	rep := Report{States: 1}
	for depth := 1; depth <= e.Depth && len(frontier) > 0; depth++ {
		var next []*node
		for _, n := range frontier {
			for _, op := range e.Alphabet {
				if op.Kind == OpPublish && n.msgs >= e.MaxMessages {
					continue
				}
				child, err := e.apply(n, op)
				rep.Transitions++
				if err != nil {
					rep.Violation, rep.Path, rep.Trace = err, child.path, child.l.Trace()
					return rep
				}
				if k := e.key(child); !seen[k] {
					seen[k] = true
					next = append(next, child)
				}
			}
		}
		rep.States += len(next)
		rep.Depth = depth
		frontier = next
	}
	return rep
}

// root returns the initial node.
func (e Explorer) root() (*node, error) {
	l, err := NewLockstepAt(e.Policy, e.Clients, e.Counters)
	if err != nil {
		return nil, err
	}
	if e.mutate != nil {
		e.mutate(l)
	}
	n := &node{l: l, spec: history.NewLive(e.Policy)}
	e.observe(n)
	return n, nil
}

// apply returns the child of n reached by op, and the violation, if any.
func (e Explorer) apply(n *node, op Op) (*node, error) {
	child := &node{l: n.l.Clone(), spec: n.spec.Clone(), path: append(n.path[:len(n.path):len(n.path)], op), msgs: n.msgs}
	if op.Kind == OpPublish {
		child.msgs++
	}
	e.observe(child)
	if err := child.l.Apply(op); err != nil {
		return child, err
	}
	return child, child.err
}

// observe routes the core's events of n to its specification checker.
func (e Explorer) observe(n *node) {
	n.l.Observe = func(rec *broker.Record) {
		if n.err == nil {
			n.err = n.spec.Step(rec)
		}
	}
}

// key is the state hash of n: SHA-256 of its canonical encoding, so that
// the seen set costs 32 bytes a state.
func (e Explorer) key(n *node) [sha256.Size]byte {
	b := n.l.AppendState(nil)
	b = n.spec.AppendState(b)
	b = fmt.Appendf(b, "|%d", n.msgs)
	return sha256.Sum256(b)
}

// NearWrap returns counters that wrap from 65535 to 1 after one message:
// the second of a session's copies, and a client's second packet, take id
// 1 while the first (65535) may still be unacknowledged.
func NearWrap() Counters { return Counters{PacketIDBase: 65534, ClientPacketID: 65534} }

// SmallAlphabet is the explorer's default alphabet for two clients and two
// topics: connect persistent or clean (c0 with a 10 s keepalive), subscribe
// at QoS 1 to one topic or to every topic, publish at QoS 1 and 0 (and 2
// where the policy grants it),
// acknowledge, disconnect, lose the connection, crash the broker (and
// restart it a second later), and time steps that cross
// the pacing (500 ms), keepalive (15 s) and the policy's expiry and TTL.
func SmallAlphabet(pol broker.Policy) []Op {
	ops := []Op{
		{Kind: OpConnect, Client: 0, KeepAlive: 10}, {Kind: OpConnect, Client: 1},
		{Kind: OpConnect, Client: 1, Clean: true},
		{Kind: OpSubscribe, Client: 0, Filter: "a", QoS: 1}, {Kind: OpSubscribe, Client: 1, Filter: "+", QoS: 1},
		{Kind: OpPublish, Client: 1, Topic: "a", QoS: 1, Count: 1}, {Kind: OpPublish, Client: 0, Topic: "b", QoS: 1, Count: 1},
		{Kind: OpPublish, Client: 1, Topic: "a", QoS: 0, Count: 1},
		{Kind: OpAck, Client: 0}, {Kind: OpAck, Client: 1},
		{Kind: OpDisconnect, Client: 0}, {Kind: OpLose, Client: 1},
		{Kind: OpAdvance, D: 500 * time.Millisecond}, {Kind: OpAdvance, D: 15 * time.Second},
		{Kind: OpCrash, D: time.Second},
	}
	if pol.MaxQoS == 2 {
		ops = append(ops, Op{Kind: OpPublish, Client: 0, Topic: "a", QoS: 2, Count: 1})
	}
	if long := max(pol.SessionExpiry+pol.ExpirySweep, pol.MessageTTL); long > 0 {
		ops = append(ops, Op{Kind: OpAdvance, D: long})
	}
	return ops
}
