package probe

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
	"github.com/sessionlab/sessionlab/sim/check"
)

// Noise is the broker's timing noise as the probe measured it, and the
// tolerance every timing rule is given.
type Noise struct {
	Samples           int
	RTTMedian, RTTMax time.Duration // PINGREQ to PINGRESP
	Tolerance         time.Duration
}

// Verdict is a promise's outcome.
type Verdict string

// Verdicts.
const (
	Kept        Verdict = "kept"
	Broken      Verdict = "broken"
	NotObserved Verdict = "not observed"
)

// Promise is one row of the conformance table: an invariant of the
// profile, its verdict, how often it was put to the test, and for a
// broken one the witnessing packets with their times.
type Promise struct {
	Inv     broker.Invariant
	Spec    string
	Verdict Verdict
	Checked int
	Detail  string   // what was checked, or why it was not observed
	Witness []string // packets and times, for a broken promise
}

// Result is what Run observed and judged.
type Result struct {
	Profile   string
	Scale     float64
	Faulty    time.Duration
	Heal      time.Duration
	Noise     Noise
	Promises  []Promise
	Skipped   []string
	Log       *Log
	Cleanup   string
	Published int             // messages published by the scenario's clients
	Received  int             // PUBLISH packets the clients received
	Stored    []time.Duration // latency of stored deliveries: published before the resume, received after it
	Live      []time.Duration // latency of the other deliveries
	Drains    []Drain         // one per resume with a backlog
	Trouble   []string        // what went wrong with the broker's connections
	// Lost, when set, says that the broker could not be used at the end
	// of the run: the verdicts cover only what came before.
	Lost string
}

// Drain is one resume: how many stored messages came, and how long after
// the CONNACK the last of them arrived.
type Drain struct {
	Backlog int
	Time    time.Duration
}

// Failed reports whether a promise was broken.
func (r *Result) Failed() bool {
	for _, p := range r.Promises {
		if p.Verdict == Broken {
			return true
		}
	}
	return false
}

// Table formats the conformance table.
func (r *Result) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| # | promise | spec | verdict | checked | detail |\n|---|---|---|---|---|---|\n")
	for _, p := range r.Promises {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %d | %s |\n", p.Inv, check.InvariantName(p.Inv), p.Spec, p.Verdict, p.Checked, strings.ReplaceAll(p.Detail, "|", "/"))
	}
	for _, p := range r.Promises {
		if p.Verdict == Broken {
			fmt.Fprintf(&b, "\nbroken %d (%s): %s\n", p.Inv, check.InvariantName(p.Inv), p.Detail)
			for _, w := range p.Witness {
				fmt.Fprintf(&b, "  %s\n", w)
			}
		}
	}
	return b.String()
}

// conn is one connection as the log shows it.
type wconn struct {
	id                   int
	client               string
	clean                bool
	connectAt, connackAt time.Duration
	accepted, sp         bool
	endAt                time.Duration
	ended, graceful      bool
	recv                 []Entry // PUBLISH received
	unacked              map[uint16]Entry
	unackedAtEnd         []Entry
}

// msgInfo is a message a scenario client published.
type msgInfo struct {
	seq       uint64
	topic     string
	qos       packet.QoS
	publisher string
	sentAt    time.Duration
	ackAt     time.Duration
	acked     bool
	entry     Entry
}

// verdicts collects a promise's checks.
type verdicts struct {
	p map[broker.Invariant]*Promise
}

func (v *verdicts) checked(inv broker.Invariant, n int) { v.p[inv].Checked += n }

func (v *verdicts) broken(inv broker.Invariant, detail string, witness ...Entry) {
	p := v.p[inv]
	p.Checked++
	if p.Verdict == Broken {
		return // the first witness is kept
	}
	p.Verdict, p.Detail = Broken, detail
	for _, w := range witness {
		p.Witness = append(p.Witness, w.String())
	}
}

