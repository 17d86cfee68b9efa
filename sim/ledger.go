package sim

import (
	"slices"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/rng"
)

// copyKey names one subscriber copy of a message: msg*devices + sub, one
// machine word so that the map uses its fast 64-bit path.
type copyKey uint64

func (l *ledger) key(msg broker.MsgID, sub int32) copyKey {
	return copyKey(uint64(msg)*uint64(len(l.depth)) + uint64(sub))
}

func (l *ledger) msgOf(k copyKey) broker.MsgID { return broker.MsgID(uint64(k) / uint64(len(l.depth))) }

func (l *ledger) subOf(k copyKey) int32 { return int32(uint64(k) % uint64(len(l.depth))) }

// copyRec is what the ledger knows of one copy until it is finished: it is
// delivered or dropped, and (when delivered) received by the application.
type copyRec struct {
	queued    bool // counted in its session's queue depth now
	stored    bool // went through the offline queue
	delivered bool
	received  uint16
	pid       uint16 // untracked QoS>0 copies: the packet id it was sent with
	crossed   bool   // pending at a crash, restored by the recovery
}

// msgRec is one accepted message with copies still open.
type msgRec struct {
	uid    uint64
	at     time.Duration // accepted by the broker
	open   int32         // copies not yet finished
	replay bool          // a retained message replayed on SUBSCRIBE
}

// untracked reports whether the message has no payload id (a Will, a
// status, a retained replay): receipts of its copies are matched by packet
// id, and a QoS 0 copy is finished when sent.
func (m msgRec) untracked() bool { return m.uid == 0 }

// session states for the fleet series.
const (
	sessNone uint8 = iota
	sessOnline
	sessOffline
	sessExpired
)

// ledger follows every message from the broker accepting it to a terminal
// state per subscriber copy, from the core's observation events and the
// devices' receipts, and keeps the metrics that depend on them. Its maps
// are only ever looked up, never iterated in an order that reaches output.
type ledger struct {
	m       *Metrics
	ids     map[string]int32 // client id -> device index
	msgs    map[broker.MsgID]msgRec
	uids    map[uint64]broker.MsgID
	copies  map[copyKey]copyRec
	pids    map[uint64]copyKey // untracked copies in flight, by pidKey
	depth   []int32            // per device: copies queued by the broker
	peak    int32              // the deepest queue since the last sample
	state   []uint8            // per device: sessNone...
	counts  [4]int             // devices per state
	replay  []replayState
	reserve rng.Stream // reservoir sampling of replays
}

// replayState is a resumed session draining its backlog.
type replayState struct {
	start   time.Duration
	backlog int32
	active  bool
}

func newLedger(m *Metrics, clientIDs []string, seed uint64) *ledger {
	l := &ledger{
		m: m, ids: make(map[string]int32, len(clientIDs)),
		msgs: map[broker.MsgID]msgRec{}, uids: map[uint64]broker.MsgID{}, copies: map[copyKey]copyRec{}, pids: map[uint64]copyKey{},
		depth: make([]int32, len(clientIDs)), state: make([]uint8, len(clientIDs)),
		replay: make([]replayState, len(clientIDs)), reserve: rng.New(seed, "sim/replay-reservoir", 0),
	}
	for i, id := range clientIDs {
		l.ids[id] = int32(i)
	}
	l.counts[sessNone] = len(clientIDs)
	m.Dropped, m.ClientDropped, m.PublishRefused = map[string]int64{}, map[string]int64{}, map[string]int64{}
	return l
}

// step accounts for the events of one core step. uid is the payload id of
// the step's input when it is a PUBLISH: the message whose EvPublished names
// that PUBLISH as its cause carries it.
func (l *ledger) step(rec *broker.Record, uid uint64) {
	if rec.Input.Kind == broker.InRecover {
		l.recovered(rec)
		return
	}
	for i := range rec.Outputs {
		if o := &rec.Outputs[i]; o.Kind == broker.OutEvent {
			l.event(&o.Event, uid)
		}
	}
}

