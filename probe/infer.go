package probe

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// InferOptions configures Infer. Zero values take the defaults noted.
type InferOptions struct {
	Target Target
	Seed   uint64 // names the client ids and topics of the run
	// MaxWait is the longest the session-expiry experiment waits (default
	// 10 s): an expiry longer than this is reported unknown.
	MaxWait time.Duration
	// MaxQueue is how many messages the queue experiments publish (default
	// 2000): a cap above it is reported unknown.
	MaxQueue int
	// PaceSample is how many stored messages are timed to measure replay
	// pacing (default 8).
	PaceSample int
	// Drain bounds the time spent draining a paced backlog to find a
	// drop-newest cap (default 20 s); beyond it the online queue (the
	// backlog behind an unacknowledged in-flight window) is measured instead.
	Drain time.Duration
	// KeepSessions leaves the sessions the probe created on the broker.
	KeepSessions bool
}

func (o *InferOptions) defaults() {
	o.MaxWait = or(o.MaxWait, 10*time.Second)
	o.Drain = or(o.Drain, 20*time.Second)
	if o.MaxQueue <= 0 {
		o.MaxQueue = 2000
	}
	if o.PaceSample < 3 {
		o.PaceSample = 8
	}
}

// Finding is one inferred field of the policy: a profile-file key with its
// value and how it was established, or, with Value "", why it is unknown.
type Finding struct {
	Key   string // profile-file key ("queue_cap"), or an observation with no policy field ("keeps_sessions")
	Value string // in ParseProfile's syntax; "" when unknown
	How   string // the evidence, or the reason it is unknown
}

// Known reports whether the finding was established.
func (f Finding) Known() bool { return f.Value != "" }

// Inference is the result of Infer.
type Inference struct {
	Addr     string
	Seed     uint64
	Findings []Finding
	Took     time.Duration
	Log      *Log
	Cleanup  string // what was done with the sessions at the end
}

// policyKeys are the profile-file keys in ProfileYAML's order.
var policyKeys = []string{"max_qos", "qos2", "store_qos0_offline", "queue_cap", "overflow", "message_ttl",
	"session_expiry", "expiry_sweep", "replay_interval", "replay_rate", "replay_blocks_live", "inflight_window",
	"retry_interval", "retry_for", "max_packet_size", "promises"}

// observationKeys are findings with no policy field, printed as comments.
var observationKeys = []string{"keeps_sessions", "dup_on_redelivery", "order_on_resume", "will", "retained", "online_queue", "takeover", "keepalive"}

// Find returns the finding for key.
func (inf *Inference) Find(key string) Finding {
	for _, f := range inf.Findings {
		if f.Key == key {
			return f
		}
	}
	return Finding{Key: key, How: "not measured by probe --infer"}
}

func (inf *Inference) set(key, value, how string) {
	for i := range inf.Findings {
		if inf.Findings[i].Key == key {
			inf.Findings[i] = Finding{key, value, how}
			return
		}
	}
	inf.Findings = append(inf.Findings, Finding{key, value, how})
}

func (inf *Inference) unknown(key, why string) { inf.set(key, "", why) }

// inferrer runs the experiments of one Infer.
type inferrer struct {
	o     InferOptions
	inf   *Inference
	log   *Log
	tag   string // per-run tag in client ids and topics
	mu    sync.Mutex
	ids   []string // client ids that may hold a session
	pace  time.Duration
	paced bool // pace was measured
}

// client returns a client id for role, at most 23 characters of [0-9a-zA-Z]
// [MQTT-3.1.3-5], remembered for the cleanup.
func (x *inferrer) client(role string) string {
	id := "slp" + x.tag + role
	x.mu.Lock()
	x.ids = append(x.ids, id)
	x.mu.Unlock()
	return id
}

func (x *inferrer) topic(name string) string { return "sessionlab-probe/" + x.tag + "/" + name }

// Infer runs short experiments against the broker and returns its policy
// as far as a client can establish it. The error is an UnusableError when
// the broker cannot be used at all; a failed experiment leaves its
// findings unknown with the reason.
func Infer(o InferOptions) (*Inference, error) {
	o.defaults()
	start := time.Now()
	log := NewLog()
	x := &inferrer{o: o, inf: &Inference{Addr: o.Target.Addr, Seed: o.Seed, Log: log}, log: log, tag: fmt.Sprintf("%08x", uint32(o.Seed^o.Seed>>32))}
	if err := o.Target.Check(log, x.client("chk")); err != nil {
		return nil, err
	}
	// The expiry experiment waits longest: it runs beside the others and
	// hands its finding over at the end.
	expiry := make(chan Finding, 1)
	go func() { expiry <- x.expiry() }()
	keepalive := make(chan Finding, 1)
	go func() { keepalive <- x.keepalive() }()
	x.grantedQoS()
	x.sessions()
	x.retained()
	x.window()
	x.queue()
	x.liveBehindReplay()
	x.takeover()
	for _, ch := range []chan Finding{expiry, keepalive} {
		f := <-ch
		x.inf.set(f.Key, f.Value, f.How)
	}
	x.inf.Cleanup = x.cleanup()
	x.inf.Took = time.Since(start)
	return x.inf, nil
}