// judge replays the log and holds the broker to the policy's promises, as
// far as a client can see them.
func (r *runner) judge(noise Noise) *Result {
	pol := r.o.Policy
	tol := noise.Tolerance
	res := &Result{Profile: pol.Name, Scale: r.scale, Faulty: r.faulty(), Heal: r.o.Heal, Noise: noise, Skipped: r.skipped, Log: r.log}
	v := &verdicts{p: map[broker.Invariant]*Promise{}}
	specs := map[broker.Invariant]string{
		broker.InvSessionPresent: "MQTT-3.2.2-1..3", broker.InvCleanSession: "MQTT-3.1.2-6", broker.InvOfflineStorage: "MQTT-3.1.2-5",
		broker.InvQoS0NotStored: "profile", broker.InvRedelivery: "MQTT-4.4.0-1", broker.InvQoSGuarantee: "MQTT-3.8.4-6",
		broker.InvOrder: "MQTT-4.6.0-6", broker.InvQueueBound: "profile", broker.InvTTL: "profile", broker.InvExpiry: "MQTT-4.1.0-1",
		broker.InvPacing: "profile", broker.InvTakeover: "MQTT-3.1.4-2", broker.InvKeepalive: "MQTT-3.1.2-24",
		broker.InvPacketIDs: "MQTT-2.3.1-1, -2", broker.InvConservation: "-", broker.InvLiveness: "-", broker.InvDeterminism: "-",
		broker.InvWill: "MQTT-3.1.2-8, MQTT-3.14.4-3",
	}
	var order []broker.Invariant
	for inv := broker.InvSessionPresent; inv <= broker.InvWill; inv++ {
		if pol.Promises.Has(inv) {
			v.p[inv] = &Promise{Inv: inv, Spec: specs[inv], Verdict: NotObserved}
			order = append(order, inv)
		}
	}
	// Invariants a probe does not judge, and why.
	notJudged := map[broker.Invariant]string{
		broker.InvTTL:          "the scenario's times are scaled; message TTLs are not",
		broker.InvTakeover:     "the scenario opens one connection per client id at a time",
		broker.InvKeepalive:    "a real socket cannot go silent: a device that vanishes closes its socket",
		broker.InvConservation: "a client cannot see the broker's drops, only their absence (judged under 3 and 8)",
		broker.InvLiveness:     "judged as 3: a stored message missing while later ones arrived",
		broker.InvDeterminism:  "a property of two simulated runs, not of a broker",
	}
	for inv, why := range notJudged {
		if p := v.p[inv]; p != nil {
			p.Detail = "not judged by probe: " + why
		}
	}

	// Read the log.
	entries := r.log.Entries()
	conns := map[int]*wconn{}
	byClient := map[string][]*wconn{}
	msgs := map[uint64]*msgInfo{}
	pubPID := map[[2]int]uint64{} // (conn, pid) of a publisher -> message
	granted := map[string]packet.QoS{}
	for _, e := range entries {
		c := conns[e.Conn]
		if c == nil {
			c = &wconn{id: e.Conn, client: e.Client, unacked: map[uint16]Entry{}}
			conns[e.Conn] = c
		}
		if e.Packet == nil {
			if strings.HasPrefix(e.Note, "closed") && !c.ended {
				c.ended, c.endAt = true, e.At
				for _, u := range c.unacked {
					c.unackedAtEnd = append(c.unackedAtEnd, u)
				}
			}
			continue
		}
		switch p := e.Packet.(type) {
		case *packet.Connect:
			c.clean, c.connectAt = p.CleanSession, e.At
			byClient[e.Client] = append(byClient[e.Client], c)
		case *packet.Connack:
			c.connackAt, c.accepted, c.sp = e.At, p.ReturnCode == packet.Accepted, p.SessionPresent
		case *packet.Disconnect:
			c.graceful = true
		case *packet.Suback:
			for _, rc := range p.ReturnCodes {
				if rc <= 2 {
					granted[e.Client] = max(granted[e.Client], packet.QoS(rc))
				}
			}
		case *packet.Publish:
			u, ok := seqOf(p.Payload)
			if e.Out {
				if ok && msgs[u] == nil {
					msgs[u] = &msgInfo{seq: u, topic: p.Topic, qos: p.QoS, publisher: e.Client, sentAt: e.At, entry: e}
					if p.QoS == 0 {
						msgs[u].acked, msgs[u].ackAt = true, e.At
					}
				}
				if ok && p.QoS > 0 {
					pubPID[[2]int{e.Conn, int(p.PacketID)}] = u
				}
				continue
			}
			c.recv = append(c.recv, e)
			if p.QoS > 0 {
				if prev, busy := c.unacked[p.PacketID]; busy && !p.Dup {
					v.broken(broker.InvPacketIDs, fmt.Sprintf("packet id %d reused by a new PUBLISH while the earlier one was unacknowledged [MQTT-2.3.1-2]", p.PacketID), prev, e)
				}
				c.unacked[p.PacketID] = e
				if v.p[broker.InvPacketIDs] != nil {
					v.checked(broker.InvPacketIDs, 1)
				}
			}
		case *packet.Puback:
			if e.Out {
				delete(c.unacked, p.PacketID)
			} else if u, ok := pubPID[[2]int{e.Conn, int(p.PacketID)}]; ok && !msgs[u].acked {
				msgs[u].acked, msgs[u].ackAt = true, e.At
			}
		case *packet.Pubcomp:
			if !e.Out {
				if u, ok := pubPID[[2]int{e.Conn, int(p.PacketID)}]; ok && !msgs[u].acked {
					msgs[u].acked, msgs[u].ackAt = true, e.At
				}
			}
		case *packet.Pubrec:
			if e.Out {
				delete(c.unacked, p.PacketID)
			}
		}
	}
	res.Published = len(msgs)
	res.Trouble = trouble(entries, conns)
	var names []string
	for name := range byClient {
		names = append(names, name)
	}
	sort.Strings(names)
	topicOf := map[string]string{}
	for _, d := range r.devs {
		topicOf[d.id] = d.topic
	}
	for _, name := range names {
		cs := byClient[name]
		for _, c := range cs {
			res.Received += len(c.recv)
		}
		r.judgeSessions(v, pol, tol, cs)
		r.judgeReceipts(v, pol, msgs, granted[name], cs)
		if t := topicOf[name]; t != "" && strings.Contains(t, "/cmd/") {
			r.judgeQueue(v, pol, tol, msgs, t, cs, res)
		}
	}
	r.judgeWills(v, tol, byClient, names)
	for _, inv := range order {
		p := v.p[inv]
		if p.Verdict == NotObserved && p.Checked > 0 {
			p.Verdict = Kept
			if p.Detail == "" {
				p.Detail = fmt.Sprintf("%d checks", p.Checked)
			}
		}
		if p.Verdict == NotObserved && p.Detail == "" {
			p.Detail = "no situation in this run put it to the test"
		}
		res.Promises = append(res.Promises, *p)
	}
	return res
}

