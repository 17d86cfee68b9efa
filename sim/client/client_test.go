package client

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/rng"
)

// desc describes an action compactly and independently of packet.String,
// so the expected scripts below read like a protocol trace.
func desc(a Action) string {
	switch a.Kind {
	case Send:
		switch p := a.Packet.(type) {
		case *packet.Connect:
			will := ""
			if p.WillFlag {
				will = fmt.Sprintf(" will=%s:%s q%d%s", p.WillTopic, p.WillPayload, p.WillQoS, flag(p.WillRetain, " retain"))
			}
			return fmt.Sprintf("CONNECT clean=%v ka=%d%s", p.CleanSession, p.KeepAlive, will)
		case *packet.Publish:
			return fmt.Sprintf("PUBLISH q%d id=%d%s%s %s", p.QoS, p.PacketID, flag(p.Dup, " dup"), flag(p.Retain, " retain"), p.Payload)
		case *packet.Subscribe:
			return fmt.Sprintf("SUBSCRIBE id=%d", p.PacketID)
		case *packet.Puback:
			return fmt.Sprintf("PUBACK %d", p.PacketID)
		case *packet.Pubrec:
			return fmt.Sprintf("PUBREC %d", p.PacketID)
		case *packet.Pubrel:
			return fmt.Sprintf("PUBREL %d", p.PacketID)
		case *packet.Pubcomp:
			return fmt.Sprintf("PUBCOMP %d", p.PacketID)
		case *packet.Pingreq:
			return "PINGREQ"
		case *packet.Disconnect:
			return "DISCONNECT"
		}
		return fmt.Sprintf("%T", a.Packet)
	case Deliver:
		return "deliver " + string(a.Publish.Payload)
	case Drop:
		return fmt.Sprintf("drop %v %s", a.Reason, a.Publish.Payload)
	case Up:
		return fmt.Sprintf("up sp=%v", a.SessionPresent)
	}
	return a.Kind.String()
}

