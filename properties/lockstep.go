package properties

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

// Lockstep drives the broker core and the model with the same operations and
// compares, after every input, every observable output: the packets sent on
// each connection, the connections closed, and the events the model
// predicts. Outbound packet ids are the one thing each side chooses freely:
// Lockstep pairs them when a PUBLISH is first sent and checks that resends
// and PUBRELs keep the pairing.
type Lockstep struct {
	counters Counters
	core     *broker.Broker
	image    *broker.Image // the core's durable state (every step's changes)
	model    *model.Model
	now      broker.Time
	lastConn broker.ConnID
	clients  []client
	trace    []string // every input so far, "time input"

	coreKeys, modelKeys msgKeys

	// Observe, when set, sees the record of every step of the core after
	// its outputs have been compared (for coverage statistics and invariant
	// checks). It must not keep the record.
	Observe func(*broker.Record)

	// mutant, when set (tests only), rewrites the core's outputs of each
	// step before they are compared, as a core with a planted bug would
	// have produced them.
	mutant func([]broker.Output)
}

// client is the test's view of one MQTT client: its connection and what it
// owes the broker.
type client struct {
	conn       broker.ConnID // 0 while offline
	lastPID    uint16
	published  int      // payload counter
	unreleased []uint16 // QoS 2 PUBLISHes sent and not yet PUBRELed
	pending    []pending
}

// pending is a delivery from the broker awaiting the client's next
// acknowledgement, with the packet id on each side.
type pending struct {
	core, model uint16
	qos         packet.QoS
	recSent     bool // QoS 2: PUBREC sent, waiting for PUBREL
	released    bool // QoS 2: PUBREL received, PUBCOMP owed
}

// Counters are the starting values of the counters a run begins with. The
// zero value is a fresh broker and fresh clients; values near 65535 let a
// short run wrap the 16-bit packet ids while earlier ones are in flight.
type Counters struct {
	// PacketIDBase starts the outbound packet-id counter of every new
	// session, in the core (broker.Config.PacketIDBase) and in the model
	// (model.WithPacketIDBase) alike: the first PUBLISH takes base+1.
	PacketIDBase uint16
	// ClientPacketID starts each client's own packet-id counter (PUBLISH,
	// SUBSCRIBE, UNSUBSCRIBE); its first packet takes the next id.
	ClientPacketID uint16
}

// String describes the counters for a failure report.
func (c Counters) String() string {
	return fmt.Sprintf("session packet ids after %d, client packet ids after %d", c.PacketIDBase, c.ClientPacketID)
}

// NewLockstep returns a runner for clients c0..c(n-1) under pol.
func NewLockstep(pol broker.Policy, n int) (*Lockstep, error) {
	return NewLockstepAt(pol, n, Counters{})
}

// NewLockstepAt returns a runner for clients c0..c(n-1) under pol whose
// counters start at c.
func NewLockstepAt(pol broker.Policy, n int, c Counters) (*Lockstep, error) {
	core, err := broker.New(broker.Config{Policy: pol, PacketIDBase: c.PacketIDBase, Durable: true, ReportRestored: true})
	if err != nil {
		return nil, err
	}
	l := &Lockstep{counters: c, core: core, image: broker.NewImage(), model: model.New(pol, model.WithPacketIDBase(c.PacketIDBase)),
		clients: make([]client, n)}
	for i := range l.clients {
		l.clients[i].lastPID = c.ClientPacketID
	}
	return l, nil
}

// Counters returns the starting values the runner was created with.
func (l *Lockstep) Counters() Counters { return l.counters }

// Clone returns an independent copy of the runner, for the explorer.
func (l *Lockstep) Clone() *Lockstep {
	c := *l
	c.core, c.model, c.image = l.core.Clone(), l.model.Clone(), l.image.Clone()
	c.coreKeys, c.modelKeys = l.coreKeys.clone(), l.modelKeys.clone()
	c.clients = make([]client, len(l.clients))
	for i, cl := range l.clients {
		cl.unreleased = slices.Clone(cl.unreleased)
		cl.pending = slices.Clone(cl.pending)
		c.clients[i] = cl
	}
	c.trace = slices.Clip(l.trace)
	return &c
}

// AppendState appends a canonical encoding of the core's state, the
// model's and the clients' views to dst, for state hashing.
func (l *Lockstep) AppendState(dst []byte) []byte {
	dst = l.core.AppendState(dst)
	dst = l.model.AppendState(dst)
	for _, c := range l.clients {
		dst = fmt.Appendf(dst, "|%d %d %d %v %v", c.conn, c.lastPID, c.published, c.unreleased, c.pending)
	}
	return dst
}