// judgeSessions checks SessionPresent on every CONNACK of one client id
// [MQTT-3.2.2-1..3], with expiry (invariant 10) judged by model.SessionAlive
// at both ends of the tolerance.
func (r *runner) judgeSessions(v *verdicts, pol broker.Policy, tol time.Duration, cs []*wconn) {
	exists := false
	var offlineAt time.Duration
	for _, c := range cs {
		if !c.accepted {
			continue
		}
		want, sure, expiry := false, true, false
		switch {
		case c.clean:
		case !exists:
		default:
			elapsed := c.connectAt - offlineAt
			a1, s1 := model.SessionAlive(pol, 0, max(elapsed-tol, 0))
			a2, s2 := model.SessionAlive(pol, 0, elapsed+tol)
			want, sure = a1, s1 && s2 && a1 == a2
			expiry = sure && !want
		}
		e := Entry{At: c.connackAt, Client: c.client, Conn: c.id, Packet: &packet.Connack{SessionPresent: c.sp}}
		inv := broker.InvSessionPresent
		if c.clean && v.p[broker.InvCleanSession] != nil {
			inv = broker.InvCleanSession
		}
		if expiry && v.p[broker.InvExpiry] != nil {
			inv = broker.InvExpiry
		}
		if sure && v.p[inv] != nil {
			if c.sp != want {
				v.broken(inv, fmt.Sprintf("CONNACK SessionPresent=%v, want %v: clean=%v, a session existed=%v, offline for %v [MQTT-3.2.2-1..3]",
					c.sp, want, c.clean, exists, (c.connectAt-offlineAt).Round(time.Millisecond)), e)
			} else {
				v.checked(inv, 1)
			}
		}
		if c.ended {
			exists, offlineAt = !c.clean, c.endAt
		} else {
			exists = !c.clean
		}
	}
}