// grantedQoS subscribes at QoS 2 and reads the SUBACK [MQTT-3.9.3-1..2]:
// the granted QoS is the broker's maximum; a refusal (0x80) or no SUBACK
// at all says what it does with QoS 2.
func (x *inferrer) grantedQoS() {
	t := x.o.Target
	c, _, err := t.Open(x.log, x.client("qos"), true, nil)
	if err != nil {
		x.inf.unknown("max_qos", "could not connect: "+err.Error())
		return
	}
	defer c.Disconnect()
	wait := min(t.answerTimeout(), 2*time.Second)
	codes, _, err := c.Subscribe(1, wait, packet.Subscription{Filter: x.topic("qos/2"), QoS: 2})
	switch {
	case err == ErrTimeout:
		x.inf.set("qos2", "ignore", fmt.Sprintf("no SUBACK within %v to a QoS 2 SUBSCRIBE", wait))
	case err != nil:
		x.inf.unknown("max_qos", "SUBSCRIBE at QoS 2: "+err.Error())
		return
	case len(codes) != 1:
		x.inf.unknown("max_qos", fmt.Sprintf("SUBACK with %d codes for one filter [MQTT-3.9.3-1]", len(codes)))
		return
	case codes[0] == 0x80:
		x.inf.set("qos2", "refuse", "a QoS 2 SUBSCRIBE got 0x80 in its SUBACK")
	case codes[0] == 2:
		x.inf.set("max_qos", "2", "a QoS 2 SUBSCRIBE was granted QoS 2")
		x.inf.unknown("qos2", "not applicable: QoS 2 is granted")
		return
	case codes[0] == 1:
		x.inf.set("max_qos", "1", "a QoS 2 SUBSCRIBE was granted QoS 1")
		x.inf.set("qos2", "downgrade", "a QoS 2 SUBSCRIBE was granted QoS 1")
		return
	default:
		x.inf.unknown("max_qos", fmt.Sprintf("a QoS 2 SUBSCRIBE was granted QoS %d, which no profile describes", codes[0]))
		return
	}
	// Refused or ignored: ask for QoS 1 on a fresh connection.
	c2, _, err := t.Open(x.log, x.client("qos1"), true, nil)
	if err != nil {
		x.inf.unknown("max_qos", "could not connect: "+err.Error())
		return
	}
	defer c2.Disconnect()
	codes, _, err = c2.Subscribe(1, t.answerTimeout(), packet.Subscription{Filter: x.topic("qos/1"), QoS: 1})
	if err != nil || len(codes) != 1 || codes[0] > 2 {
		x.inf.unknown("max_qos", fmt.Sprintf("QoS 1 SUBSCRIBE: codes %v, %v", codes, err))
		return
	}
	x.inf.set("max_qos", strconv.Itoa(int(codes[0])), fmt.Sprintf("a QoS 1 SUBSCRIBE was granted QoS %d; QoS 2 was not", codes[0]))
}

// persistent opens client with CleanSession=0, subscribes to topic at QoS 1
// and returns the connection.
func (x *inferrer) persistent(client, topic string, will *packet.Publish) (*Conn, *packet.Connack, error) {
	c, ack, err := x.o.Target.Open(x.log, client, false, will)
	if err != nil {
		return nil, ack, err
	}
	codes, _, err := c.Subscribe(1, x.o.Target.answerTimeout(), packet.Subscription{Filter: topic, QoS: 1})
	if err == nil && (len(codes) != 1 || codes[0] > 2) {
		err = fmt.Errorf("SUBSCRIBE %s at QoS 1 got codes %v", topic, codes)
	}
	if err != nil {
		c.Abort()
		return nil, ack, err
	}
	return c, ack, nil
}

// away opens a persistent session for a new client id of role, subscribed
// to topic at QoS 1, leaves with DISCONNECT, lets the broker take it
// offline, and publishes to it with fill from a fresh publisher, which it
// returns open. The error says which step failed.
func (x *inferrer) away(role, topic string, fill func(pub *Conn) error) (id string, pub *Conn, err error) {
	id = x.client(role)
	c, _, err := x.persistent(id, topic, nil)
	if err != nil {
		return id, nil, fmt.Errorf("could not open a session: %w", err)
	}
	c.Disconnect()
	time.Sleep(settle)
	pub, err = x.publisher(role + "pub")
	if err != nil {
		return id, nil, fmt.Errorf("could not connect the publisher: %w", err)
	}
	if err := fill(pub); err != nil {
		pub.Disconnect()
		return id, nil, err
	}
	return id, pub, nil
}

// publisher opens a clean publishing client.
func (x *inferrer) publisher(role string) (*Conn, error) {
	c, _, err := x.o.Target.Open(x.log, x.client(role), true, nil)
	return c, err
}