// Trace returns every input applied so far, one per line in the describer
// format ("time input"). A run of more than three deadlines in a row (a
// retry every 30 s through a day) is shortened to its first and last with
// the number left out.
func (l *Lockstep) Trace() string {
	var lines []string
	for i := 0; i < len(l.trace); {
		j := i
		for j < len(l.trace) && strings.HasSuffix(l.trace[j], " deadline") {
			j++
		}
		if j-i > 3 {
			lines = append(lines, l.trace[i], fmt.Sprintf("... %d deadlines ...", j-i-2), l.trace[j-1])
			i = j
			continue
		}
		lines = append(lines, l.trace[i])
		i++
	}
	return strings.Join(lines, "\n")
}

// Apply performs op on both sides and returns the first disagreement. An
// operation that makes no sense in the current state (publishing while
// offline, acknowledging nothing) does nothing.
func (l *Lockstep) Apply(op Op) error {
	switch op.Kind {
	case OpAdvance:
		return l.advance(op.D)
	case OpDeadline:
		return l.toDeadline(op.D)
	case OpCrash:
		return l.crash(op.D)
	}
	if op.Client < 0 || op.Client >= len(l.clients) {
		return nil
	}
	c := &l.clients[op.Client]
	if op.Kind == OpConnect {
		return l.connect(op, c)
	}
	if c.conn == 0 {
		return nil
	}
	switch op.Kind {
	case OpSubscribe:
		subs := []packet.Subscription{{Filter: op.Filter, QoS: op.QoS}}
		if op.Filter2 != "" {
			subs = append(subs, packet.Subscription{Filter: op.Filter2, QoS: 2 - op.QoS})
		}
		return l.send(c, &packet.Subscribe{PacketID: l.pid(c), Subscriptions: subs})
	case OpUnsubscribe:
		filters := []string{op.Filter}
		if op.Filter2 != "" {
			filters = append(filters, op.Filter2)
		}
		return l.send(c, &packet.Unsubscribe{PacketID: l.pid(c), Filters: filters})
	case OpPublish:
		return l.publish(op, c)
	case OpRepublish, OpRelease:
		return l.release(op, c)
	case OpAck:
		return l.ack(op, c)
	case OpPing:
		return l.send(c, &packet.Pingreq{})
	case OpDisconnect:
		return l.send(c, &packet.Disconnect{})
	case OpViolate:
		return l.send(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: clientID(op.Client)})
	case OpLose:
		in := broker.Input{Kind: broker.InLost, Conn: c.conn}
		c.conn = 0
		return l.step(in, in)
	}
	return nil
}

// connect opens a new connection for the client and sends CONNECT.
func (l *Lockstep) connect(op Op, c *client) error {
	l.lastConn++
	open := broker.Input{Kind: broker.InOpen, Conn: l.lastConn}
	if err := l.step(open, open); err != nil {
		return err
	}
	c.conn = l.lastConn
	p := &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: clientID(op.Client),
		CleanSession: op.Clean, KeepAlive: op.KeepAlive}
	if op.Will {
		p.WillFlag, p.WillQoS, p.WillTopic, p.WillPayload = true, 1, "will", []byte(p.ClientID+" will")
	}
	return l.send(c, p)
}

// publish sends op.Count PUBLISHes, each a separate input.
func (l *Lockstep) publish(op Op, c *client) error {
	for range max(op.Count, 1) {
		if c.conn == 0 {
			return nil // a QoS 2 refusal may have closed the connection
		}
		c.published++
		p := &packet.Publish{QoS: op.QoS, Retain: op.Retain, Topic: op.Topic, Payload: fmt.Appendf(nil, "c%d#%d", l.index(c), c.published)}
		if op.QoS > 0 {
			p.PacketID = l.pid(c)
		}
		if op.QoS == 2 {
			c.unreleased = append(c.unreleased, p.PacketID)
		}
		if err := l.send(c, p); err != nil {
			return err
		}
	}
	return nil
}

// release re-sends (DUP=1, same id and payload) or releases the client's
// oldest unreleased QoS 2 PUBLISH.
func (l *Lockstep) release(op Op, c *client) error {
	if len(c.unreleased) == 0 {
		return nil
	}
	id := c.unreleased[0]
	if op.Kind == OpRepublish {
		return l.send(c, &packet.Publish{Dup: true, QoS: 2, Topic: "a", PacketID: id, Payload: []byte("dup")})
	}
	c.unreleased = c.unreleased[1:]
	return l.send(c, &packet.Pubrel{PacketID: id})
}

