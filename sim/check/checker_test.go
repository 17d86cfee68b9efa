package check

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

const (
	ms  = time.Millisecond
	sec = time.Second
)

func profile(t *testing.T, name string) broker.Policy {
	t.Helper()
	p, err := broker.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// online plays "pub" (conn 1) and persistent subscriber "sub" (conn 2)
// connecting at t=0.
func online(s *script) {
	s.connect(1, "pub", true, 0, false)
	s.connect(2, "sub", false, 0, false)
}

// queuedWhileOffline plays sub going offline at 1 s and message 1 (QoS 1)
// being queued for it at 2 s.
func queuedWhileOffline(s *script) {
	online(s)
	s.at(sec).lose(2, "sub")
	s.at(2*sec).publish(1, "pub", 1, 1, "t", 1, 1)
	s.copyEv(broker.EvEnqueued, "sub", 1, 1, 0)
}

// TestCheckerInvariants plays one short history per row and wants the
// checker to report exactly the invariant named (0: none).
func TestCheckerInvariants(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		policy  func(*broker.Policy)
		play    func(*script)
		want    broker.Invariant
		source  string
	}{
		{"resume with SP=1 passes", "mosquitto", nil, func(s *script) {
			queuedWhileOffline(s)
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 1, 1, "t", 1, 1, false, true)
			s.at(3*sec+50*ms).recv("sub", &packet.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: payload(1)})
			s.at(3*sec+100*ms).packetIn(3, &packet.Puback{PacketID: 1})
			s.copyEv(broker.EvDelivered, "sub", 1, 1, 0)
		}, 0, ""},
		{"SP=0 for a live persistent session", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(2 * sec).in(broker.Input{Kind: broker.InOpen, Conn: 3})
			s.packetIn(3, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "sub"})
			s.send(3, &packet.Connack{SessionPresent: false})
		}, broker.InvSessionPresent, "[MQTT-3.2.2-2]"},
		{"SP=1 on CleanSession=1", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(2*sec).connect(3, "sub", true, 0, true)
		}, broker.InvSessionPresent, "[MQTT-3.2.2-1]"},
		{"a clean CONNECT creates a session over the old one", "mosquitto", nil, func(s *script) {
			queuedWhileOffline(s)
			s.at(3 * sec).in(broker.Input{Kind: broker.InOpen, Conn: 3})
			s.packetIn(3, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "sub", CleanSession: true})
			s.ev(broker.Event{Kind: broker.EvSessionCreated, ClientID: "sub", Clean: true})
		}, broker.InvCleanSession, "[MQTT-3.1.2-6]"},
		{"QoS 0 queued offline on mosquitto", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(2*sec).publish(1, "pub", 1, 1, "t", 0, 1)
			s.copyEv(broker.EvEnqueued, "sub", 1, 0, 0)
		}, broker.InvQoS0NotStored, "[MQTT-3.1.2-5]"},
		{"QoS 0 queued offline on emqx is allowed", "emqx", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(2*sec).publish(1, "pub", 1, 1, "t", 0, 1)
			s.copyEv(broker.EvEnqueued, "sub", 1, 0, 0)
		}, 0, ""},
		{"QoS 1 dropped as if QoS 0", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(2*sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.copyEv(broker.EvDropped, "sub", 1, 1, broker.ReasonQoS0Offline)
		}, broker.InvOfflineStorage, "[MQTT-3.1.2-5]"},
		{"resend with another packet id", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 7, false, false)
			s.at(2*sec).lose(2, "sub")
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 1, 1, "t", 1, 8, true, true)
		}, broker.InvRedelivery, "[MQTT-4.4.0-1]"},
		{"resend without DUP", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 7, false, false)
			s.at(2*sec).lose(2, "sub")
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 1, 1, "t", 1, 7, false, true)
		}, broker.InvRedelivery, "[MQTT-3.3.1-1]"},
		{"resume resends out of order", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 1, false, false)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.sent(2, "sub", 2, 2, "t", 1, 2, false, false)
			s.at(2*sec).lose(2, "sub")
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 2, 2, "t", 1, 2, true, true)
		}, broker.InvRedelivery, "[MQTT-4.4.0-1]"},
		{"QoS 2 resume without PUBREL", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 2, 1)
			s.sent(2, "sub", 1, 1, "t", 2, 1, false, false)
			s.recv("sub", &packet.Publish{QoS: 2, Topic: "t", PacketID: 1, Payload: payload(1)})
			s.packetIn(2, &packet.Pubrec{PacketID: 1})
			s.copyEv(broker.EvDelivered, "sub", 1, 2, 0)
			s.at(2*sec).lose(2, "sub")
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.at(4 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvRedelivery, "[MQTT-4.4.0-1]"},
		{"QoS 1 acknowledged but never received", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 1, false, false)
			s.packetIn(2, &packet.Puback{PacketID: 1})
			s.copyEv(broker.EvDelivered, "sub", 1, 1, 0)
		}, broker.InvQoSGuarantee, "[MQTT-4.3.2-2]"},
		{"QoS 2 received twice", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 2, 1)
			s.sent(2, "sub", 1, 1, "t", 2, 1, false, false)
			s.recv("sub", &packet.Publish{QoS: 2, Topic: "t", PacketID: 1, Payload: payload(1)})
			s.recv("sub", &packet.Publish{QoS: 2, Topic: "t", PacketID: 1, Payload: payload(1)})
		}, broker.InvQoSGuarantee, "[MQTT-4.3.3-2]"},
		{"first receipts go backwards", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 1, false, false)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.sent(2, "sub", 2, 2, "t", 1, 2, false, false)
			s.recv("sub", &packet.Publish{QoS: 1, Topic: "t", PacketID: 2, Payload: payload(2)})
			s.recv("sub", &packet.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: payload(1)})
		}, broker.InvOrder, "[MQTT-4.6.0-6]"},
		{"QoS 0 first receipts go backwards", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 0, 1)
			s.sent(2, "sub", 1, 1, "t", 0, 0, false, false)
			s.copyEv(broker.EvDelivered, "sub", 1, 0, 0)
			s.publish(1, "pub", 2, 2, "t", 0, 1)
			s.sent(2, "sub", 2, 2, "t", 0, 0, false, false)
			s.copyEv(broker.EvDelivered, "sub", 2, 0, 0)
			s.at(2*sec).recv("sub", &packet.Publish{Topic: "t", Payload: payload(2)})
			s.recv("sub", &packet.Publish{Topic: "t", Payload: payload(1)})
		}, broker.InvOrder, "[MQTT-4.6.0-6]"},
		{"order is not checked on aws", "aws", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 1, false, false)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.sent(2, "sub", 2, 2, "t", 1, 2, false, false)
			s.recv("sub", &packet.Publish{QoS: 1, Topic: "t", PacketID: 2, Payload: payload(2)})
			s.recv("sub", &packet.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: payload(1)})
		}, 0, ""},
		{"overflow drops the newest on a drop-oldest policy", "tencent", func(p *broker.Policy) { p.QueueCap = 1 }, func(s *script) {
			queuedWhileOffline(s)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.copyEv(broker.EvDropped, "sub", 2, 1, broker.ReasonQueueFull)
		}, broker.InvQueueBound, "(invariant 8, policy tencent)"},
		{"overflow drops the oldest on a drop-oldest policy", "tencent", func(p *broker.Policy) { p.QueueCap = 1 }, func(s *script) {
			queuedWhileOffline(s)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.copyEv(broker.EvDropped, "sub", 1, 1, broker.ReasonQueueFull)
			s.copyEv(broker.EvEnqueued, "sub", 2, 1, 0)
		}, 0, ""},
		{"queue above its cap", "mosquitto", func(p *broker.Policy) { p.QueueCap = 1 }, func(s *script) {
			queuedWhileOffline(s)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.copyEv(broker.EvEnqueued, "sub", 2, 1, 0)
		}, broker.InvQueueBound, "(invariant 8)"},
		{"stored message sent after its TTL", "tencent", func(p *broker.Policy) { p.MessageTTL = sec }, func(s *script) {
			queuedWhileOffline(s)
			s.at(4*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 1, 1, "t", 1, 1, false, true)
		}, broker.InvTTL, "(Tencent IoT Hub: stored \"for a maximum of 24 hours\")"},
		{"expiry before disconnect + E", "emqx", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(time.Hour).ev(broker.Event{Kind: broker.EvSessionExpired, ClientID: "sub"})
		}, broker.InvExpiry, "(invariant 10)"},
		{"session still there after E + tolerance", "aws", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(sec + 90*time.Minute + ms).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvExpiry, "(invariant 10; aws expires up to 30m0s late, e.g. AWS IoT Core: \"up to 30 minutes longer (but not less)\")"},
		{"emqx session still there after E", "emqx", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(sec + 2*time.Hour + ms).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvExpiry, "(invariant 10)"},
		{"aws expiry within its 30 minutes of tolerance", "aws", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(sec + 80*time.Minute).ev(broker.Event{Kind: broker.EvSessionExpired, ClientID: "sub"})
			s.at(2 * time.Hour).in(broker.Input{Kind: broker.InDeadline})
		}, 0, ""},
		{"expiry on a never-expiring policy", "hivemq", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			s.at(48 * time.Hour).ev(broker.Event{Kind: broker.EvSessionExpired, ClientID: "sub"})
		}, broker.InvExpiry, "[MQTT-4.1.0-1]"},
		{"tencent stored sends 100 ms apart", "tencent", nil, func(s *script) {
			queuedWhileOffline(s)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.copyEv(broker.EvEnqueued, "sub", 2, 1, 0)
			s.at(3*sec).connect(3, "sub", false, 0, true)
			s.sent(3, "sub", 1, 1, "t", 1, 1, false, true)
			s.at(3*sec+100*ms).sent(3, "sub", 2, 2, "t", 1, 2, false, true)
		}, broker.InvPacing, "(Tencent IoT Hub: \"sequentially at 500 ms intervals\")"},
		{"aws eleven stored sends in one second", "aws", nil, func(s *script) {
			online(s)
			s.at(sec).lose(2, "sub")
			for m := broker.MsgID(1); m <= 11; m++ {
				s.publish(1, "pub", m, uint64(m), "t", 1, 1)
				s.copyEv(broker.EvEnqueued, "sub", m, 1, 0)
			}
			s.at(3*sec).connect(3, "sub", false, 0, true)
			for m := broker.MsgID(1); m <= 11; m++ {
				s.at(3*sec+time.Duration(m)*80*ms).sent(3, "sub", m, uint64(m), "t", 1, uint16(m), false, true)
			}
		}, broker.InvPacing, "(AWS IoT Core: \"maximum rate of 10 messages per second\")"},
		{"takeover keeps the old connection open", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).connect(3, "sub", false, 0, true)
		}, broker.InvTakeover, "[MQTT-3.1.4-2]"},
		{"takeover closes the old connection", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).in(broker.Input{Kind: broker.InOpen, Conn: 3})
			s.packetIn(3, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "sub"})
			s.ev(broker.Event{Kind: broker.EvSessionTakenOver, Conn: 2, ClientID: "sub"})
			s.ev(broker.Event{Kind: broker.EvDisconnected, Conn: 2, ClientID: "sub", Reason: broker.ReasonTakeover})
			s.out(broker.Output{Kind: broker.OutClose, Conn: 2})
			s.ev(broker.Event{Kind: broker.EvSessionResumed, Conn: 3, ClientID: "sub"})
			s.send(3, &packet.Connack{SessionPresent: true})
			s.ev(broker.Event{Kind: broker.EvConnected, Conn: 3, ClientID: "sub", SessionPresent: true})
		}, 0, ""},
		{"keepalive kick before 1.5 x keepalive", "mosquitto", nil, func(s *script) {
			s.connect(1, "dev", false, 10, false)
			s.at(14 * sec).ev(broker.Event{Kind: broker.EvDisconnected, Conn: 1, ClientID: "dev", Reason: broker.ReasonKeepalive})
		}, broker.InvKeepalive, "[MQTT-3.1.2-24]"},
		{"connection kept past 1.5 x keepalive", "mosquitto", nil, func(s *script) {
			s.connect(1, "dev", false, 10, false)
			s.at(16 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvKeepalive, "[MQTT-3.1.2-24]"},
		{"keepalive kick at 1.5 x keepalive", "mosquitto", nil, func(s *script) {
			s.connect(1, "dev", false, 10, false)
			s.at(15 * sec).in(broker.Input{Kind: broker.InDeadline})
			s.ev(broker.Event{Kind: broker.EvDisconnected, Conn: 1, ClientID: "dev", Reason: broker.ReasonKeepalive})
			s.at(20 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, 0, ""},
		{"packet id shared by two in-flight copies", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.sent(2, "sub", 1, 1, "t", 1, 5, false, false)
			s.publish(1, "pub", 2, 2, "t", 1, 1)
			s.sent(2, "sub", 2, 2, "t", 1, 5, false, false)
		}, broker.InvPacketIDs, "[MQTT-2.3.1-2]"},
		{"a copy owed but never reported", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 2)
			s.copyEv(broker.EvEnqueued, "sub", 1, 1, 0)
			s.at(2 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvConservation, "(invariant 15)"},
		{"a PUBLISH sent without its event", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 1, 1)
			s.copyEv(broker.EvEnqueued, "sub", 1, 1, 0)
			s.send(2, &packet.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: payload(1)})
			s.at(2 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvConservation, "(invariant 15)"},
		{"a copy delivered twice", "mosquitto", nil, func(s *script) {
			online(s)
			s.at(sec).publish(1, "pub", 1, 1, "t", 0, 1)
			s.sent(2, "sub", 1, 1, "t", 0, 0, false, false)
			s.copyEv(broker.EvDelivered, "sub", 1, 0, 0)
			s.copyEv(broker.EvDropped, "sub", 1, 0, broker.ReasonQueueFull)
		}, broker.InvConservation, "(invariant 15)"},
		{"Will after DISCONNECT", "mosquitto", nil, func(s *script) {
			s.in(broker.Input{Kind: broker.InOpen, Conn: 1})
			s.packetIn(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev", WillFlag: true, WillTopic: "w"})
			s.ev(broker.Event{Kind: broker.EvSessionCreated, ClientID: "dev"})
			s.send(1, &packet.Connack{})
			s.ev(broker.Event{Kind: broker.EvConnected, Conn: 1, ClientID: "dev"})
			s.at(sec).packetIn(1, &packet.Disconnect{})
			s.ev(broker.Event{Kind: broker.EvDisconnected, Conn: 1, ClientID: "dev", Reason: broker.ReasonClientDisconnect})
			s.ev(broker.Event{Kind: broker.EvWillPublished, ClientID: "dev", Msg: 1, Topic: "w"})
		}, broker.InvWill, "[MQTT-3.14.4-3]"},
		{"no Will on abrupt loss", "mosquitto", nil, func(s *script) {
			s.in(broker.Input{Kind: broker.InOpen, Conn: 1})
			s.packetIn(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev", WillFlag: true, WillTopic: "w"})
			s.ev(broker.Event{Kind: broker.EvSessionCreated, ClientID: "dev"})
			s.send(1, &packet.Connack{})
			s.ev(broker.Event{Kind: broker.EvConnected, Conn: 1, ClientID: "dev"})
			s.at(sec).lose(1, "dev")
			s.at(2 * sec).in(broker.Input{Kind: broker.InDeadline})
		}, broker.InvWill, "[MQTT-3.1.2-8]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := profile(t, tt.profile)
			if tt.policy != nil {
				tt.policy(&pol)
			}
			s := newScript(pol)
			tt.play(s)
			v := s.finish(s.now)
			var got broker.Invariant
			if v != nil {
				got = v.Inv
			}
			if got != tt.want {
				t.Fatalf("got invariant %d (%v), want %d", got, v, tt.want)
			}
			if v == nil {
				return
			}
			if v.Source != tt.source || v.Kind != Safety {
				t.Errorf("got %s %q, want safety %q", v.Kind, v.Source, tt.source)
			}
			if !strings.Contains(v.Report(), "last events of") {
				t.Errorf("report has no recent events:\n%s", v.Report())
			}
		})
	}
}

// TestCheckerLivenessAsTheRunGoes wants a copy pending past the bound to
// be reported by the next scan, before the run ends.
func TestCheckerLivenessAsTheRunGoes(t *testing.T) {
	s := newScript(profile(t, "mosquitto"))
	queuedWhileOffline(s)
	s.at(time.Hour + 12*time.Minute).in(broker.Input{Kind: broker.InDeadline})
	if v := s.violation(); v != nil {
		t.Fatalf("got %v before the first scan at 1h12m30s", v)
	}
	s.at(time.Hour + 13*time.Minute).in(broker.Input{Kind: broker.InDeadline})
	v := s.violation()
	if v == nil || v.Kind != Liveness || v.At != time.Hour+10*time.Minute {
		t.Fatalf("got %v, want a liveness failure at 1h10m", v)
	}
}

// TestCheckerLiveness wants a copy pending past the bound after the heal
// to be a liveness failure, and one within the bound not to be.
func TestCheckerLiveness(t *testing.T) {
	tests := []struct {
		end  time.Duration
		want Kind
	}{
		{time.Hour + 10*time.Minute, 0},
		{time.Hour + 10*time.Minute + ms, Liveness},
	}
	for _, tt := range tests {
		s := newScript(profile(t, "mosquitto"))
		queuedWhileOffline(s)
		v := s.finish(tt.end)
		var got Kind
		if v != nil {
			got = v.Kind
		}
		if got != tt.want {
			t.Errorf("end %v: got %v, want kind %v", tt.end, v, tt.want)
		}
		if v != nil && (v.Inv != broker.InvLiveness || v.At != time.Hour+10*time.Minute) {
			t.Errorf("end %v: got %v, want invariant 16 at 1h10m", tt.end, v)
		}
	}
}