// event accounts for one core observation event.
func (l *ledger) event(ev *broker.Event, uid uint64) {
	sub, known := l.ids[ev.ClientID]
	switch ev.Kind {
	case broker.EvPublished:
		l.published(ev, uid)
	case broker.EvDropped:
		if _, ok := l.msgs[ev.Msg]; !ok {
			// No open message: a publication refused as a whole (not
			// authorised, QoS 2 ignored); it owed no copies.
			l.m.PublishRefused[ev.Reason.String()]++
		} else if known {
			l.copyEvent(ev, sub)
		} else {
			l.drop(ev.Reason)
		}
	case broker.EvEnqueued, broker.EvSent, broker.EvDelivered:
		if known {
			l.copyEvent(ev, sub)
		}
	case broker.EvConnected:
		l.m.Connects++
		if ev.SessionPresent {
			l.m.Resumes++
		}
		if known {
			l.connected(ev.At, sub)
		}
	case broker.EvDisconnected:
		if ev.Reason == broker.ReasonKeepalive {
			l.m.KeepaliveKicks++
		}
		if known {
			l.replay[sub].active = false
			l.setState(sub, sessOffline)
		}
	case broker.EvSessionExpired:
		l.m.Expired++
		if known {
			l.setState(sub, sessExpired)
		}
	case broker.EvSessionDiscarded:
		if known && l.state[sub] != sessOnline {
			l.setState(sub, sessNone)
		}
	case broker.EvWillPublished:
		l.m.WillsPublished++
	case broker.EvRetained:
		l.m.RetainedSet++
	case broker.EvRefused:
		l.m.Refused++
	case broker.EvSessionTakenOver:
		l.m.Takeovers++
	}
}

func (l *ledger) published(ev *broker.Event, uid uint64) {
	l.m.Published++
	l.m.Copies += int64(ev.Copies)
	if ev.Retain {
		l.m.RetainedReplayed += int64(ev.Copies)
	}
	if ev.Cause.Kind != broker.CausePublish {
		uid = 0 // a Will or a retained replay: not the PUBLISH being stepped
	}
	if ev.Copies > 0 {
		l.msgs[ev.Msg] = msgRec{uid: uid, at: ev.At, open: int32(ev.Copies), replay: ev.Retain}
		if uid != 0 {
			l.uids[uid] = ev.Msg
		}
	}
}

func (l *ledger) copyEvent(ev *broker.Event, sub int32) {
	k := l.key(ev.Msg, sub)
	c := l.copies[k]
	switch ev.Kind {
	case broker.EvEnqueued:
		if !c.queued {
			c.queued = true
			l.addDepth(sub, 1)
		}
		if l.state[sub] != sessOnline {
			c.stored = true
		}
	case broker.EvSent:
		l.dequeue(&c, sub, ev.At)
		c.stored = c.stored || ev.Stored || ev.Dup // a re-sent copy waited in the session too
		if ev.Dup {
			l.m.Resent++
		}
		if ev.QoS > 0 && l.msgs[ev.Msg].untracked() {
			c.pid = ev.PacketID
			l.pids[pidKey(sub, ev.PacketID)] = k
		}
	case broker.EvDelivered:
		l.dequeue(&c, sub, ev.At)
		c.delivered = true
		l.m.Delivered++
		m := l.msgs[ev.Msg]
		if m.replay {
			l.m.RetainedDelivered++
		}
		if c.received > 0 || m.untracked() && c.pid == 0 {
			l.finish(k)
			return
		}
	case broker.EvDropped:
		l.dequeue(&c, sub, ev.At)
		l.drop(ev.Reason)
		l.finish(k)
		return
	}
	l.copies[k] = c
}

func (l *ledger) drop(r broker.Reason) {
	l.m.Dropped[r.String()]++ // "queue-full", "ttl", ...
	l.m.DroppedTotal++
}