// ack sends the next acknowledgement the client owes for one pending
// delivery: PUBACK (QoS 1), PUBREC (QoS 2) or PUBCOMP (after PUBREL).
func (l *Lockstep) ack(op Op, c *client) error {
	var due []int
	for i, p := range c.pending {
		if !p.recSent || p.released {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		return nil
	}
	i := due[op.Index%len(due)]
	p := c.pending[i]
	var core, mod packet.Packet
	switch {
	case p.qos == 1:
		core, mod = &packet.Puback{PacketID: p.core}, &packet.Puback{PacketID: p.model}
		c.pending = slices.Delete(c.pending, i, i+1)
	case p.released:
		core, mod = &packet.Pubcomp{PacketID: p.core}, &packet.Pubcomp{PacketID: p.model}
		c.pending = slices.Delete(c.pending, i, i+1)
	default:
		core, mod = &packet.Pubrec{PacketID: p.core}, &packet.Pubrec{PacketID: p.model}
		c.pending[i].recSent = true
	}
	return l.step(broker.Input{Kind: broker.InPacket, Conn: c.conn, Packet: core},
		broker.Input{Kind: broker.InPacket, Conn: c.conn, Packet: mod})
}

// send delivers the same packet to both sides on the client's connection.
func (l *Lockstep) send(c *client, p packet.Packet) error {
	in := broker.Input{Kind: broker.InPacket, Conn: c.conn, Packet: p}
	return l.step(in, in)
}

// pid returns the client's next packet id that no unreleased QoS 2 PUBLISH
// holds [MQTT-2.3.1-2].
func (l *Lockstep) pid(c *client) uint16 {
	for {
		c.lastPID++
		if c.lastPID != 0 && !slices.Contains(c.unreleased, c.lastPID) {
			return c.lastPID
		}
	}
}

// index returns the number of client c.
func (l *Lockstep) index(c *client) int {
	for i := range l.clients {
		if &l.clients[i] == c {
			return i
		}
	}
	return -1
}

// advance lets d pass: every deadline either side announces up to now+d is
// fired, on both sides, at that time, in order. The core must have
// announced every deadline it acts on: a driver calls it only then.
func (l *Lockstep) advance(d broker.Time) error {
	target := l.now + d
	in := broker.Input{Kind: broker.InDeadline}
	for same := 0; ; same++ {
		t, ok := l.nextDeadline()
		if !ok || t > target {
			break
		}
		if t <= l.now && same > 1000 {
			return fmt.Errorf("deadline stuck at %v: core %v, model %v", t, fmtDeadline(l.core.NextDeadline()), fmtDeadline(l.model.NextDeadline()))
		}
		if t > l.now {
			l.now, same = t, 0
		}
		ties := l.model.DueAt(t)
		coreT, coreOK := l.core.NextDeadline()
		if err := l.step(in, in); err != nil {
			if ties > 1 {
				return &TieError{Err: err}
			}
			return err
		}
		if (!coreOK || t < coreT) && len(l.core.Outputs()) > 0 {
			return fmt.Errorf("at %v the core acted on a deadline it had not announced (NextDeadline %s): a driver would have missed it",
				t, fmtDeadline(coreT, coreOK))
		}
	}
	l.now = target
	return nil
}

// toDeadline lets time pass to the next deadline either side announces,
// plus off (off < 0: just before it; a target not after now does nothing).
// The deadlines are those of the state, so the jump lands on a TTL, an
// expiry or a pacing tick wherever the operations before put it.
func (l *Lockstep) toDeadline(off broker.Time) error {
	t, ok := l.nextDeadline()
	if !ok || t+off <= l.now {
		return nil
	}
	return l.advance(t + off - l.now)
}

// nextDeadline is the earlier of the two sides' deadlines.
func (l *Lockstep) nextDeadline() (broker.Time, bool) {
	t1, ok1 := l.core.NextDeadline()
	t2, ok2 := l.model.NextDeadline()
	switch {
	case ok1 && ok2:
		return min(t1, t2), true
	case ok1:
		return t1, true
	}
	return t2, ok2
}

func fmtDeadline(t broker.Time, ok bool) string {
	if !ok {
		return "none"
	}
	return t.String()
}

// step feeds inCore to the core and inModel to the model at the current
// time (they differ only in the packet ids of acknowledgements) and
// compares what they output.
func (l *Lockstep) step(inCore, inModel broker.Input) error {
	l.trace = append(l.trace, l.now.String()+" "+inCore.String())
	rec := l.core.Step(l.now, inCore).Clone()
	if err := l.keep(rec.Changes); err != nil {
		return fmt.Errorf("after %s: %w", inCore, err)
	}
	got := rec.Outputs
	if l.mutant != nil {
		l.mutant(got)
	}
	want := l.model.Step(l.now, inModel).Outputs
	if err := l.compare(got, want); err != nil {
		return fmt.Errorf("after %s: %w\ncore:\n  %s\nmodel:\n  %s\n%s", inCore, err,
			joinOutputs(got), joinOutputs(want), l.model)
	}
	if err := l.checkSizes(); err != nil {
		return fmt.Errorf("after %s: %w\n%s", inCore, err, l.model)
	}
	if l.Observe != nil {
		l.Observe(&rec)
	}
	return nil
}

// keep applies the core's durable changes to the image.
func (l *Lockstep) keep(changes []broker.Change) error {
	for i := range changes {
		if err := l.image.Apply(&changes[i]); err != nil {
			return fmt.Errorf("durable changes do not apply: %w", err)
		}
	}
	return nil
}

// crash kills the broker between steps, with everything it did durable,
// and restarts it after downtime d: the core is rebuilt by broker.Recover
// from the image, the model by model.Crash, and their recovery records
// must agree. Every client's connection is gone (the clients keep what
// they owe: they resume it when they reconnect).
func (l *Lockstep) crash(d broker.Time) error {
	for i := range l.clients {
		l.clients[i].conn = 0
	}
	l.now += max(d, 0)
	l.trace = append(l.trace, l.now.String()+" crash, restart")
	core, rec, err := broker.Recover(l.core.Config(), l.image, l.now)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if err := l.keep(rec.Changes); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	l.core = core
	rec = rec.Clone()
	want := l.model.Crash(l.now).Outputs
	if err := l.compare(rec.Outputs, want); err != nil {
		return fmt.Errorf("after a crash and restart at %v: %w\ncore:\n  %s\nmodel:\n  %s\n%s", l.now, err,
			joinOutputs(rec.Outputs), joinOutputs(want), l.model)
	}
	if err := l.checkSizes(); err != nil {
		return fmt.Errorf("after a crash and restart: %w\n%s", err, l.model)
	}
	if l.Observe != nil {
		l.Observe(&rec)
	}
	return l.advance(0) // a driver steps what fell due during the downtime first
}

// checkSizes compares each client's session with the model's: whether it
// exists [MQTT-3.1.2-6], [MQTT-3.2.2-2], how many copies wait and how many
// are in flight; and holds both to the queue cap (invariant 8) and the
// in-flight window.
func (l *Lockstep) checkSizes() error {
	pol := l.core.Policy()
	for i := range l.clients {
		id := clientID(i)
		exists, queued, inflight := l.model.Sizes(id)
		got := fmt.Sprint(l.core.HasSession(id), l.core.QueueLen(id), l.core.InflightLen(id))
		if want := fmt.Sprint(exists, queued, inflight); got != want {
			return fmt.Errorf("%s: session, queued, in flight = %s, model %s", id, got, want)
		}
		if pol.QueueCap > 0 && queued > pol.QueueCap {
			return fmt.Errorf("%s: %d copies queued, cap %d (invariant 8)", id, queued, pol.QueueCap)
		}
		if pol.InflightWindow > 0 && inflight > pol.InflightWindow {
			return fmt.Errorf("%s: %d copies in flight, window %d", id, inflight, pol.InflightWindow)
		}
	}
	return nil
}

func joinOutputs(outs []broker.Output) string {
	s := make([]string, len(outs))
	for i, o := range outs {
		s[i] = o.String()
	}
	return strings.Join(s, "\n  ")
}

// TieError is a disagreement at a deadline where timers of several sessions
// fell due at once. Their order is not specified (a keepalive timeout's Will
// may reach another session before or after that session's own retry), so
// the lockstep comparison, which assumes one order, cannot judge it.
type TieError struct{ Err error }

// Error describes the disagreement.
func (e *TieError) Error() string { return "simultaneous timers: " + e.Err.Error() }

// Unwrap returns the disagreement.
func (e *TieError) Unwrap() error { return e.Err }