// sessions: a persistent client subscribes and leaves (DISCONNECT); a QoS 0
// and three QoS 1 messages are published; it comes back (SessionPresent,
// QoS 0 stored?, order), takes the stored messages without acknowledging
// them, vanishes (its Will must fire) and comes back again (the same
// messages must be re-sent with DUP=1 and the same packet ids).
func (x *inferrer) sessions() {
	t := x.o.Target
	topic, willTopic := x.topic("sess"), x.topic("will")
	obs, _, err := t.Open(x.log, x.client("obs"), true, nil)
	if err != nil {
		x.inf.unknown("keeps_sessions", "could not connect: "+err.Error())
		return
	}
	defer obs.Disconnect()
	if _, _, err := obs.Subscribe(1, t.answerTimeout(), packet.Subscription{Filter: willTopic, QoS: 1}); err != nil {
		x.inf.unknown("will", "the observer could not subscribe: "+err.Error())
	}
	will := &packet.Publish{Topic: willTopic, QoS: 1, Payload: []byte("will")}
	id := x.client("sess")
	a, _, err := x.persistent(id, topic, will)
	if err != nil {
		x.inf.unknown("keeps_sessions", "could not open a persistent session: "+err.Error())
		return
	}
	a.Disconnect()
	time.Sleep(settle)
	pub, err := x.publisher("spub")
	if err != nil {
		x.inf.unknown("keeps_sessions", "could not connect the publisher: "+err.Error())
		return
	}
	defer pub.Disconnect()
	if err := publishAll(pub, topic, 0, 0, 0, 1); err != nil {
		x.inf.unknown("keeps_sessions", err.Error())
		return
	}
	if err := publishAll(pub, topic, 1, 3, 1, 10); err != nil {
		x.inf.unknown("keeps_sessions", err.Error())
		return
	}
	a, ack, err := t.Open(x.log, id, false, will)
	if err != nil {
		x.inf.unknown("keeps_sessions", "could not reconnect: "+err.Error())
		return
	}
	if !ack.SessionPresent {
		x.inf.set("keeps_sessions", "false", "a CleanSession=0 client that left with DISCONNECT came back to CONNACK SessionPresent=0 [MQTT-3.2.2-2]")
		for _, k := range []string{"store_qos0_offline", "dup_on_redelivery", "order_on_resume"} {
			x.inf.unknown(k, "the broker kept no session")
		}
		a.Disconnect()
		return
	}
	x.inf.set("keeps_sessions", "true", "CONNACK SessionPresent=1 after a DISCONNECT [MQTT-3.2.2-2]")
	first, err := collect(a, collectOpts{max: 3*t.answerTimeout() + 10*time.Second, quiet: t.answerTimeout(), stop: func(gs []got) bool {
		n := 0
		for _, g := range gs {
			if g.p.QoS > 0 {
				n++
			}
		}
		return n >= 3
	}})
	// Whatever else the broker sent by now (a QoS 0 copy behind them).
	if err == nil {
		more, _ := settled(a, false)
		first = append(first, more...)
	}
	var q0 bool
	var stored []got
	for _, g := range first {
		if g.p.QoS == 0 && g.ok && g.seq == 0 {
			q0 = true
		} else if g.p.QoS > 0 {
			stored = append(stored, g)
		}
	}
	if q0 {
		x.inf.set("store_qos0_offline", "true", "a QoS 0 message published while the session was offline was delivered on resume")
	} else if len(stored) == 3 {
		x.inf.set("store_qos0_offline", "false", "a QoS 0 message published while the session was offline was not delivered on resume; the QoS 1 messages after it were")
	} else {
		x.inf.unknown("store_qos0_offline", fmt.Sprintf("only %d of 3 stored QoS 1 messages arrived (%v)", len(stored), err))
	}
	s := seqs(stored)
	if len(s) == 3 && consecutive(s) && s[0] == 1 {
		x.inf.set("order_on_resume", "publish order", "stored messages #1..#3 arrived in publish order [MQTT-4.6.0-6]")
	} else {
		x.inf.unknown("order_on_resume", fmt.Sprintf("stored messages arrived as %v", s))
	}
	// Vanish without acknowledging: the Will fires; back: DUP re-sends.
	a.Abort()
	wills, _ := collect(obs, collectOpts{max: t.answerTimeout(), stop: func(gs []got) bool { return true }})
	a, ack, err = t.Open(x.log, id, false, will)
	if err != nil {
		x.inf.unknown("dup_on_redelivery", "could not reconnect: "+err.Error())
		return
	}
	again, _ := collect(a, collectOpts{ack: true, max: 3*t.answerTimeout() + 10*time.Second, quiet: t.answerTimeout(), stop: func(gs []got) bool { return len(gs) >= len(stored) }})
	switch {
	case !ack.SessionPresent:
		x.inf.unknown("dup_on_redelivery", "the session was gone after the client vanished")
	case len(stored) == 0:
		x.inf.unknown("dup_on_redelivery", "nothing was in flight")
	default:
		ok := len(again) >= len(stored)
		var bad string
		for i := 0; ok && i < len(stored); i++ {
			g, h := stored[i], again[i]
			if !h.p.Dup || h.p.PacketID != g.p.PacketID || h.seq != g.seq {
				ok = false
				bad = fmt.Sprintf("#%d first sent as %v, re-sent as %v", g.seq, g.p, h.p)
			}
		}
		if ok {
			x.inf.set("dup_on_redelivery", "true", fmt.Sprintf("%d unacknowledged messages were re-sent on resume with DUP=1, the same packet ids, in order [MQTT-4.4.0-1], [MQTT-3.3.1-1]", len(stored)))
		} else if bad != "" {
			x.inf.set("dup_on_redelivery", "false", bad+" [MQTT-4.4.0-1]")
		} else {
			x.inf.set("dup_on_redelivery", "false", fmt.Sprintf("%d unacknowledged messages before the client vanished, %d re-sent on resume [MQTT-4.4.0-1]", len(stored), len(again)))
		}
	}
	a.Disconnect()
	late, _ := collect(obs, collectOpts{max: 500 * time.Millisecond})
	var fired, firedAfterDisconnect int
	for _, g := range wills {
		if string(g.p.Payload) == "will" {
			fired++
		}
	}
	for _, g := range late {
		if string(g.p.Payload) == "will" {
			firedAfterDisconnect++
		}
	}
	switch {
	case fired == 1 && firedAfterDisconnect == 0:
		x.inf.set("will", "on loss only", "published once when the connection was lost without DISCONNECT [MQTT-3.1.2-8], not after DISCONNECT [MQTT-3.14.4-3]")
	case fired == 0:
		x.inf.set("will", "never", fmt.Sprintf("not published within %v of a connection lost without DISCONNECT [MQTT-3.1.2-8]", t.answerTimeout()))
	default:
		x.inf.set("will", "wrong", fmt.Sprintf("published %d times on loss and %d times after DISCONNECT [MQTT-3.1.2-8], [MQTT-3.14.4-3]", fired, firedAfterDisconnect))
	}
}