// dequeue takes a copy out of its session's queue depth, and ends a replay
// when the backlog has drained.
func (l *ledger) dequeue(c *copyRec, sub int32, now time.Duration) {
	if !c.queued {
		return
	}
	c.queued = false
	l.addDepth(sub, -1)
	if r := &l.replay[sub]; r.active && l.depth[sub] == 0 {
		r.active = false
		l.recordReplay(Replay{T: r.start.Seconds(), Backlog: int(r.backlog), Drain: (now - r.start).Seconds()})
	}
}

func (l *ledger) addDepth(sub int32, d int32) {
	l.depth[sub] += d
	l.peak = max(l.peak, l.depth[sub])
	l.m.MaxQueueDepth = max(l.m.MaxQueueDepth, int(l.depth[sub]))
}

// pidKey names device sub's packet id pid in ledger.pids.
func pidKey(sub int32, pid uint16) uint64 { return uint64(sub)<<16 | uint64(pid) }

// finish forgets a finished copy, and its message once no copy is open.
func (l *ledger) finish(k copyKey) {
	msg := l.msgOf(k)
	m, ok := l.msgs[msg]
	if ok && m.untracked() {
		if c := l.copies[k]; c.pid != 0 {
			pk := pidKey(l.subOf(k), c.pid)
			if l.pids[pk] == k {
				delete(l.pids, pk)
			}
		}
	}
	delete(l.copies, k)
	if !ok {
		return
	}
	if m.open--; m.open > 0 {
		l.msgs[msg] = m
		return
	}
	delete(l.msgs, msg)
	if l.uids[m.uid] == msg {
		delete(l.uids, m.uid)
	}
}

func (l *ledger) connected(now time.Duration, sub int32) {
	l.setState(sub, sessOnline)
	if l.depth[sub] > 0 {
		l.replay[sub] = replayState{start: now, backlog: l.depth[sub], active: true}
	}
}

func (l *ledger) setState(sub int32, s uint8) {
	l.counts[l.state[sub]]--
	l.state[sub] = s
	l.counts[s]++
}

// recordReplay keeps a uniform sample of at most MaxReplaySamples replays
// (reservoir sampling, Vitter's algorithm R) and every drain in a histogram.
func (l *ledger) recordReplay(r Replay) {
	l.m.ReplaysTotal++
	l.m.ReplayDrain.Record(time.Duration(r.Drain * float64(time.Second)))
	if len(l.m.Replays) < MaxReplaySamples {
		l.m.Replays = append(l.m.Replays, r)
		return
	}
	if j := l.reserve.Intn(int(l.m.ReplaysTotal)); j < MaxReplaySamples {
		l.m.Replays[j] = r
	}
}

// received accounts for device sub's application receiving p at now: the
// copy it carries is found by payload id, or for an untracked message by
// packet id among the copies in flight to sub. A QoS 0 copy of an
// untracked message was finished when sent: its receipt only counts.
func (l *ledger) received(now time.Duration, sub int32, p *packet.Publish) {
	var k copyKey
	var ok bool
	if uid := uidOf(p.Payload); uid != 0 {
		var msg broker.MsgID
		if msg, ok = l.uids[uid]; !ok {
			l.m.Duplicates++ // every copy of it was already finished
			return
		}
		k = l.key(msg, sub)
	} else if p.QoS == 0 {
		l.m.Received++
		if p.Retain {
			l.m.RetainedReceived++
		}
		return
	} else if k, ok = l.pids[pidKey(sub, p.PacketID)]; !ok {
		l.m.Duplicates++
		return
	}
	msg := l.msgOf(k)
	c, ok := l.copies[k]
	if !ok || c.received > 0 {
		l.m.Duplicates++
		if ok {
			c.received++
			l.copies[k] = c
		}
		return
	}
	c.received = 1
	l.m.Received++
	if p.Retain {
		l.m.RetainedReceived++
	}
	lat := now - l.msgs[msg].at
	if c.crossed {
		l.m.LatencyCrash.Record(lat)
	}
	if c.stored {
		l.m.LatencyStored.Record(lat)
	} else {
		l.m.LatencyLive.Record(lat)
	}
	if c.delivered { // QoS 0: delivered when sent, received later
		l.finish(k)
		return
	}
	l.copies[k] = c
}