// judgeReceipts checks the QoS of every PUBLISH a client received against
// what it asked for (invariant 6) and the order of first deliveries per
// publisher and topic (invariant 7).
func (r *runner) judgeReceipts(v *verdicts, pol broker.Policy, msgs map[uint64]*msgInfo, granted packet.QoS, cs []*wconn) {
	last := map[string]Entry{}
	seen := map[uint64]bool{}
	for _, c := range cs {
		for _, e := range c.recv {
			p := e.Packet.(*packet.Publish)
			u, ok := seqOf(p.Payload)
			m := msgs[u]
			if !ok || m == nil {
				continue
			}
			if v.p[broker.InvQoSGuarantee] != nil {
				if lim := min(model.MessageQoS(pol, m.qos), granted); p.QoS > lim && granted > 0 {
					v.broken(broker.InvQoSGuarantee, fmt.Sprintf("delivered at QoS %d, above min(published %d, granted %d) [MQTT-3.8.4-6]", p.QoS, m.qos, granted), m.entry, e)
				} else {
					v.checked(broker.InvQoSGuarantee, 1)
				}
			}
			if seen[u] {
				continue
			}
			seen[u] = true
			key := m.publisher + " " + m.topic
			if prev, ok := last[key]; ok && v.p[broker.InvOrder] != nil {
				pu, _ := seqOf(prev.Packet.(*packet.Publish).Payload)
				if !model.InOrder(broker.MsgID(pu), broker.MsgID(u)) {
					v.broken(broker.InvOrder, fmt.Sprintf("message %d from %s on %s delivered after message %d, published later [MQTT-4.6.0-6]", u, m.publisher, m.topic, pu), prev, e)
				} else {
					v.checked(broker.InvOrder, 1)
				}
			}
			if prev, ok := last[key]; !ok || seqOfEntry(prev) < u {
				last[key] = e
			}
		}
	}
}

func seqOfEntry(e Entry) uint64 {
	u, _ := seqOf(e.Packet.(*packet.Publish).Payload)
	return u
}