// flag returns s when on, else "".
func flag(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

// step is one input to the session and the actions it must produce.
type step struct {
	in   func(s *Session, now time.Duration)
	want string // actions joined by "; "
}

func start() step { return step{func(s *Session, now time.Duration) { s.Start(now) }, "dial"} }
func dialed(want string) step {
	return step{func(s *Session, now time.Duration) { s.Dialed(now, true) }, want}
}
func recv(p packet.Packet, want string) step {
	return step{func(s *Session, now time.Duration) { s.Receive(now, p) }, want}
}
func pub(qos packet.QoS, payload, want string) step {
	return step{func(s *Session, now time.Duration) {
		s.Publish(now, &packet.Publish{QoS: qos, Topic: "t", Payload: []byte(payload)})
	}, want}
}
func lost() step { return step{func(s *Session, now time.Duration) { s.Lost(now) }, ""} }
func redial() step {
	return step{func(s *Session, now time.Duration) {
		w, _ := s.NextDeadline()
		s.Deadline(w)
	}, "dial"}
}
func connack(sp bool, want string) step { return recv(&packet.Connack{SessionPresent: sp}, want) }

func run(t *testing.T, cfg Config, steps []step) *Session {
	t.Helper()
	r := rng.New(1, "client-test", 0)
	s := New(cfg, &r)
	now := time.Second
	for i, st := range steps {
		st.in(s, now)
		var got []string
		for _, a := range s.Actions() {
			got = append(got, desc(a))
		}
		if g := strings.Join(got, "; "); g != st.want {
			t.Fatalf("step %d: actions\n got: %s\nwant: %s", i, g, st.want)
		}
		now += time.Millisecond
	}
	return s
}

// persistent publishes only; subscriber also subscribes to its command topic.
var (
	persistent = Config{ClientID: "d1", KeepAlive: 60 * time.Second}
	subscriber = Config{ClientID: "d1", KeepAlive: 60 * time.Second, Subscriptions: []packet.Subscription{{Filter: "cmd/d1", QoS: 1}}}
)

func TestSessionScripts(t *testing.T) {
	clean := subscriber
	clean.Clean = true
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"first connect subscribes", subscriber, []step{
			start(), dialed("CONNECT clean=false ka=60"),
			connack(false, "up sp=false; SUBSCRIBE id=1"),
		}},
		{"resumed session keeps subscriptions", subscriber, []step{
			start(), dialed("CONNECT clean=false ka=60"),
			connack(false, "up sp=false; SUBSCRIBE id=1"),
			recv(&packet.Suback{PacketID: 1, ReturnCodes: []byte{1}}, ""),
			lost(), redial(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
		}},
		{"lost SUBACK: subscribe again even when resumed", subscriber, []step{
			start(), dialed("CONNECT clean=false ka=60"),
			connack(false, "up sp=false; SUBSCRIBE id=1"),
			lost(), redial(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true; SUBSCRIBE id=2"),
		}},
		{"resume re-sends unacked in order with DUP [MQTT-4.4.0-1]", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			pub(1, "a", "PUBLISH q1 id=1 a"), pub(1, "b", "PUBLISH q1 id=2 b"), pub(1, "c", "PUBLISH q1 id=3 c"),
			recv(&packet.Puback{PacketID: 2}, ""),
			lost(), redial(), dialed("CONNECT clean=false ka=60"),
			connack(true, "up sp=true; PUBLISH q1 id=1 dup a; PUBLISH q1 id=3 dup c"),
		}},
		{"no session on the server: resubscribe, publish afresh", subscriber, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(false, "up sp=false; SUBSCRIBE id=1"),
			recv(&packet.Suback{PacketID: 1, ReturnCodes: []byte{1}}, ""),
			pub(1, "a", "PUBLISH q1 id=2 a"),
			lost(), redial(), dialed("CONNECT clean=false ka=60"),
			connack(false, "up sp=false; SUBSCRIBE id=3; PUBLISH q1 id=4 a"),
		}},
		{"offline QoS1 waits, QoS0 is dropped", clean, []step{
			pub(1, "early", "drop stopped early"),
			start(), pub(1, "a", ""), pub(0, "b", "drop qos0-offline b"),
			dialed("CONNECT clean=true ka=60"),
			connack(false, "up sp=false; SUBSCRIBE id=1; PUBLISH q1 id=2 a"),
			pub(0, "c", "PUBLISH q0 id=0 c"),
		}},
		{"inbound QoS2 delivered once until PUBREL [MQTT-4.3.3-2]", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			recv(&packet.Publish{QoS: 2, PacketID: 5, Payload: []byte("x")}, "deliver x; PUBREC 5"),
			recv(&packet.Publish{QoS: 2, PacketID: 5, Dup: true, Payload: []byte("x")}, "PUBREC 5"),
			lost(), redial(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			recv(&packet.Publish{QoS: 2, PacketID: 5, Dup: true, Payload: []byte("x")}, "PUBREC 5"),
			recv(&packet.Pubrel{PacketID: 5}, "PUBCOMP 5"),
			recv(&packet.Publish{QoS: 2, PacketID: 5, Payload: []byte("y")}, "deliver y; PUBREC 5"),
		}},
		{"inbound QoS1 acknowledged [MQTT-4.3.2-2]", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			recv(&packet.Publish{QoS: 1, PacketID: 9, Payload: []byte("m")}, "deliver m; PUBACK 9"),
		}},
		{"outbound QoS2 resumes with PUBREL", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			pub(2, "a", "PUBLISH q2 id=1 a"), pub(2, "b", "PUBLISH q2 id=2 b"),
			recv(&packet.Pubrec{PacketID: 1}, "PUBREL 1"),
			lost(), redial(), dialed("CONNECT clean=false ka=60"),
			connack(true, "up sp=true; PUBREL 1; PUBLISH q2 id=2 dup b"),
			recv(&packet.Pubcomp{PacketID: 1}, ""),
			recv(&packet.Pubrec{PacketID: 2}, "PUBREL 2"),
			recv(&packet.Pubcomp{PacketID: 2}, ""),
		}},
		{"refused CONNACK closes and backs off", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"),
			recv(&packet.Connack{ReturnCode: packet.RefusedServerUnavailable}, "close"),
			redial(),
		}},
		{"packet before CONNACK is a protocol error [MQTT-3.2.0-1]", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"),
			recv(&packet.Pingresp{}, "close"),
		}},
		{"graceful stop sends DISCONNECT", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			{func(s *Session, now time.Duration) { s.Stop(now, true) }, "DISCONNECT; close"},
		}},
		{"power cut aborts; a late dial is closed", persistent, []step{
			start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
			{func(s *Session, now time.Duration) { s.Stop(now, false) }, "abort"},
			start(),
			{func(s *Session, now time.Duration) { s.Stop(now, false) }, ""},
			dialed("close"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.cfg, tt.steps) })
	}
}

func TestWindowLimitsInflight(t *testing.T) {
	cfg := persistent
	cfg.Inflight = 2
	s := run(t, cfg, []step{
		start(), dialed("CONNECT clean=false ka=60"), connack(true, "up sp=true"),
		pub(1, "a", "PUBLISH q1 id=1 a"), pub(1, "b", "PUBLISH q1 id=2 b"), pub(1, "c", ""),
		recv(&packet.Puback{PacketID: 1}, "PUBLISH q1 id=3 c"),
	})
	if got, want := s.Pending(), 2; got != want {
		t.Errorf("Pending() = %d, want %d", got, want)
	}
}

