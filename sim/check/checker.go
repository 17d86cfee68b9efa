package check

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
)

// Config configures a Checker.
type Config struct {
	// Policy is the broker's policy; only the invariants in its Promises
	// are checked.
	Policy broker.Policy
	// HealAt is when the healed phase starts (the scenario's Duration).
	HealAt time.Duration
	// Bound is how long after max(HealAt, publication) a pending copy may
	// stay undelivered before the run is a liveness failure (see Bound).
	// Zero disables the liveness check.
	Bound time.Duration
	// Crashes says the broker may crash in this run (sim.CanCrash): the
	// checker then remembers which messages it saw accepted since the last
	// crash, to hold acknowledgements to durability.
	Crashes bool
	// Next, when set, is called after the checker for every observation,
	// so the checker can be chained with another observer.
	Next sim.Observer
}

// Checker is a sim.Observer that checks the invariants (the README's table) as a
// run goes. Use it from one goroutine (the run's); call Finish once at the
// end of the run, then Violation.
type Checker struct {
	cfg   Config
	first *Violation
	now   time.Duration

	conns   map[broker.ConnID]*conn
	clients map[string]*client
	msgs    map[broker.MsgID]*msg
	copies  map[copyKey]*copyRec
	uids    map[uint64]*msg           // payload id -> the newest message carrying it (older ones chained)
	order   map[orderKey]broker.MsgID // last first-received message per publisher and topic

	lastPub wirePub // the last PUBLISH the broker sent, to hold EvSent to it
	inConn  *conn
	curUID  uint64
	fresh   []*msg    // published in the current step
	settle  []*client // clients owing a PUBREL or a Will by the end of the step
	dues    dueHeap
	acks    map[uint64]ackWait // acknowledged PUBLISHes not yet seen accepted (crashes)
	seen    map[uint64]bool    // payload ids accepted since the last crash (Config.Crashes)
	down    bool               // the broker crashed and has not restarted
}

// orderKey is one subscriber's view of one publisher's topic (invariant 7).
type orderKey struct {
	sub       *client
	publisher string
	topic     string
}

// New returns a checker for one run.
func New(cfg Config) *Checker {
	k := &Checker{cfg: cfg,
		conns: map[broker.ConnID]*conn{}, clients: map[string]*client{},
		msgs: map[broker.MsgID]*msg{}, copies: map[copyKey]*copyRec{},
		uids: map[uint64]*msg{}, order: map[orderKey]broker.MsgID{}}
	if cfg.Bound > 0 {
		k.dues.add(due{at: cfg.HealAt + cfg.Bound + livenessEvery(cfg.Bound), kind: dueLiveness})
	}
	return k
}

// Violation returns the first violation found, or nil.
func (k *Checker) Violation() *Violation { return k.first }

// Step implements sim.Observer: it fires the checker's own deadlines that
// passed before the step, follows its input and every output in order, then
// checks what must hold once a step is over.
func (k *Checker) Step(rec *broker.Record) {
	if rec.Input.Kind == broker.InRecover {
		k.now = rec.At
		k.rebaseDues(rec.At)
		k.expireDues(rec.At)
		k.recovered(rec)
		if k.cfg.Next != nil {
			k.cfg.Next.Step(rec)
		}
		return
	}
	k.now = rec.At
	k.expireDues(rec.At)
	k.inConn, k.curUID = nil, 0
	k.input(rec.Input)
	for i := range rec.Outputs {
		out := &rec.Outputs[i]
		switch out.Kind {
		case broker.OutSend:
			k.send(out.Conn, out.Packet)
		case broker.OutClose:
			if c := k.conns[out.Conn]; c != nil {
				k.endConn(c)
			}
		case broker.OutEvent:
			k.event(&out.Event)
		}
	}
	k.settleStep()
	if k.cfg.Next != nil {
		k.cfg.Next.Step(rec)
	}
}

// Received implements sim.Observer.
func (k *Checker) Received(now broker.Time, clientID string, p *packet.Publish) {
	k.now = now
	k.received(clientID, p)
	if k.cfg.Next != nil {
		k.cfg.Next.Received(now, clientID, p)
	}
}

// promised reports whether the policy promises inv.
func (k *Checker) promised(inv broker.Invariant) bool {
	return k.cfg.Policy.Promises.Has(inv)
}

// fail records a safety violation of inv by cl (may be nil), unless one was
// already found or the policy does not promise inv.
func (k *Checker) fail(cl *client, inv broker.Invariant, source, format string, args ...any) {
	k.failAt(Safety, k.now, cl, inv, source, fmt.Sprintf(format, args...))
}

// failAt records a violation of the given kind at time at.
func (k *Checker) failAt(kind Kind, at time.Duration, cl *client, inv broker.Invariant, source, detail string) {
	if k.first != nil || !k.promised(inv) {
		return
	}
	v := &Violation{Kind: kind, At: at, Inv: inv, Source: source, Detail: detail}
	if cl != nil {
		v.Client, v.Recent = cl.id, cl.recentLines()
	}
	k.first = v
}

// clientOf returns the shadow of id, creating it.
func (k *Checker) clientOf(id string) *client {
	cl := k.clients[id]
	if cl == nil {
		if len(k.clients) >= 1<<clientBits {
			panic("sim/check: more clients than a copyKey can name")
		}
		cl = &client{id: id, idx: uint32(len(k.clients))}
		k.clients[id] = cl
	}
	return cl
}

// settleStep checks what must hold once a step's outputs are drained (it is
// idempotent: Finish calls it again):
// every PUBLISH sent and every owed copy of a message published in it was
// reported (15), every
// resumed QoS 2 flow got its PUBREL (5), every abrupt loss its Will (18).
func (k *Checker) settleStep() {
	k.unreported()
	for _, m := range k.fresh {
		if m.seen != m.owed {
			k.fail(k.clients[m.publisher], broker.InvConservation, "(invariant 15)",
				"message %d on %q owes %d copies but the broker reported %d", m.id, m.topic, m.owed, m.seen)
		}
	}
	k.fresh = k.fresh[:0]
	for _, cl := range k.settle {
		if len(cl.pubrelOwed) > 0 {
			k.fail(cl, broker.InvRedelivery, "[MQTT-4.4.0-1]",
				"resumed session did not re-send PUBREL for packet id %d", cl.pubrelOwed[0])
			cl.pubrelOwed = nil
		}
		if cl.willOwed {
			k.fail(cl, broker.InvWill, "[MQTT-3.1.2-8]", "connection lost without DISCONNECT but the Will was not published")
			cl.willOwed = false
		}
	}
	k.settle = k.settle[:0]
}