// judgeQueue judges every resume of a command device's session: the
// messages published while it was away must come back as the queue cap
// and victim allow (invariants 3 and 8), QoS 0 ones only when stored
// (4), unacknowledged ones re-sent with DUP=1 and the same packet id (5),
// and stored ones spaced as pacing says (11).
func (r *runner) judgeQueue(v *verdicts, pol broker.Policy, tol time.Duration, msgs map[uint64]*msgInfo, topic string, cs []*wconn, res *Result) {
	var mine []*msgInfo
	for _, m := range msgs {
		if m.topic == topic {
			mine = append(mine, m)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].seq < mine[j].seq })
	received := firstReceipts(cs)
	for i := 1; i < len(cs); i++ {
		p, c := cs[i-1], cs[i]
		if p.clean || c.clean || !p.accepted || !c.accepted || !c.sp || !p.ended {
			continue
		}
		// The session's later life, until it is resumed no more.
		var after []*wconn
		for _, x := range cs[i:] {
			if x.clean || !x.accepted || (len(after) > 0 && !x.sp) {
				break
			}
			after = append(after, x)
		}
		gotAfter := firstReceipts(after)
		r.judgeRedelivery(v, p, c)
		r.judgePacing(v, pol, tol, msgs, c, res)
		// Messages clearly published while the session was offline, and
		// how many others may share its queue (published near the edges,
		// or before and never received live).
		var offline []*msgInfo
		ambiguous := len(p.unackedAtEnd) // in flight at the close: some brokers count them in the cap
		for _, m := range mine {
			if !m.acked {
				continue
			}
			switch {
			case m.sentAt > p.endAt+tol && m.ackAt < c.connectAt-tol:
				if m.qos == 0 {
					if e, ok := gotAfter[m.seq]; ok && v.p[broker.InvQoS0NotStored] != nil && !pol.StoreQoS0Offline {
						v.broken(broker.InvQoS0NotStored, fmt.Sprintf("QoS 0 message %d published while the session was offline was delivered on resume", m.seq), m.entry, e)
					} else if v.p[broker.InvQoS0NotStored] != nil && !pol.StoreQoS0Offline {
						v.checked(broker.InvQoS0NotStored, 1)
					}
					continue
				}
				offline = append(offline, m)
			case m.sentAt <= p.endAt+tol && m.ackAt >= p.connectAt:
				if _, live := received[m.seq]; !live || received[m.seq].Conn != p.id {
					ambiguous++
				}
			case m.sentAt <= c.connectAt && m.ackAt >= c.connectAt-tol:
				ambiguous++
			}
		}
		if len(offline) == 0 {
			continue
		}
		r.judgeVictims(v, pol, mine, offline, ambiguous, gotAfter)
	}
}

// judgeVictims applies the cap and victim to the messages published while
// the session was offline, with up to ambiguous others in the queue.
func (r *runner) judgeVictims(v *verdicts, pol broker.Policy, mine, offline []*msgInfo, ambiguous int, got map[uint64]Entry) {
	n, cap_ := len(offline), pol.QueueCap
	keptSure := func(i int) bool { return true }
	droppedSure := func(i int) bool { return false }
	newer := func(m *msgInfo) int { // messages to this client published after m
		k := 0
		for _, x := range mine {
			if x.seq > m.seq && x.qos > 0 {
				k++
			}
		}
		return k
	}
	if cap_ > 0 {
		switch pol.Overflow {
		case broker.DropNewest:
			keptSure = func(i int) bool { return i < cap_-ambiguous }
			droppedSure = func(i int) bool { return i >= cap_ }
		default: // the oldest go first (QoS 0 first for EMQX; only QoS 1 is here)
			keptSure = func(i int) bool { return i >= n-(cap_-ambiguous) && newer(offline[i]) < cap_-ambiguous }
			droppedSure = func(i int) bool { return i < n-cap_ }
		}
	}
	victim := "the newest"
	if pol.Overflow != broker.DropNewest {
		victim = "the oldest"
	}
	// The latest message received after the resume: a kept message older
	// than it that never came was dropped.
	var latest uint64
	for u := range got {
		latest = max(latest, u)
	}
	for i, m := range offline {
		e, ok := got[m.seq]
		switch {
		case ok && droppedSure(i) && v.p[broker.InvQueueBound] != nil:
			v.broken(broker.InvQueueBound, fmt.Sprintf("message %d (number %d of the %d published while the session was offline), was delivered on resume: a queue of %d dropping %s cannot have kept it",
				m.seq, i+1, n, cap_, victim), m.entry, e)
		case !ok && keptSure(i) && latest > m.seq && v.p[broker.InvOfflineStorage] != nil:
			w := got[latest]
			v.broken(broker.InvOfflineStorage, fmt.Sprintf("message %d (number %d of the %d published while the session was offline), never came though message %d did: a queue of %d dropping %s keeps it [MQTT-3.1.2-5]",
				m.seq, i+1, n, latest, cap_, victim), m.entry, w)
		case ok || !keptSure(i) && droppedSure(i):
			if v.p[broker.InvOfflineStorage] != nil {
				v.checked(broker.InvOfflineStorage, 1)
			}
			if cap_ > 0 && n > cap_-ambiguous && v.p[broker.InvQueueBound] != nil {
				v.checked(broker.InvQueueBound, 1)
			}
		}
	}
}

