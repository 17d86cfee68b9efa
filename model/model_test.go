package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// act is one scripted input at a time; the runner fires every deadline due
// up to that time first, as a driver does.
type act struct {
	at time.Duration
	in broker.Input
}

func open(c broker.ConnID) broker.Input { return broker.Input{Kind: broker.InOpen, Conn: c} }
func lost(c broker.ConnID) broker.Input { return broker.Input{Kind: broker.InLost, Conn: c} }
func pkt(c broker.ConnID, p packet.Packet) broker.Input {
	return broker.Input{Kind: broker.InPacket, Conn: c, Packet: p}
}
func connect(c broker.ConnID, id string, clean bool, ka uint16) broker.Input {
	return pkt(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id, CleanSession: clean, KeepAlive: ka})
}
func sub(c broker.ConnID, filter string, q packet.QoS) broker.Input {
	return pkt(c, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: q}}})
}
func pub(c broker.ConnID, topic string, q packet.QoS, id uint16, payload string) broker.Input {
	return pkt(c, &packet.Publish{QoS: q, Topic: topic, PacketID: id, Payload: []byte(payload)})
}

// online connects conn c as a persistent client id subscribed to filter.
func online(at time.Duration, c broker.ConnID, id, filter string, q packet.QoS) []act {
	return []act{{at, open(c)}, {at, connect(c, id, false, 0)}, {at, sub(c, filter, q)}}
}

// describe renders an output on one line; PUBLISH shows its payload so that
// tests can tell messages apart.
func describe(o broker.Output) string {
	switch o.Kind {
	case broker.OutClose:
		return fmt.Sprintf("c%d close", o.Conn)
	case broker.OutSend:
		if p, ok := o.Packet.(*packet.Publish); ok {
			return fmt.Sprintf("c%d %s %q", o.Conn, p, p.Payload)
		}
		return fmt.Sprintf("c%d %s", o.Conn, o.Packet)
	}
	e := o.Event
	return fmt.Sprintf("ev %d %s m%d r%d sp=%v", e.Kind, e.ClientID, e.Msg, e.Reason, e.SessionPresent)
}

// run plays script on a model of the named profile and returns every output,
// each prefixed with the time it happened at.
func run(t *testing.T, profile string, tweak func(*broker.Policy), script []act, until time.Duration) []string {
	t.Helper()
	pol, err := broker.Profile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(&pol)
	}
	m := New(pol)
	var lines []string
	record := func(at time.Duration, outs []broker.Output) {
		for _, o := range outs {
			lines = append(lines, fmt.Sprintf("%v %s", at, describe(o)))
		}
	}
	advance := func(to time.Duration) {
		for {
			d, ok := m.NextDeadline()
			if !ok || d > to {
				return
			}
			record(d, m.Step(d, broker.Input{Kind: broker.InDeadline}).Outputs)
		}
	}
	for _, a := range script {
		advance(a.at)
		record(a.at, m.Step(a.at, a.in).Outputs)
	}
	advance(until)
	return lines
}

// grep returns the lines containing every one of words.
func grep(lines []string, words ...string) []string {
	var got []string
	for _, l := range lines {
		if slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(l, w) }) {
			continue
		}
		got = append(got, l)
	}
	return got
}

const (
	sec  = time.Second
	hour = time.Hour
)

var (
	evConnected = fmt.Sprintf("ev %d ", broker.EvConnected)
	evDropped   = fmt.Sprintf("ev %d ", broker.EvDropped)
	evExpired   = fmt.Sprintf("ev %d ", broker.EvSessionExpired)
	evWill      = fmt.Sprintf("ev %d ", broker.EvWillPublished)
)