// retained publishes a retained message and subscribes afresh: it must be
// sent with RETAIN=1 [MQTT-3.3.1-6]. The retained message is then cleared
// with an empty retained PUBLISH [MQTT-3.3.1-10].
func (x *inferrer) retained() {
	t := x.o.Target
	topic := x.topic("ret")
	pub, err := x.publisher("rpub")
	if err != nil {
		x.inf.unknown("retained", "could not connect: "+err.Error())
		return
	}
	defer pub.Disconnect()
	pub.Send(&packet.Publish{Topic: topic, QoS: 1, PacketID: 1, Retain: true, Payload: []byte("retained")})
	if r, err := pub.Next(t.answerTimeout()); err != nil {
		x.inf.unknown("retained", "waiting for the PUBACK of a retained PUBLISH: "+err.Error())
		return
	} else if _, ok := r.P.(*packet.Puback); !ok {
		x.inf.unknown("retained", fmt.Sprintf("a retained PUBLISH was answered with %v, not PUBACK", r.P))
		return
	}
	sub, _, err := t.Open(x.log, x.client("rsub"), true, nil)
	if err != nil {
		x.inf.unknown("retained", "could not connect: "+err.Error())
		return
	}
	_, stray, err := sub.Subscribe(1, t.answerTimeout(), packet.Subscription{Filter: topic, QoS: 1})
	gs, _ := collect(sub, collectOpts{ack: true, max: t.answerTimeout(), stop: func([]got) bool { return true }})
	for _, r := range stray {
		if p, ok := r.P.(*packet.Publish); ok {
			gs = append(gs, got{at: r.At, p: p})
		}
	}
	sub.Disconnect()
	pub.Send(&packet.Publish{Topic: topic, QoS: 0, Retain: true}) // clear it [MQTT-3.3.1-10]
	switch {
	case err != nil:
		x.inf.unknown("retained", err.Error())
	case len(gs) == 0:
		x.inf.set("retained", "not kept", fmt.Sprintf("a new subscriber got nothing within %v", t.answerTimeout()))
	case gs[0].p.Retain && string(gs[0].p.Payload) == "retained":
		x.inf.set("retained", "kept", "a new subscriber got the retained message with RETAIN=1 [MQTT-3.3.1-6]")
	default:
		x.inf.set("retained", "wrong", fmt.Sprintf("a new subscriber got %v [MQTT-3.3.1-6]", gs[0].p))
	}
}