// judgeRedelivery: what the client received on p and did not acknowledge
// must come again first on c with DUP=1 and the same packet id
// [MQTT-4.4.0-1], [MQTT-3.3.1-1].
func (r *runner) judgeRedelivery(v *verdicts, p, c *wconn) {
	if v.p[broker.InvRedelivery] == nil || len(p.unackedAtEnd) == 0 {
		return
	}
	for _, u := range p.unackedAtEnd {
		up := u.Packet.(*packet.Publish)
		found := false
		for _, e := range c.recv {
			ep := e.Packet.(*packet.Publish)
			if string(ep.Payload) == string(up.Payload) && ep.Topic == up.Topic {
				found = true
				if !ep.Dup || ep.PacketID != up.PacketID {
					v.broken(broker.InvRedelivery, "an unacknowledged PUBLISH was re-sent on resume without DUP=1 or with another packet id [MQTT-4.4.0-1]", u, e)
				} else {
					v.checked(broker.InvRedelivery, 1)
				}
				break
			}
		}
		if !found && len(c.recv) > 0 {
			v.broken(broker.InvRedelivery, "an unacknowledged PUBLISH was not re-sent on resume, though other messages came [MQTT-4.4.0-1]", u, c.recv[0])
		}
	}
}

// judgePacing: stored messages (published before the resume) received on
// c must be spaced as model.PaceAt says, less the tolerance (invariant 11).
func (r *runner) judgePacing(v *verdicts, pol broker.Policy, tol time.Duration, msgs map[uint64]*msgInfo, c *wconn, res *Result) {
	var prev *Entry
	var sent []broker.Time
	backlog, last := 0, time.Duration(0)
	defer func() {
		if backlog > 0 {
			res.Drains = append(res.Drains, Drain{Backlog: backlog, Time: last - c.connackAt})
		}
	}()
	for i, e := range c.recv {
		u, ok := seqOf(e.Packet.(*packet.Publish).Payload)
		m := msgs[u]
		if !ok || m == nil || m.sentAt >= c.connectAt {
			if ok && m != nil {
				res.Live = append(res.Live, e.At-m.sentAt)
			}
			continue
		}
		res.Stored = append(res.Stored, e.At-m.sentAt)
		backlog, last = backlog+1, e.At
		if prev != nil && v.p[broker.InvPacing] != nil && (pol.ReplayInterval > 0 || pol.ReplayRate > 0) {
			due := model.PaceAt(pol, sent)
			if e.At < due-tol {
				v.broken(broker.InvPacing, fmt.Sprintf("stored messages %v apart after a resume; the profile spaces them at least %v (tolerance %v)",
					(e.At-prev.At).Round(time.Millisecond), (due-prev.At).Round(time.Millisecond), tol), *prev, e)
			} else {
				v.checked(broker.InvPacing, 1)
			}
		}
		prev = &c.recv[i]
		sent = append(sent[:0], e.At)
	}
}