func TestModel(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		tweak   func(*broker.Policy)
		script  []act
		until   time.Duration
		filter  []string
		want    []string
	}{{
		name:    "MQTT-3.2.2-2 session present on resume before expiry",
		profile: "emqx",
		script: append(online(0, 1, "d", "t", 1),
			act{1 * sec, lost(1)}, act{2 * hour, open(2)}, act{2 * hour, connect(2, "d", false, 0)}),
		filter: []string{"CONNACK"},
		want:   []string{"0s c1 CONNACK sp=false accepted", "2h0m0s c2 CONNACK sp=true accepted"},
	}, {
		name:    "invariant 10 session expires after E, SessionPresent=0",
		profile: "emqx",
		script: append(online(0, 1, "d", "t", 1),
			act{1 * sec, lost(1)}, act{2*hour + 1*sec, open(2)}, act{2*hour + 1*sec, connect(2, "d", false, 0)}),
		filter: []string{"CONNACK"},
		want:   []string{"0s c1 CONNACK sp=false accepted", "2h0m1s c2 CONNACK sp=false accepted"},
	}, {
		name:    "invariant 10 aws expiry waits for the 30 minute sweep",
		profile: "aws",
		script:  append(online(0, 1, "d", "t", 1), act{10 * time.Minute, lost(1)}),
		until:   3 * hour,
		filter:  []string{evExpired},
		want:    []string{"1h30m0s ev 8 d m0 r0 sp=false"},
	}, {
		name:    "MQTT-3.1.2-6 clean session discards the stored session",
		profile: "hivemq",
		script: append(online(0, 1, "d", "t", 1), act{1 * sec, lost(1)},
			act{2 * sec, open(2)}, act{2 * sec, connect(2, "d", true, 0)}, act{3 * sec, lost(2)},
			act{4 * sec, open(3)}, act{4 * sec, connect(3, "d", false, 0)}),
		filter: []string{"CONNACK"},
		want:   []string{"0s c1 CONNACK sp=false accepted", "2s c2 CONNACK sp=false accepted", "4s c3 CONNACK sp=false accepted"},
	}, {
		name:    "invariant 3 and 4 offline QoS1 stored, QoS0 dropped (hivemq)",
		profile: "hivemq",
		script: append(online(0, 1, "d", "t", 1), act{1 * sec, lost(1)},
			act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)},
			act{2 * sec, pub(2, "t", 0, 0, "zero")}, act{2 * sec, pub(2, "t", 1, 9, "one")},
			act{3 * sec, open(3)}, act{3 * sec, connect(3, "d", false, 0)}),
		filter: []string{"c3 PUBLISH"},
		want:   []string{`3s c3 PUBLISH q1 id=1 topic="t" payload=3B "one"`},
	}, {
		name:    "invariant 4 emqx stores QoS0 offline",
		profile: "emqx",
		script: append(online(0, 1, "d", "t", 1), act{1 * sec, lost(1)},
			act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)},
			act{2 * sec, pub(2, "t", 0, 0, "zero")},
			act{3 * sec, open(3)}, act{3 * sec, connect(3, "d", false, 0)}),
		filter: []string{"c3 PUBLISH"},
		want:   []string{`3s c3 PUBLISH q0 topic="t" payload=4B "zero"`},
	}, {
		name:    "MQTT-4.4.0-1 unacknowledged PUBLISH resent with DUP and the same id",
		profile: "mosquitto",
		script: append(online(0, 1, "d", "t", 2),
			act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 1, 5, "a")}, act{0, pub(2, "t", 2, 6, "b")}, act{0, pkt(1, &packet.Pubrec{PacketID: 2})},
			act{1 * sec, lost(1)}, act{2 * sec, open(3)}, act{2 * sec, connect(3, "d", false, 0)}),
		filter: []string{"c3 "},
		want: []string{"2s c3 CONNACK sp=true accepted",
			"2s c3 PUBREL id=2", `2s c3 PUBLISH q1 id=1 dup topic="t" payload=1B "a"`},
	}, {
		name:    "MQTT-4.3.3-2 QoS2 resend of an unreleased id is not routed twice",
		profile: "hivemq",
		script: append(online(0, 1, "d", "t", 2),
			act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 2, 7, "x")}, act{1 * sec, pub(2, "t", 2, 7, "x")},
			act{2 * sec, pkt(2, &packet.Pubrel{PacketID: 7})}, act{3 * sec, pub(2, "t", 2, 7, "y")}),
		filter: []string{"c1 PUBLISH"},
		want: []string{`0s c1 PUBLISH q2 id=1 topic="t" payload=1B "x"`,
			`3s c1 PUBLISH q2 id=2 topic="t" payload=1B "y"`},
	}, {
		name:    "invariant 11 tencent replays stored messages 500 ms apart",
		profile: "tencent",
		script: append(online(0, 1, "d", "t", 1), act{1 * sec, lost(1)},
			act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)},
			act{2 * sec, pub(2, "t", 1, 1, "a")}, act{2 * sec, pub(2, "t", 1, 2, "b")}, act{2 * sec, pub(2, "t", 1, 3, "c")},
			act{10 * sec, open(3)}, act{10 * sec, connect(3, "d", false, 0)},
			act{10 * sec, pub(2, "t", 1, 4, "live")}),
		until:  20 * sec,
		filter: []string{"c3 PUBLISH"},
		want: []string{`10s c3 PUBLISH q1 id=1 topic="t" payload=1B "a"`,
			`10.5s c3 PUBLISH q1 id=2 topic="t" payload=1B "b"`,
			`11s c3 PUBLISH q1 id=3 topic="t" payload=1B "c"`,
			`11s c3 PUBLISH q1 id=4 topic="t" payload=4B "live"`},
	}, {
		name:    "invariant 8 tencent drops the oldest at 150",
		profile: "tencent",
		script: func() []act {
			s := append(online(0, 1, "d", "t", 1), act{1 * sec, lost(1)},
				act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)})
			for i := range 151 {
				s = append(s, act{2 * sec, pub(2, "t", 1, uint16(i+1), "m")})
			}
			return s
		}(),
		filter: []string{evDropped},
		want:   []string{fmt.Sprintf("2s ev 13 d m1 r%d sp=false", broker.ReasonQueueFull)},
	}, {
		name:    "invariant 10 tencent session expiry drops what was stored",
		profile: "tencent",
		script: append(online(0, 1, "d", "t", 1),
			act{0, open(2)}, act{0, connect(2, "p", true, 0)}, act{1 * sec, lost(1)},
			act{1 * hour, pub(2, "t", 1, 1, "m")}),
		until:  26 * hour,
		filter: []string{evDropped},
		want:   []string{fmt.Sprintf("24h0m1s ev 13 d m1 r%d sp=false", broker.ReasonSessionExpired)},
	}, {
		name:    "invariant 9 tencent drops a copy queued behind the window after 24 h",
		profile: "tencent",
		script: func() []act {
			s := append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)})
			for i := range 11 {
				s = append(s, act{sec, pub(2, "t", 1, uint16(i+1), "m")})
			}
			return s
		}(),
		until:  26 * hour,
		filter: []string{evDropped},
		want:   []string{fmt.Sprintf("24h0m1s ev 13 d m11 r%d sp=false", broker.ReasonTTL)},
	}, {
		name:    "MQTT-3.1.2-24 keepalive closes at 1.5 x and the Will fires",
		profile: "mosquitto",
		script: []act{{0, open(1)},
			{0, pkt(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "d", KeepAlive: 10, WillFlag: true, WillTopic: "w", WillPayload: []byte("bye")})},
			{10 * sec, pkt(1, &packet.Pingreq{})}},
		until:  time.Minute,
		filter: []string{"c1 close"},
		want:   []string{"25s c1 close"},
	}, {
		name:    "MQTT-3.14.4-3 DISCONNECT discards the Will; loss publishes it",
		profile: "mosquitto",
		script: []act{{0, open(1)},
			{0, pkt(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "a", WillFlag: true, WillTopic: "w", WillPayload: []byte("a")})},
			{0, open(2)},
			{0, pkt(2, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "b", WillFlag: true, WillTopic: "w", WillPayload: []byte("b")})},
			{1 * sec, pkt(1, &packet.Disconnect{})}, {2 * sec, lost(2)}},
		filter: []string{evWill},
		want:   []string{"2s ev 14 b m1 r0 sp=false"},
	}, {
		name:    "MQTT-3.1.4-2 takeover closes the old connection",
		profile: "hivemq",
		script: append(online(0, 1, "d", "t", 1),
			act{1 * sec, open(2)}, act{1 * sec, connect(2, "d", false, 0)}),
		filter: []string{"1s c"},
		want:   []string{"1s c1 close", "1s c2 CONNACK sp=true accepted"},
	}, {
		name:    "MQTT-3.3.5-1 overlapping subscriptions deliver once at the highest QoS",
		profile: "hivemq",
		script: append(online(0, 1, "d", "a/+", 1),
			act{0, sub(1, "a/#", 2)}, act{0, sub(1, "#", 0)},
			act{0, open(2)}, act{0, connect(2, "p", true, 0)}, act{0, pub(2, "a/b", 2, 1, "x")}),
		filter: []string{"c1 PUBLISH"},
		want:   []string{`0s c1 PUBLISH q2 id=1 topic="a/b" payload=1B "x"`},
	}, {
		name:    "MQTT-3.3.1-6 retained message sent on subscribe with RETAIN",
		profile: "mosquitto",
		script: []act{{0, open(2)}, {0, connect(2, "p", true, 0)},
			{0, pkt(2, &packet.Publish{QoS: 1, Retain: true, Topic: "r", PacketID: 1, Payload: []byte("kept")})},
			{1 * sec, open(1)}, {1 * sec, connect(1, "d", true, 0)}, {1 * sec, sub(1, "+", 2)}},
		filter: []string{"c1 "},
		want: []string{"1s c1 CONNACK sp=false accepted", "1s c1 SUBACK id=1 [2]",
			`1s c1 PUBLISH q1 id=1 retain topic="r" payload=4B "kept"`},
	}, {
		name:    "invariant 11 aws spaces stored messages 1/10 s apart: never more than 10 in a second",
		profile: "aws",
		script:  offlineBurst(12, 1),
		until:   20 * sec,
		filter:  []string{"c3 PUBLISH", "id=1"},
		want: []string{`10s c3 PUBLISH q1 id=1 topic="t" payload=1B "m"`, `10.9s c3 PUBLISH q1 id=10 topic="t" payload=1B "m"`,
			`11s c3 PUBLISH q1 id=11 topic="t" payload=1B "m"`, `11.1s c3 PUBLISH q1 id=12 topic="t" payload=1B "m"`},
	}, {
		name:    "invariant 11 aws live traffic overtakes the paced backlog",
		profile: "aws",
		script:  append(offlineBurst(11, 1), act{10 * sec, pub(2, "t", 1, 99, "live")}),
		until:   20 * sec,
		filter:  []string{"c3 PUBLISH", "payload=4B"},
		want:    []string{`10s c3 PUBLISH q1 id=2 topic="t" payload=4B "live"`}, // ten stored still wait
	}, {
		name:    "invariant 11 tencent paces the resends of unacknowledged messages",
		profile: "tencent",
		script: append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 1, 1, "a")}, act{0, pub(2, "t", 1, 2, "b")}, act{sec, lost(1)},
			act{2 * sec, open(3)}, act{2 * sec, connect(3, "d", false, 0)}),
		until:  10 * sec,
		filter: []string{"c3 PUBLISH"},
		want: []string{`2s c3 PUBLISH q1 id=1 dup topic="t" payload=1B "a"`,
			`2.5s c3 PUBLISH q1 id=2 dup topic="t" payload=1B "b"`},
	}, {
		name:    "emqx retries an unacknowledged PUBLISH on a live connection after 30 s",
		profile: "emqx",
		script: append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 1, 1, "a")}),
		until:  time.Minute,
		filter: []string{"c1 PUBLISH"},
		want: []string{`0s c1 PUBLISH q1 id=1 topic="t" payload=1B "a"`, `30s c1 PUBLISH q1 id=1 dup topic="t" payload=1B "a"`,
			`1m0s c1 PUBLISH q1 id=1 dup topic="t" payload=1B "a"`},
	}, {
		name:    "aws gives up retrying after an hour online, not offline",
		profile: "aws",
		script: append(append(online(0, 1, "d", "t", 1), online(0, 4, "e", "t", 1)...), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 1, 1, "a")}, act{sec, lost(4)}),
		until:  2 * hour,
		filter: []string{evDropped},
		want: []string{fmt.Sprintf("1h0m0s ev 13 d m1 r%d sp=false", broker.ReasonRetryExhausted),
			fmt.Sprintf("1h30m0s ev 13 e m1 r%d sp=false", broker.ReasonSessionExpired)},
	}, {
		name:    "aws ignores a QoS 2 PUBLISH: no PUBACK, no delivery",
		profile: "aws",
		script: append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 2, 1, "a")}),
		filter: []string{"0s c"},
		want:   []string{"0s c1 CONNACK sp=false accepted", "0s c1 SUBACK id=1 [1]", "0s c2 CONNACK sp=false accepted"},
	}, {
		name:    "tencent handles a QoS 2 PUBLISH as QoS 1",
		profile: "tencent",
		script: append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
			act{0, pub(2, "t", 2, 1, "a")}),
		filter: []string{"0s c", "PUB"},
		want:   []string{`0s c1 PUBLISH q1 id=1 topic="t" payload=1B "a"`, "0s c2 PUBACK id=1"},
	}, {
		name:    "invariant 8 DropNewest refuses the arriving copy",
		profile: "mosquitto",
		tweak:   func(p *broker.Policy) { p.QueueCap = 2 },
		script:  offlineBurst(3, 1),
		filter:  []string{evDropped},
		want:    []string{fmt.Sprintf("2s ev 13 d m3 r%d sp=false", broker.ReasonQueueFull)},
	}, {
		name:    "invariant 8 emqx evicts QoS 0 first, and a QoS 0 arrival never evicts QoS 1",
		profile: "emqx",
		tweak:   func(p *broker.Policy) { p.QueueCap = 2 },
		script: append(online(0, 1, "d", "t", 1), act{sec, lost(1)}, act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)},
			act{2 * sec, pub(2, "t", 1, 1, "1")}, act{2 * sec, pub(2, "t", 0, 0, "2")}, act{2 * sec, pub(2, "t", 1, 3, "3")},
			act{2 * sec, pub(2, "t", 0, 0, "4")}),
		filter: []string{evDropped},
		want: []string{fmt.Sprintf("2s ev 13 d m2 r%d sp=false", broker.ReasonQueueFull),
			fmt.Sprintf("2s ev 13 d m4 r%d sp=false", broker.ReasonQueueFull)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := grep(run(t, tt.profile, tt.tweak, tt.script, tt.until), tt.filter...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// offlineBurst subscribes d (c1), takes it offline, has p (c2) publish n
// messages at QoS q while it is away, and resumes d on c3 at 10 s.
func offlineBurst(n int, q packet.QoS) []act {
	s := append(online(0, 1, "d", "t", 1), act{sec, lost(1)}, act{2 * sec, open(2)}, act{2 * sec, connect(2, "p", true, 0)})
	for i := range n {
		s = append(s, act{2 * sec, pub(2, "t", q, uint16(i+1), "m")})
	}
	return append(s, act{10 * sec, open(3)}, act{10 * sec, connect(3, "d", false, 0)})
}

func TestMatchesAgreesWithCodec(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/b", "a/b", "+/+", "a/+/c", "/#", "+/#", "$SYS/#"}
	topics := []string{"a", "a/b", "a/b/c", "b", "/", "/a", "a/", "$SYS/x", "$SYS"}
	for _, f := range filters {
		for _, tp := range topics {
			if got, want := matches(f, tp), packet.Match(f, tp); got != want {
				t.Errorf("matches(%q, %q) = %v, packet.Match says %v", f, tp, got, want)
			}
		}
	}
}

// TestCloneIsIndependent checks that a clone starts in the same state and
// that stepping it leaves the original alone.
func TestCloneIsIndependent(t *testing.T) {
	pol, _ := broker.Profile("tencent")
	m := New(pol)
	for _, a := range append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)},
		act{0, pub(2, "t", 1, 1, "a")}, act{sec, lost(1)}, act{sec, pub(2, "t", 1, 2, "b")}) {
		m.Step(a.at, a.in)
	}
	before := string(m.AppendState(nil))
	c := m.Clone()
	if got := string(c.AppendState(nil)); got != before {
		t.Fatalf("clone state\n got %s\nwant %s", got, before)
	}
	c.Step(2*sec, open(3))
	c.Step(2*sec, connect(3, "d", false, 0))
	c.Step(2*sec, pkt(3, &packet.Puback{PacketID: 1}))
	if got := string(c.AppendState(nil)); got == before {
		t.Fatal("stepping the clone did not change its state")
	}
	if got := string(m.AppendState(nil)); got != before {
		t.Fatalf("stepping the clone changed the original:\n got %s\nwant %s", got, before)
	}
}

// TestPacketIDBase checks the WithPacketIDBase seam: a new session's ids
// start after the base and wrap from 65535 to 1, never 0 [MQTT-2.3.1-1].
func TestPacketIDBase(t *testing.T) {
	pol, _ := broker.Profile("mosquitto")
	m := New(pol, WithPacketIDBase(65534))
	var ids []uint16
	script := append(online(0, 1, "d", "t", 1), act{0, open(2)}, act{0, connect(2, "p", true, 0)})
	for i := range 3 {
		script = append(script, act{0, pub(2, "t", 1, uint16(i+1), "x")})
	}
	for _, a := range script {
		for _, o := range m.Step(a.at, a.in).Outputs {
			if p, ok := o.Packet.(*packet.Publish); ok && o.Conn == 1 {
				ids = append(ids, p.PacketID)
			}
		}
	}
	if want := []uint16{65535, 1, 2}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	if c := m.Clone(); c.pidBase != m.pidBase {
		t.Errorf("clone has base %d, want %d", c.pidBase, m.pidBase)
	}
}