// window: an online persistent client takes messages without acknowledging
// any: what arrives is the in-flight window. It then acknowledges
// everything: what arrives in all is the window plus the queue behind it,
// from which the online queue cap and victim follow.
func (x *inferrer) window() {
	topic := x.topic("win")
	d, _, err := x.persistent(x.client("win"), topic, nil)
	if err != nil {
		x.inf.unknown("inflight_window", "could not open a session: "+err.Error())
		return
	}
	defer d.Disconnect()
	pub, err := x.publisher("wpub")
	if err != nil {
		x.inf.unknown("inflight_window", "could not connect the publisher: "+err.Error())
		return
	}
	defer pub.Disconnect()
	n := uint64(x.o.MaxQueue)
	if err := publishAll(pub, topic, 1, n, 1, 100); err != nil {
		x.inf.unknown("inflight_window", err.Error())
		return
	}
	held, err := settled(d, false)
	if err != nil {
		x.inf.unknown("inflight_window", err.Error())
		return
	}
	w := len(held)
	s := seqs(held)
	if uint64(w) >= n {
		x.inf.unknown("inflight_window", fmt.Sprintf("all %d messages arrived without acknowledgement: the window is at least that (raise --max-queue)", n))
		x.inf.unknown("online_queue", "the window was not filled")
		return
	}
	if !consecutive(s) || len(s) == 0 || s[0] != 1 {
		x.inf.unknown("inflight_window", fmt.Sprintf("%d unacknowledged messages arrived, not #1..#%d: %s", w, w, describe(held, 5)))
		return
	}
	x.inf.set("inflight_window", strconv.Itoa(w), fmt.Sprintf("%d of %d messages arrived to an online client that acknowledged none (a PINGREQ sent after the publisher's last PUBACK was answered, and nothing more came for %v)", w, n, straggle))
	ackAll(d, held)
	rest, err := drain(d, x.o.Drain)
	all := append(held, rest...)
	total := uint64(len(all))
	switch {
	case err != nil:
		x.inf.unknown("online_queue", err.Error())
	case total >= n:
		x.inf.set("online_queue", "no overflow", fmt.Sprintf("all %d messages arrived", n))
	default:
		rs := seqs(rest)
		q := total - uint64(w)
		victim := ""
		switch {
		case consecutive(rs) && len(rs) > 0 && rs[0] == uint64(w)+1 && rs[len(rs)-1] == total:
			victim = "drop-newest"
		case consecutive(rs) && len(rs) > 0 && rs[len(rs)-1] == n:
			victim = "drop-oldest"
		}
		if victim == "" {
			x.inf.set("online_queue", "unclear", fmt.Sprintf("%d of %d arrived after the window, not one run of them: %s", len(rest), n-uint64(w), describe(rest, 5)))
			return
		}
		x.inf.set("online_queue", fmt.Sprintf("%d %s", q, victim), fmt.Sprintf("behind the window of %d, %d of %d messages were queued (#%d..#%d)", w, q, n-uint64(w), rs[0], rs[len(rs)-1]))
	}
}

// queue: a persistent client leaves; MaxQueue messages are published; it
// comes back. The first stored message says the victim (a later one than
// #1: the oldest were dropped) and the cap; the times of the first
// PaceSample say the pacing. A drop-newest cap needs the whole backlog,
// which is drained when pacing lets it finish within Drain.
func (x *inferrer) queue() {
	t := x.o.Target
	topic := x.topic("q")
	n := uint64(x.o.MaxQueue)
	id, pub, err := x.away("q", topic, func(pub *Conn) error { return publishAll(pub, topic, 1, n, 1, 100) })
	if err != nil {
		x.inf.unknown("queue_cap", err.Error())
		return
	}
	pub.Disconnect()
	b, ack, err := t.Open(x.log, id, false, nil)
	if err != nil {
		x.inf.unknown("queue_cap", "could not reconnect: "+err.Error())
		return
	}
	defer b.Disconnect()
	if !ack.SessionPresent {
		x.inf.unknown("queue_cap", "the session was gone on reconnect")
		return
	}
	k := x.o.PaceSample
	sample, err := collect(b, collectOpts{ack: true, quiet: 2 * time.Second, max: x.o.Drain, stop: func(gs []got) bool { return len(gs) >= k }})
	if err != nil || len(sample) == 0 {
		x.inf.unknown("queue_cap", fmt.Sprintf("no stored message arrived on resume (%v)", err))
		return
	}
	x.pacing(sample)
	s := seqs(sample)
	if !consecutive(s) {
		x.inf.unknown("queue_cap", "the stored messages were not one run: "+describe(sample, k))
		return
	}
	if s[0] > 1 {
		c := n - s[0] + 1
		x.inf.set("overflow", "drop-oldest", fmt.Sprintf("after %d messages published to an offline session, the first stored one was #%d: the %d oldest were dropped", n, s[0], s[0]-1))
		x.inf.set("queue_cap", strconv.FormatUint(c, 10), fmt.Sprintf("the stored messages began at #%d of %d, so %d were kept", s[0], n, c))
		if x.inf.Find("store_qos0_offline").Value == "true" {
			b.Disconnect()
			x.qos0First(c)
		}
		return
	}
	// Drop newest, or no overflow: drain if pacing lets us.
	est := time.Duration(n) * x.pace
	if est > x.o.Drain {
		x.fromOnline(fmt.Sprintf("draining up to %d stored messages at one per %v would take up to %v, beyond the drain budget of %v", n, x.pace.Round(time.Millisecond), est.Round(time.Second), x.o.Drain))
		return
	}
	var rest []got
	if x.pace < paceFloor {
		rest, err = drain(b, x.o.Drain)
	} else {
		rest, err = collect(b, collectOpts{ack: true, quiet: max(time.Second, 4*x.pace), max: x.o.Drain})
	}
	all := append(sample, rest...)
	s = seqs(all)
	switch {
	case err != nil:
		x.inf.unknown("queue_cap", err.Error())
	case !consecutive(s):
		x.inf.unknown("queue_cap", "the stored messages were not one run: "+describe(all, 10))
	case uint64(len(s)) >= n:
		x.inf.unknown("queue_cap", fmt.Sprintf("all %d messages published to an offline session were kept: the cap is above %d or there is none (raise --max-queue)", n, n))
		x.inf.unknown("overflow", "no message was dropped")
	default:
		c := len(s)
		x.inf.set("overflow", "drop-newest", fmt.Sprintf("after %d messages published to an offline session, #1..#%d arrived and nothing after: the newest were dropped", n, c))
		x.inf.set("queue_cap", strconv.Itoa(c), fmt.Sprintf("%d of %d stored messages were kept", c, n))
	}
}