// sample appends the fleet's state at now to the series.
func (l *ledger) sample(now time.Duration, byDepth []int) []int {
	s := Sample{T: now.Seconds(), Online: l.counts[sessOnline], Offline: l.counts[sessOffline], Expired: l.counts[sessExpired]}
	clear(byDepth)
	for _, d := range l.depth {
		if int(d) >= len(byDepth) {
			byDepth = append(byDepth, make([]int, int(d)+1-len(byDepth))...)
		}
		byDepth[d]++
		s.QueueTotal += int64(d)
	}
	s.QueueP50, s.QueueP99, s.QueueMax = rankOf(byDepth, len(l.depth), 0.5), rankOf(byDepth, len(l.depth), 0.99), rankOf(byDepth, len(l.depth), 1)
	s.QueuePeak = max(int(l.peak), s.QueueMax)
	l.peak = int32(s.QueueMax) // the next interval starts from the depths now
	l.m.Samples = append(l.m.Samples, s)
	return byDepth
}

// rankOf returns the q-quantile of n values given as a count per value.
func rankOf(count []int, n int, q float64) int {
	rank := int(float64(q*float64(n)) + 0.5) // rounded product: no fused multiply-add
	rank = min(max(rank, 1), n)
	seen := 0
	for v, c := range count {
		if seen += c; seen >= rank {
			return v
		}
	}
	return 0
}

// close tallies what is still open at the end of the run: copies still
// pending by conservation, and copies delivered that no application
// received (see Metrics.Unreceived).
func (l *ledger) close() {
	l.m.Pending = l.m.Copies - l.m.Delivered - l.m.DroppedTotal
	for _, c := range l.copies { // an order-independent count
		if c.delivered {
			l.m.Unreceived++
		}
	}
}

// crashed accounts for a broker crash: every session is offline.
func (l *ledger) crashed(time.Duration) {
	for sub := range l.state {
		if l.state[sub] == sessOnline {
			l.replay[sub].active = false
			l.setState(int32(sub), sessOffline)
		}
	}
}

// recovered reconciles the ledger with what a recovery rebuilt: a copy the
// ledger holds open that was not restored was lost with the crash ("crash"
// drops: owed to a clean session, or never durable); a restored copy the
// ledger had closed is owed again (the broker will re-send it); a session
// not restored is gone.
func (l *ledger) recovered(rec *broker.Record) {
	restored := map[copyKey]bool{}
	kept := make([]bool, len(l.state))
	for ev := range rec.Events() {
		sub, known := l.ids[ev.ClientID]
		if !known {
			continue
		}
		kept[sub] = true
		if ev.Kind != broker.EvCopyRestored {
			continue
		}
		k := l.key(ev.Msg, sub)
		restored[k] = true
		if c, open := l.copies[k]; open {
			c.crossed = true
			l.copies[k] = c
			continue
		}
		l.m.Copies++
		l.m.CrashReowed++
		m := l.msgs[ev.Msg]
		if m.open == 0 {
			m = msgRec{at: ev.At, replay: ev.Retain}
		}
		m.open++
		l.msgs[ev.Msg] = m
		c := copyRec{stored: true, queued: ev.PacketID == 0, crossed: true}
		if c.queued {
			l.addDepth(sub, 1)
		}
		l.copies[k] = c
	}
	var lost []copyKey
	for k, c := range l.copies {
		if !restored[k] && !c.delivered {
			lost = append(lost, k)
		}
	}
	slices.Sort(lost) // map order must not reach the metrics
	for _, k := range lost {
		c := l.copies[k]
		l.dequeue(&c, l.subOf(k), rec.At)
		l.m.Dropped["crash"]++ // not a broker.Reason: the core never drops these, the crash loses them
		l.m.DroppedTotal++
		l.finish(k)
	}
	for sub := range l.state {
		if !kept[sub] && l.state[sub] != sessNone && l.state[sub] != sessExpired {
			l.setState(int32(sub), sessNone)
		}
	}
}