// judgeWills: a device that lost its connection without DISCONNECT has its
// Will published to the backends watching [MQTT-3.1.2-8]; after a
// DISCONNECT it must not be [MQTT-3.14.4-3]. Only live deliveries
// (RETAIN=0) at QoS 1 count: the farewell status is QoS 0.
func (r *runner) judgeWills(v *verdicts, tol time.Duration, byClient map[string][]*wconn, names []string) {
	if v.p[broker.InvWill] == nil {
		return
	}
	var watchers []*wconn
	for _, d := range r.devs {
		if d.group.Kind == "backend" && d.group.Status {
			watchers = append(watchers, byClient[d.id]...)
		}
	}
	// A Will goes out when the broker sees the connection end, which a
	// closed socket tells it at once.
	wait := min(r.o.Target.answerTimeout(), max(time.Second, 10*tol))
	for _, d := range r.devs {
		if !d.group.Status || d.group.Kind == "backend" {
			continue
		}
		willTopic := r.prefix + "status/" + d.id[len("slp"+r.tag+"-"):]
		for _, c := range byClient[d.id] {
			if !c.accepted || !c.ended {
				continue
			}
			// A watcher connected through the whole window, and what it got.
			var watching *wconn
			var hit *Entry
			for _, w := range watchers {
				if w.accepted && w.connackAt < c.endAt-tol && (!w.ended || w.endAt > c.endAt+wait) {
					watching = w
					for i, e := range w.recv {
						p := e.Packet.(*packet.Publish)
						if p.Topic == willTopic && !p.Retain && p.QoS > 0 && string(p.Payload) == "offline" && e.At >= c.endAt-tol && e.At <= c.endAt+wait {
							hit = &w.recv[i]
						}
					}
				}
			}
			if watching == nil {
				continue
			}
			end := Entry{At: c.endAt, Client: c.client, Conn: c.id, Note: "closed without DISCONNECT"}
			switch {
			case !c.graceful && hit == nil:
				v.broken(broker.InvWill, fmt.Sprintf("no Will within %v of a connection lost without DISCONNECT [MQTT-3.1.2-8]", wait), end)
			case c.graceful && hit != nil:
				end.Note = "closed after DISCONNECT"
				v.broken(broker.InvWill, "the Will was published after a DISCONNECT [MQTT-3.14.4-3]", end, *hit)
			default:
				v.checked(broker.InvWill, 1)
			}
		}
	}
}

// trouble counts what went wrong with the connections, as the log shows
// it: dials that failed, CONNECTs without CONNACK or refused, and
// connections the broker closed.
func trouble(entries []Entry, conns map[int]*wconn) []string {
	var dials, closedByBroker, refused, unanswered int
	var firstDial, firstClose string
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Note, "dial failed: "):
			dials++
			if firstDial == "" {
				firstDial = e.String()
			}
		case strings.HasPrefix(e.Note, "closed: ") && e.Note != "closed: by the client":
			closedByBroker++
			if firstClose == "" {
				firstClose = e.String()
			}
		}
	}
	for _, c := range conns {
		switch {
		case c.connectAt > 0 && c.connackAt == 0:
			unanswered++
		case c.connackAt > 0 && !c.accepted:
			refused++
		}
	}
	var out []string
	if dials > 0 {
		out = append(out, fmt.Sprintf("%d dials failed, the first: %s", dials, firstDial))
	}
	if closedByBroker > 0 {
		out = append(out, fmt.Sprintf("the broker closed %d connections, the first: %s", closedByBroker, firstClose))
	}
	if unanswered > 0 {
		out = append(out, fmt.Sprintf("%d CONNECTs got no CONNACK before the connection ended", unanswered))
	}
	if refused > 0 {
		out = append(out, fmt.Sprintf("%d CONNECTs were refused (CONNACK return code > 0)", refused))
	}
	return out
}

// firstReceipts maps each message number to its first receipt on cs.
func firstReceipts(cs []*wconn) map[uint64]Entry {
	first := map[uint64]Entry{}
	for _, c := range cs {
		for _, e := range c.recv {
			if u, ok := seqOf(e.Packet.(*packet.Publish).Payload); ok {
				if _, dup := first[u]; !dup {
					first[u] = e
				}
			}
		}
	}
	return first
}