// qos0First tells drop-oldest from drop-oldest-qos0-first on a broker that
// stores QoS 0 offline: a QoS 1, a QoS 0, then c-1 more QoS 1 messages
// overflow a queue of c by one; the victim is the first message or the
// QoS 0 one.
func (x *inferrer) qos0First(c uint64) {
	t := x.o.Target
	topic := x.topic("q0")
	id, pub, err := x.away("q0", topic, func(pub *Conn) error {
		err := publishAll(pub, topic, 1, 1, 1, 1)
		if err == nil {
			err = publishAll(pub, topic, 2, 2, 0, 1)
		}
		if err == nil {
			err = publishAll(pub, topic, 3, c+1, 1, 100)
		}
		return err
	})
	if err != nil {
		return
	}
	pub.Disconnect()
	s, _, err := t.Open(x.log, id, false, nil)
	if err != nil {
		return
	}
	defer s.Disconnect()
	gs, _ := collect(s, collectOpts{ack: true, quiet: 2 * time.Second, max: x.o.Drain, stop: func(gs []got) bool { return len(gs) >= 2 }})
	q := seqs(gs)
	switch {
	case len(q) == 2 && q[0] == 1 && q[1] == 3:
		x.inf.set("overflow", "drop-oldest-qos0-first", fmt.Sprintf("a queue of %d overflowed by one evicted the QoS 0 message #2, not the older QoS 1 message #1", c))
	case len(q) == 2 && q[0] == 2 && q[1] == 3:
		x.inf.set("overflow", "drop-oldest", fmt.Sprintf("a queue of %d overflowed by one evicted the oldest message #1 (QoS 1), not the QoS 0 message #2", c))
	}
}

// fromOnline takes the cap and victim from the online queue when the
// offline backlog cannot be drained in time.
func (x *inferrer) fromOnline(why string) {
	f := x.inf.Find("online_queue")
	var c int
	var victim string
	if _, err := fmt.Sscanf(f.Value, "%d %s", &c, &victim); err != nil || !f.Known() {
		x.inf.unknown("queue_cap", why+"; the online queue gave no answer either ("+f.Value+" "+f.How+")")
		x.inf.unknown("overflow", why)
		return
	}
	x.inf.set("queue_cap", strconv.Itoa(c), why+"; taken from the online queue: "+f.How)
	x.inf.set("overflow", victim, "the first stored message was #1, and the online queue dropped the "+strings.TrimPrefix(victim, "drop-"))
}