func TestKeepalivePingAndDeadLink(t *testing.T) {
	r := rng.New(1, "client-test", 0)
	s := New(persistent, &r)
	s.Start(0)
	s.Dialed(0, true)
	s.Receive(0, &packet.Connack{SessionPresent: true})
	s.Actions()
	ka := persistent.KeepAlive
	if got, ok := s.NextDeadline(); !ok || got != ka {
		t.Fatalf("NextDeadline = %v, %v; want %v, true", got, ok, ka)
	}
	s.Deadline(ka - 1) // early: nothing
	if a := s.Actions(); len(a) != 0 {
		t.Fatalf("early Deadline produced %v", a)
	}
	s.Deadline(ka)
	if a := s.Actions(); len(a) != 1 || desc(a[0]) != "PINGREQ" {
		t.Fatalf("Deadline at keepalive = %v, want PINGREQ [MQTT-3.1.2-23]", a)
	}
	due, _ := s.NextDeadline()
	if want := ka + 20*time.Second; due != want {
		t.Fatalf("ping deadline = %v, want %v", due, want)
	}
	s.Deadline(due)
	if a := s.Actions(); len(a) != 1 || a[0].Kind != Close {
		t.Fatalf("missed PINGRESP = %v, want close", a)
	}
	if s.State() != Waiting || s.Stats().PingTimeouts != 1 {
		t.Errorf("after dead link: %v, stats %+v", s, s.Stats())
	}
}

func TestBackoffDoublesWithJitterUpToMax(t *testing.T) {
	cfg := persistent
	cfg.BackoffMin, cfg.BackoffMax = time.Second, 16*time.Second
	r := rng.New(1, "client-test", 0)
	s := New(cfg, &r)
	s.Start(0)
	s.Actions()
	now := time.Duration(0)
	bounds := []time.Duration{1, 2, 4, 8, 16, 16, 16}
	for i, b := range bounds {
		s.Dialed(now, false)
		wake, ok := s.NextDeadline()
		b *= time.Second
		if !ok || wake-now < b/2 || wake-now > b {
			t.Fatalf("attempt %d: waits %v, want in [%v, %v]", i, wake-now, b/2, b)
		}
		now = wake
		s.Deadline(now)
		if a := s.Actions(); len(a) != 1 || a[0].Kind != Dial {
			t.Fatalf("attempt %d: Deadline = %v, want dial", i, a)
		}
	}
	s.Dialed(now, true)
	s.Receive(now, &packet.Connack{})
	s.Lost(now)
	if wake, _ := s.NextDeadline(); wake-now > time.Second {
		t.Errorf("backoff after a successful connect = %v, want reset to <= 1s", wake-now)
	}
}

func TestPacketIDsSkipInUse(t *testing.T) {
	cfg := persistent
	cfg.Inflight = 3
	r := rng.New(1, "client-test", 0)
	s := New(cfg, &r)
	s.nextID = 65533
	s.Start(0)
	s.Dialed(0, true)
	s.Receive(0, &packet.Connack{SessionPresent: true})
	for i := 0; i < 3; i++ {
		s.Publish(0, &packet.Publish{QoS: 1, Topic: "t"})
	}
	s.Receive(0, &packet.Puback{PacketID: 65535})
	s.Publish(0, &packet.Publish{QoS: 1, Topic: "t"})
	var ids []uint16
	for _, f := range s.inflight {
		ids = append(ids, f.pub.PacketID)
	}
	if got, want := fmt.Sprint(ids), "[65534 1 2]"; got != want {
		t.Errorf("in-flight ids = %s, want %s (0 is never used [MQTT-2.3.1-1])", got, want)
	}
}

// TestStatusWillBirthFarewell follows a device with a Will, a retained
// Birth after every CONNACK and a Farewell before a graceful DISCONNECT.
func TestStatusWillBirthFarewell(t *testing.T) {
	cfg := persistent
	cfg.Will = &packet.Publish{Topic: "status/d1", Payload: []byte("offline"), QoS: 1, Retain: true}
	cfg.Birth = &packet.Publish{Topic: "status/d1", Payload: []byte("online"), QoS: 1, Retain: true}
	cfg.Farewell = cfg.Will
	const connect = "CONNECT clean=false ka=60 will=status/d1:offline q1 retain"
	run(t, cfg, []step{
		start(), dialed(connect),
		connack(false, "up sp=false; PUBLISH q1 id=1 retain online"),
		pub(1, "a", "PUBLISH q1 id=2 a"),
		lost(), redial(), dialed(connect),
		// Resume: the unacked messages first, in order, then a fresh birth.
		connack(true, "up sp=true; PUBLISH q1 id=1 dup retain online; PUBLISH q1 id=2 dup a; PUBLISH q1 id=3 retain online"),
		recv(&packet.Puback{PacketID: 1}, ""), recv(&packet.Puback{PacketID: 2}, ""), recv(&packet.Puback{PacketID: 3}, ""),
		{func(s *Session, now time.Duration) { s.Stop(now, true) }, "PUBLISH q0 id=0 retain offline; DISCONNECT; close"},
	})
	if cfg.Birth.PacketID != 0 || cfg.Will.QoS != 1 {
		t.Errorf("the session changed its configured messages")
	}
}