// pacing measures the spacing of stored messages after a resume.
func (x *inferrer) pacing(sample []got) {
	if len(sample) < 3 {
		x.inf.unknown("replay_interval", fmt.Sprintf("only %d stored messages arrived", len(sample)))
		return
	}
	g := gaps(sample)
	m := median(g)
	x.pace, x.paced = m, true
	lo, hi := g[0], g[0]
	for _, d := range g {
		lo, hi = min(lo, d), max(hi, d)
	}
	how := fmt.Sprintf("median gap %v between the first %d stored messages after a resume (min %v, max %v)",
		m.Round(time.Millisecond), len(sample), lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	if m < paceFloor {
		x.inf.set("replay_interval", "0s", how+": no pacing")
		x.inf.set("replay_rate", "0", how+": no pacing")
		return
	}
	// Interval and rate pace alike (model.PaceAt); a whole rate of 5/s or
	// more is written as a rate, anything else as an interval.
	rate := float64(time.Second) / float64(m)
	if r := int(rate + 0.5); r >= 5 && abs(rate-float64(r)) <= 0.05*float64(r) {
		x.inf.set("replay_rate", strconv.Itoa(r), how)
		x.inf.set("replay_interval", "0s", how+": written as a rate")
		return
	}
	x.inf.set("replay_interval", m.Round(10*time.Millisecond).String(), how)
	x.inf.set("replay_rate", "0", how+": written as an interval")
}

// settle is how long an experiment waits after a DISCONNECT before
// publishing to the session, so that the broker has taken it offline.
const settle = 100 * time.Millisecond

// paceFloor is the median gap below which a replay is taken as unpaced.
const paceFloor = 20 * time.Millisecond

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// liveBehindReplay: with a paced replay of four stored messages under way,
// a live message is published: arriving before the replay ends, live
// traffic does not wait behind it.
func (x *inferrer) liveBehindReplay() {
	if !x.paced || x.pace < paceFloor {
		x.inf.unknown("replay_blocks_live", "the replay is not paced: stored messages leave as fast as the window allows, so a live message has nothing to overtake")
		return
	}
	t := x.o.Target
	topic := x.topic("live")
	id, pub, err := x.away("live", topic, func(pub *Conn) error { return publishAll(pub, topic, 1, 4, 1, 10) })
	if err != nil {
		x.inf.unknown("replay_blocks_live", err.Error())
		return
	}
	defer pub.Disconnect()
	c, _, err := t.Open(x.log, id, false, nil)
	if err != nil {
		x.inf.unknown("replay_blocks_live", "could not reconnect: "+err.Error())
		return
	}
	defer c.Disconnect()
	const live = 1000
	sent := false
	gs, err := collect(c, collectOpts{ack: true, max: 8*x.pace + 2*t.answerTimeout(), stop: func(gs []got) bool {
		if !sent {
			sent = true
			go publishAll(pub, topic, live, live, 1, 1)
		}
		seen := 0
		for _, g := range gs {
			if g.seq == live || g.seq == 4 {
				seen++
			}
		}
		return seen == 2
	}})
	order := seqs(gs)
	li := -1
	for i, s := range order {
		if s == live {
			li = i
		}
	}
	switch {
	case err != nil:
		x.inf.unknown("replay_blocks_live", err.Error())
	case li < 0 || len(order) < 5:
		x.inf.unknown("replay_blocks_live", "the replay or the live message did not arrive in time: "+describe(gs, 6))
	case li < len(order)-1:
		x.inf.set("replay_blocks_live", "false", fmt.Sprintf("a live message published after the first of 4 stored ones arrived overtook the replay: %s", describe(gs, 6)))
	default:
		x.inf.set("replay_blocks_live", "true", fmt.Sprintf("a live message published after the first of 4 stored ones arrived after all of them: %s", describe(gs, 6)))
	}
}

// expiry: sessions left at the same moment are resumed after 1 s, 2 s,
// 4 s, ... up to MaxWait; the first one gone bounds the expiry
// [MQTT-3.2.2-2], [MQTT-4.1.0-1].
func (x *inferrer) expiry() Finding {
	t := x.o.Target
	var waits []time.Duration
	for d := time.Second; d < x.o.MaxWait; d *= 2 {
		waits = append(waits, d)
	}
	waits = append(waits, x.o.MaxWait)
	ids := make([]string, len(waits))
	for i := range waits {
		ids[i] = x.client("e" + strconv.Itoa(i))
		c, _, err := x.persistent(ids[i], x.topic("exp"), nil)
		if err != nil {
			return Finding{Key: "session_expiry", How: "could not open a session: " + err.Error()}
		}
		c.Disconnect()
	}
	left := time.Now()
	prev := time.Duration(0)
	for i, d := range waits {
		time.Sleep(time.Until(left.Add(d)))
		c, ack, err := t.Open(x.log, ids[i], false, nil)
		if err != nil {
			return Finding{Key: "session_expiry", How: "could not reconnect: " + err.Error()}
		}
		c.Disconnect()
		if !ack.SessionPresent {
			if i == 0 {
				return Finding{Key: "session_expiry", How: fmt.Sprintf("a session was gone %v after its DISCONNECT: the broker keeps sessions for less than that, or not at all", d)}
			}
			return Finding{"session_expiry", d.String(), fmt.Sprintf("a session was present %v after its DISCONNECT and another gone after %v: expiry in (%v, %v], written as the upper bound", prev, d, prev, d)}
		}
		prev = d
	}
	return Finding{Key: "session_expiry", How: fmt.Sprintf("sessions were still present %v after their DISCONNECT (--max-wait): longer, or never", x.o.MaxWait)}
}

// takeover connects a second client with the id of a connected one: the
// broker must close the first connection [MQTT-3.1.4-2].
func (x *inferrer) takeover() {
	t := x.o.Target
	id := x.client("take")
	first, _, err := t.Open(x.log, id, true, nil)
	if err != nil {
		x.inf.unknown("takeover", "could not connect: "+err.Error())
		return
	}
	defer first.Abort()
	second, _, err := t.Open(x.log, id, true, nil)
	if err != nil {
		x.inf.unknown("takeover", "the second connection with the same client id was not accepted: "+err.Error())
		return
	}
	defer second.Disconnect()
	if _, err := first.Next(t.answerTimeout()); errors.Is(err, ErrClosed) {
		x.inf.set("takeover", "closes the old connection", "a second CONNECT with the same client id closed the first connection [MQTT-3.1.4-2]")
		return
	}
	x.inf.set("takeover", "keeps the old connection", fmt.Sprintf("the first connection was still open %v after a second CONNECT with its client id [MQTT-3.1.4-2]", t.answerTimeout()))
}

// keepalive connects with a keepalive of 1 s and then sends nothing: the
// broker must close the connection after 1.5 s, not before 1 s
// [MQTT-3.1.2-24].
func (x *inferrer) keepalive() Finding {
	t := x.o.Target
	id := x.client("ka")
	c, err := t.Dial(x.log, id)
	if err != nil {
		return Finding{Key: "keepalive", How: "could not connect: " + err.Error()}
	}
	defer c.Abort()
	start := time.Now()
	if _, err := c.Connect(&packet.Connect{ClientID: id, CleanSession: true, KeepAlive: 1}); err != nil {
		return Finding{Key: "keepalive", How: "could not connect: " + err.Error()}
	}
	wait := 1500*time.Millisecond + t.answerTimeout()
	for {
		_, err := c.Next(wait - time.Since(start))
		closed := time.Since(start)
		switch {
		case errors.Is(err, ErrClosed) && closed < time.Second:
			return Finding{"keepalive", "early", fmt.Sprintf("a client silent after CONNECT with keepalive 1s was disconnected after %v, before the keepalive [MQTT-3.1.2-24]", closed.Round(time.Millisecond))}
		case errors.Is(err, ErrClosed) && closed > 2*time.Second:
			return Finding{"keepalive", "late", fmt.Sprintf("a client silent after CONNECT with keepalive 1s was disconnected only after %v, beyond 1.5 x keepalive (1.5s) and half a second of tolerance [MQTT-3.1.2-24]", closed.Round(time.Millisecond))}
		case errors.Is(err, ErrClosed):
			return Finding{"keepalive", "enforced", fmt.Sprintf("a client silent after CONNECT with keepalive 1s was disconnected after %v (1.5 x keepalive is 1.5s) [MQTT-3.1.2-24]", closed.Round(time.Millisecond))}
		case err != nil:
			return Finding{"keepalive", "not enforced", fmt.Sprintf("a client silent after CONNECT with keepalive 1s was still connected after %v [MQTT-3.1.2-24]", closed.Round(time.Millisecond))}
		}
	}
}

// cleanup removes every session the probe may have created with a clean
// connect per client id [MQTT-3.1.2-6], unless KeepSessions.
func (x *inferrer) cleanup() string {
	x.mu.Lock()
	ids := append([]string(nil), x.ids...)
	x.mu.Unlock()
	sort.Strings(ids)
	if x.o.KeepSessions {
		return fmt.Sprintf("kept the sessions of %d client ids (--keep-sessions)", len(ids))
	}
	failed := 0
	for _, id := range ids {
		c, _, err := x.o.Target.Open(x.log, id, true, nil)
		if err != nil {
			failed++
			continue
		}
		c.Disconnect()
	}
	if failed > 0 {
		return fmt.Sprintf("removed the sessions of %d client ids with a clean connect; %d could not connect", len(ids)-failed, failed)
	}
	return fmt.Sprintf("removed the sessions of %d client ids with a clean connect each", len(ids))
}

// builtinValues returns the fields of the built-in profile name as a
// profile file writes them (scenario.ProfileYAML), by key.
func builtinValues(name string) map[string]string {
	text, err := scenario.ProfileYAML(name)
	if err != nil {
		return nil
	}
	vals := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(k, "#") {
			v, _, _ = strings.Cut(v, " # ")
			vals[k] = v
		}
	}
	return vals
}

// sameValue compares a finding's value with a policy's, durations parsed.
func sameValue(key, found, have string) bool {
	if a, err := time.ParseDuration(found); err == nil {
		b, err := time.ParseDuration(have)
		return err == nil && a == b
	}
	return found == have
}

// Base returns the built-in profile that agrees with the most established
// findings (the first in ProfileNames order on a tie).
func (inf *Inference) Base() string {
	best, bestN := "", -1
	for _, name := range broker.ProfileNames() {
		vals := builtinValues(name)
		n := 0
		for _, f := range inf.Findings {
			if v, ok := vals[f.Key]; ok && f.Known() && sameValue(f.Key, f.Value, v) {
				n++
			}
		}
		if n > bestN {
			best, bestN = name, n
		}
	}
	return best
}

// YAML renders the inference as a profile file ParseProfile reads: the
// closest built-in as base, every established field with how it was
// established, every other one as a comment "# key: unknown: reason"
// (which leaves the base's value in force), and the observations that
// have no policy field as comments.
func (inf *Inference) YAML() string {
	base := inf.Base()
	pol, _ := broker.Profile(base)
	var b strings.Builder
	fmt.Fprintf(&b, "# sessionlab probe --infer --broker %s --seed %d: measured in %v.\n", inf.Addr, inf.Seed, inf.Took.Round(100*time.Millisecond))
	b.WriteString("# Established fields are set, each with how; a field the probe could not establish\n")
	b.WriteString("# is a comment \"# key: unknown: reason\" and keeps the base profile's value when the file is used.\n")
	fmt.Fprintf(&b, "base: %s\nname: inferred\n", base)
	for _, k := range policyKeys {
		f := inf.Find(k)
		if k == "promises" && inf.Find("replay_blocks_live").Value == "false" && pol.Promises.Has(broker.InvOrder) {
			f = Finding{Key: k, Value: "[" + pol.Promises.Without(broker.InvOrder).String() + "]",
				How: "the base's promises without 7 (order): live traffic overtakes the replay"}
		}
		line := fmt.Sprintf("%s: %s # %s", k, f.Value, f.How)
		if !f.Known() {
			line = fmt.Sprintf("# %s: unknown: %s", k, f.How)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("# Observed, with no policy field:\n")
	for _, k := range observationKeys {
		f := inf.Find(k)
		v := f.Value
		if !f.Known() {
			v = "unknown"
		}
		fmt.Fprintf(&b, "#   %s: %s: %s\n", k, v, f.How)
	}
	if inf.Cleanup != "" {
		fmt.Fprintf(&b, "#   cleanup: %s\n", inf.Cleanup)
	}
	return b.String()
}

// Profile parses YAML back into a profile (as --profile FILE would).
func (inf *Inference) Profile() (scenario.ProfileFile, error) {
	return scenario.ParseProfile("inferred.yaml", []byte(inf.YAML()))
}
