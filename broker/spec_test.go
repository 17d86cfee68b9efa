package broker

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

func TestMQTT_3_1_0_1_FirstPacketMustBeConnect(t *testing.T) {
	tests := []struct {
		name string
		p    packet.Packet
	}{
		{"publish", &packet.Publish{Topic: "a", QoS: 0}},
		{"subscribe", &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "a"}}}},
		{"pingreq", &packet.Pingreq{}},
		{"disconnect", &packet.Disconnect{}},
		{"puback", &packet.Puback{PacketID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "mosquitto", nil)
			h.open(1)
			outs := h.recv(1, tt.p)
			if !closed(outs, 1) || len(events(outs, EvProtocolError)) != 1 {
				t.Fatalf("got %s, want protocol error and close", h.trace())
			}
			if got := h.b.Stats().Conns; got != 0 {
				t.Errorf("conns = %d, want 0", got)
			}
		})
	}
}

func TestMQTT_3_1_0_2_SecondConnectIsProtocolError(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "a", false, 0)
	outs := h.recv(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "a"})
	if !closed(outs, 1) || len(events(outs, EvProtocolError)) != 1 {
		t.Fatalf("got %s, want protocol error and close", h.trace())
	}
	if got := events(outs, EvDisconnected); len(got) != 1 || got[0].Reason != ReasonProtocol {
		t.Errorf("disconnected = %v, want one with reason protocol", got)
	}
}

func TestMQTT_3_1_2_2_ProtocolVersion(t *testing.T) {
	tests := []struct {
		name  string
		level byte
		want  packet.ReturnCode
	}{
		{"MQTT", 4, packet.Accepted},
		{"MQTT", 3, packet.RefusedProtocolVersion},
		{"MQTT", 5, packet.RefusedProtocolVersion},
		{"MQIsdp", 3, packet.Accepted}, // MQTT 3.1 (TestMQTT31)
		{"MQIsdp", 4, packet.RefusedProtocolVersion},
		{"mqtt", 4, packet.RefusedProtocolVersion},
	}
	for _, tt := range tests {
		h := newHarness(t, "mosquitto", nil)
		h.open(1)
		outs := h.recv(1, &packet.Connect{ProtocolName: tt.name, ProtocolLevel: tt.level, ClientID: "a"})
		if got := h.connack(1); got.ReturnCode != tt.want || got.SessionPresent {
			t.Errorf("%s/%d: CONNACK = %v, want %v sp=false", tt.name, tt.level, got, tt.want)
		}
		if got, want := closed(outs, 1), tt.want != packet.Accepted; got != want {
			t.Errorf("%s/%d: closed = %v, want %v", tt.name, tt.level, got, want)
		}
	}
}

func TestMQTT_3_1_3_8_EmptyClientIDNeedsCleanSession(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	if got := h.connect(1, "", false, 0); got.ReturnCode != packet.RefusedIdentifierRejected {
		t.Errorf("CONNACK = %v, want identifier rejected", got)
	}
	if !closed(h.out, 1) {
		t.Error("connection not closed after refusal [MQTT-3.2.2-5]")
	}
}

func TestMQTT_3_1_3_6_EmptyClientIDAssignedUnique(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	var ids []string
	for c := ConnID(1); c <= 3; c++ {
		if got := h.connect(c, "", true, 0); got.ReturnCode != packet.Accepted {
			t.Fatalf("CONNACK = %v, want accepted", got)
		}
		ids = append(ids, events(h.out, EvConnected)[0].ClientID)
	}
	if want := []string{"auto-1", "auto-2", "auto-3"}; !slices.Equal(ids, want) {
		t.Errorf("assigned ids = %v, want %v", ids, want)
	}
}

// authFunc adapts a function to Authenticator.
type authFunc func(*packet.Connect) (packet.ReturnCode, string)

func (f authFunc) Authenticate(c *packet.Connect) (packet.ReturnCode, string) { return f(c) }

func TestMQTT_3_2_2_AuthenticatorReturnCodes(t *testing.T) {
	tests := []struct {
		user string
		want packet.ReturnCode
	}{
		{"good", packet.Accepted},
		{"badpass", packet.RefusedBadUsernamePassword},
		{"denied", packet.RefusedNotAuthorized},
		{"busy", packet.RefusedServerUnavailable},
	}
	auth := authFunc(func(c *packet.Connect) (packet.ReturnCode, string) {
		switch c.Username {
		case "badpass":
			return packet.RefusedBadUsernamePassword, ""
		case "denied":
			return packet.RefusedNotAuthorized, ""
		case "busy":
			return packet.RefusedServerUnavailable, ""
		}
		return packet.Accepted, "u-" + c.Username
	})
	for _, tt := range tests {
		p, _ := Profile("mosquitto")
		h := newHarnessConfig(t, Config{Policy: p, Auth: auth})
		h.open(1)
		h.recv(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "a", UsernameFlag: true, Username: tt.user})
		if got := h.connack(1).ReturnCode; got != tt.want {
			t.Errorf("user %q: return code %v, want %v", tt.user, got, tt.want)
		}
		if tt.want != packet.Accepted && len(events(h.out, EvRefused)) != 1 {
			t.Errorf("user %q: no EvRefused in %s", tt.user, h.trace())
		}
	}
}

func TestMQTT_3_8_4_GrantedQoS(t *testing.T) {
	tests := []struct {
		profile string
		req     packet.QoS
		want    []byte // nil: no SUBACK at all
	}{
		{"mosquitto", 0, []byte{0}},
		{"mosquitto", 1, []byte{1}},
		{"mosquitto", 2, []byte{2}},
		{"tencent", 2, []byte{1}},
		{"tencent", 1, []byte{1}},
		{"aws", 1, []byte{1}},
		{"aws", 2, nil}, // AWS IoT Core quotas page: no SUBACK for QoS 2
		{"emqx", 2, []byte{2}},
	}
	for _, tt := range tests {
		h := newHarness(t, tt.profile, nil)
		h.connect(1, "s", false, 0)
		h.subscribe(1, "a/+", tt.req)
		acks := packets[*packet.Suback](h, 1)
		var got []byte
		if len(acks) == 1 {
			got = acks[0].ReturnCodes
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s q%d: SUBACK codes %v, want %v", tt.profile, tt.req, got, tt.want)
		}
	}
}

func TestMQTT_3_8_4_RefuseQoS2AndBadFilters(t *testing.T) {
	h := newHarness(t, "tencent", func(p *Policy) { p.QoS2 = QoS2Refuse })
	h.connect(1, "s", false, 0)
	h.recv(1, &packet.Subscribe{PacketID: 7, Subscriptions: []packet.Subscription{
		{Filter: "a", QoS: 2}, {Filter: "a/#/b", QoS: 1}, {Filter: "a+", QoS: 0}, {Filter: "b", QoS: 1}}})
	acks := packets[*packet.Suback](h, 1)
	if len(acks) != 1 || acks[0].PacketID != 7 {
		t.Fatalf("SUBACKs %v, want one with id 7", acks)
	}
	if want := []byte{0x80, 0x80, 0x80, 1}; !slices.Equal(acks[0].ReturnCodes, want) {
		t.Errorf("codes %v, want %v", acks[0].ReturnCodes, want)
	}
}

func TestMQTT_3_10_4_UnsubscribeStopsRouting(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.subscribe(1, "a/#", 1)
	h.recv(1, &packet.Unsubscribe{PacketID: 9, Filters: []string{"a/#", "never/subscribed"}})
	if acks := packets[*packet.Unsuback](h, 1); len(acks) != 1 || acks[0].PacketID != 9 {
		t.Fatalf("UNSUBACK = %v, want one with id 9 [MQTT-3.10.4-4]", acks)
	}
	if got := len(events(h.out, EvUnsubscribed)); got != 1 {
		t.Errorf("unsubscribed events = %d, want 1", got)
	}
	h.publish(2, "a/b", 1, 1, "x")
	if got := events(h.out, EvPublished)[0].Copies; got != 0 {
		t.Errorf("copies after unsubscribe = %d, want 0", got)
	}
}

func TestMQTT_3_8_4_3_ResubscribeReplacesGrant(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.subscribe(1, "a", 2)
	h.subscribe(1, "a", 0)
	h.publish(2, "a", 2, 1, "x")
	if got := h.sent(1); len(got) != 1 || got[0].QoS != 0 {
		t.Errorf("sent %v, want one PUBLISH at q0", got)
	}
}

func TestMQTT_3_12_4_1_Pingresp(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "a", true, 0)
	h.recv(1, &packet.Pingreq{})
	if got := packets[*packet.Pingresp](h, 1); len(got) != 1 {
		t.Errorf("PINGRESP count = %d, want 1", len(got))
	}
}

func TestMQTT_4_3_3_2_InboundQoS2DeliveredOnceUntilPubrel(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", false, 0)
	h.subscribe(1, "t", 2)
	h.publish(2, "t", 2, 5, "x")
	if got := packets[*packet.Pubrec](h, 2); len(got) != 1 || got[0].PacketID != 5 {
		t.Fatalf("PUBREC = %v, want id 5", got)
	}
	h.recv(2, &packet.Publish{Topic: "t", QoS: 2, PacketID: 5, Dup: true, Payload: []byte("x")})
	if got := len(events(h.out, EvPublished)); got != 0 {
		t.Errorf("duplicate routed %d times, want 0", got)
	}
	if got := packets[*packet.Pubrec](h, 2); len(got) != 1 {
		t.Errorf("duplicate got %d PUBRECs, want 1", len(got))
	}
	h.recv(2, &packet.Pubrel{PacketID: 5})
	if got := packets[*packet.Pubcomp](h, 2); len(got) != 1 || got[0].PacketID != 5 {
		t.Errorf("PUBCOMP = %v, want id 5", got)
	}
	h.publish(2, "t", 2, 5, "y") // the id is free again: a new message
	if got := len(events(h.out, EvPublished)); got != 1 {
		t.Errorf("new message after PUBREL routed %d times, want 1", got)
	}
}

func TestMQTT_4_3_3_OutboundQoS2Flow(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.subscribe(1, "t", 2)
	h.publish(2, "t", 2, 1, "x")
	pub := h.sent(1)
	if len(pub) != 1 || pub[0].QoS != 2 || pub[0].PacketID == 0 {
		t.Fatalf("sent %v, want one QoS 2 PUBLISH", pub)
	}
	id := pub[0].PacketID
	h.recv(1, &packet.Pubrec{PacketID: id})
	if got := packets[*packet.Pubrel](h, 1); len(got) != 1 || got[0].PacketID != id {
		t.Fatalf("PUBREL = %v, want id %d [MQTT-4.3.3-1]", got, id)
	}
	if got := len(events(h.out, EvDelivered)); got != 1 {
		t.Errorf("delivered on PUBREC = %d, want 1", got)
	}
	h.recv(1, &packet.Pubrec{PacketID: id}) // repeated: PUBREL again, no second delivery
	if got := len(events(h.out, EvDelivered)); got != 0 || len(packets[*packet.Pubrel](h, 1)) != 1 {
		t.Errorf("repeated PUBREC: %s", h.trace())
	}
	h.recv(1, &packet.Pubcomp{PacketID: id})
	if got := h.b.InflightLen("s"); got != 0 {
		t.Errorf("in flight after PUBCOMP = %d, want 0", got)
	}
}

func TestMQTT_3_3_1_Retained(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "p", true, 0)
	h.connect(2, "live", true, 0)
	h.subscribe(2, "r/#", 1)
	h.recv(1, &packet.Publish{Topic: "r/1", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("v1")})
	if got := h.sent(2); len(got) != 1 || got[0].Retain {
		t.Errorf("live forward %v, want RETAIN=0 [MQTT-3.3.1-9]", got)
	}
	h.recv(1, &packet.Publish{Topic: "r/2", QoS: 0, Retain: true, Payload: []byte("v2")})
	h.recv(1, &packet.Publish{Topic: "r/1", QoS: 1, PacketID: 2, Retain: true, Payload: []byte("v3")})
	h.connect(3, "late", true, 0)
	h.subscribe(3, "r/+", 1)
	got := h.sent(3)
	if want := []string{"v3", "v2"}; !slices.Equal(payloads(got), want) {
		t.Fatalf("retained on subscribe = %v, want %v (latest per topic, topic order) [MQTT-3.3.1-5]", payloads(got), want)
	}
	for _, p := range got {
		if !p.Retain {
			t.Errorf("%v: want RETAIN=1 on subscribe [MQTT-3.3.1-8]", p)
		}
	}
	if got[1].QoS != 0 {
		t.Errorf("retained QoS = %v, want min(message q0, granted q1)", got[1].QoS)
	}
	h.recv(1, &packet.Publish{Topic: "r/1", QoS: 0, Retain: true}) // empty payload clears [MQTT-3.3.1-10]
	h.connect(4, "later", true, 0)
	h.subscribe(4, "r/1", 1)
	if got := h.sent(4); len(got) != 0 {
		t.Errorf("after clear got %v, want nothing [MQTT-3.3.1-11]", got)
	}
}

func TestMQTT_3_1_2_8_WillOnAbnormalDisconnect(t *testing.T) {
	tests := []struct {
		name     string
		end      func(h *harness)
		wantWill bool
	}{
		{"lost", func(h *harness) { h.lost(1) }, true},
		{"malformed", func(h *harness) { h.step(Input{Kind: InMalformed, Conn: 1}) }, true},
		{"protocol error", func(h *harness) { h.recv(1, &packet.Connack{}) }, true},
		{"keepalive", func(h *harness) { h.advance(time.Minute) }, true},
		{"takeover", func(h *harness) { h.connect(9, "dev", false, 0) }, true},
		{"disconnect", func(h *harness) { h.recv(1, &packet.Disconnect{}) }, false}, // [MQTT-3.14.4-3]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "mosquitto", nil)
			h.connect(2, "watcher", false, 0)
			h.subscribe(2, "will/#", 1)
			h.open(1)
			h.recv(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev", KeepAlive: 10,
				WillFlag: true, WillTopic: "will/dev", WillQoS: 1, WillPayload: []byte("gone")})
			h.all = nil
			tt.end(h)
			wills := events(h.all, EvWillPublished)
			if got := len(wills) == 1; got != tt.wantWill || len(wills) > 1 {
				t.Fatalf("wills = %v, want published=%v exactly once", wills, tt.wantWill)
			}
			h.advance(time.Hour) // nothing more happens later
			if got := len(events(h.all, EvWillPublished)); got != len(wills) {
				t.Errorf("will published %d times in total, want %d", got, len(wills))
			}
		})
	}
}

func TestInv13_MQTT_3_1_2_24_KeepaliveOneAndAHalf(t *testing.T) {
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, name, nil)
			h.connect(1, "dev", false, 10)
			h.at(5 * time.Second)
			h.recv(1, &packet.Pingreq{}) // silence restarts at 5s
			h.at(5*time.Second + 15*time.Second - time.Nanosecond)
			if !h.b.sessions["dev"].online() {
				t.Fatal("disconnected before 1.5 x keepalive of silence")
			}
			h.at(20 * time.Second)
			ds := events(h.all, EvDisconnected)
			if len(ds) != 1 || ds[0].Reason != ReasonKeepalive || ds[0].At != 20*time.Second {
				t.Fatalf("disconnects %v, want one keepalive at 20s", ds)
			}
			if !closed(h.out, 1) {
				t.Error("keepalive timeout did not close the connection")
			}
		})
	}
}

func TestMQTT_3_1_2_10_KeepaliveZeroNeverTimesOut(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "dev", false, 0)
	h.at(1000 * time.Hour)
	if !h.b.sessions["dev"].online() {
		t.Error("keepalive 0 timed out")
	}
}

func TestMQTT_3_1_4_2_Takeover(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "dev", false, 0)
	h.subscribe(1, "t", 1)
	sp := h.connect(2, "dev", false, 0)
	if !sp.SessionPresent {
		t.Error("takeover of a persistent session: SP=0, want 1")
	}
	if !closed(h.out, 1) {
		t.Error("old connection not closed")
	}
	if got := events(h.out, EvSessionTakenOver); len(got) != 1 || got[0].Conn != 1 {
		t.Errorf("taken-over events %v, want one naming conn 1", got)
	}
	if got := h.b.Stats(); got.Online != 1 || got.Conns != 1 {
		t.Errorf("stats %v, want one online session and one connection", got)
	}
	h.lost(1) // the old connection's late loss is ignored
	if got := h.b.Stats().Online; got != 1 {
		t.Errorf("online after stale loss = %d, want 1", got)
	}
}

func TestMQTT_4_7_2_1_DollarTopicsAndWildcards(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/+", "$SYS/x", true},
		{"#", "a/b", true},
		{"a/#", "a", true},
		{"a/+", "a", false},
		{"a/+/c", "a/b/c", true},
		{"+", "a/b", false},
		{"a/b", "a/b", true},
		{"+/+", "/x", true},
		{"/#", "/x", true},
	}
	for _, tt := range tests {
		if got := matchFilter(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
		var n node
		s := &session{clientID: "s"}
		n.add(tt.filter, s, 1, true)
		got := len(n.match(splitLevels(tt.topic, nil), nil)) > 0
		if got != tt.want {
			t.Errorf("trie match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
		if !n.remove(tt.filter, s) {
			t.Errorf("trie not empty after removing %q", tt.filter)
		}
	}
}

func TestMQTT_4_7_1_FilterAndTopicValidity(t *testing.T) {
	tests := []struct {
		s            string
		filter, name bool
	}{
		{"a/b", true, true},
		{"a/#", true, false},
		{"#", true, false},
		{"a/#/b", false, false},
		{"a#", false, false},
		{"a/+/b", true, false},
		{"a+", false, false},
		{"", false, false},
		{"a\x00b", false, false},
		{"/", true, true},
	}
	for _, tt := range tests {
		if got := validFilter(tt.s); got != tt.filter {
			t.Errorf("validFilter(%q) = %v, want %v", tt.s, got, tt.filter)
		}
		if got := validTopic(tt.s); got != tt.name {
			t.Errorf("validTopic(%q) = %v, want %v", tt.s, got, tt.name)
		}
	}
}

func TestMQTT_3_3_2_2_WildcardTopicInPublishCloses(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "p", true, 0)
	outs := h.recv(1, &packet.Publish{Topic: "a/+", QoS: 0})
	if !closed(outs, 1) {
		t.Errorf("got %s, want close", h.trace())
	}
}

func TestMQTT_3_3_5_1_OverlappingSubscriptionsOneCopyAtMaxQoS(t *testing.T) {
	h := newHarness(t, "mosquitto", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.recv(1, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{
		{Filter: "a/+", QoS: 0}, {Filter: "a/#", QoS: 2}, {Filter: "a/b", QoS: 1}, {Filter: "#", QoS: 0}}})
	h.publish(2, "a/b", 2, 1, "x")
	got := h.sent(1)
	if len(got) != 1 || got[0].QoS != 2 {
		t.Errorf("sent %v, want one copy at q2", got)
	}
	if c := events(h.out, EvPublished)[0].Copies; c != 1 {
		t.Errorf("copies = %d, want 1", c)
	}
}

func TestMQTT_2_3_1_2_PacketIDsUniqueAndWindow(t *testing.T) {
	h := newHarness(t, "mosquitto", nil) // window 20
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.subscribe(1, "t", 1)
	h.b.sessions["s"].nextPID = 65530 // force a wrap-around
	for i := 0; i < 30; i++ {
		h.publish(2, "t", 1, uint16(i+1), "x")
	}
	s := h.b.sessions["s"]
	if len(s.inflight) != 20 || s.queue.Len() != 10 {
		t.Fatalf("in flight %d queued %d, want 20 and 10", len(s.inflight), s.queue.Len())
	}
	ids := map[uint16]bool{}
	for _, d := range s.inflight {
		if d.pid == 0 || ids[d.pid] {
			t.Fatalf("packet id %d zero or reused among in-flight copies", d.pid)
		}
		ids[d.pid] = true
	}
	h.recv(1, &packet.Puback{PacketID: s.inflight[0].pid})
	if got := h.sent(1); len(got) != 1 || ids[got[0].PacketID] {
		t.Errorf("after one PUBACK sent %v, want one PUBLISH with a fresh id", got)
	}
}

func TestQoS2IgnoredByAWS(t *testing.T) {
	h := newHarness(t, "aws", nil)
	h.connect(1, "s", false, 0)
	h.connect(2, "p", false, 0)
	h.subscribe(1, "t", 1)
	outs := h.recv(2, &packet.Publish{Topic: "t", QoS: 2, PacketID: 3, Payload: []byte("x")})
	for _, o := range outs {
		if o.Kind == OutSend {
			t.Errorf("sent %v, want nothing (AWS ignores QoS 2)", o)
		}
	}
	if got := events(outs, EvDropped); len(got) != 1 || got[0].Reason != ReasonQoSUnsupported {
		t.Errorf("dropped %v, want one qos-unsupported", got)
	}
}

func TestQoS2DowngradedByTencent(t *testing.T) {
	h := newHarness(t, "tencent", nil)
	h.connect(1, "p", false, 0)
	h.publish(1, "t", 2, 3, "x")
	if got := packets[*packet.Puback](h, 1); len(got) != 1 {
		t.Errorf("PUBACKs %v, want one (QoS 2 handled as QoS 1)", got)
	}
}

func TestQoS2RefusedCloses(t *testing.T) {
	h := newHarness(t, "tencent", func(p *Policy) { p.QoS2 = QoS2Refuse })
	h.connect(1, "p", false, 0)
	outs := h.recv(1, &packet.Publish{Topic: "t", QoS: 2, PacketID: 3})
	if !closed(outs, 1) {
		t.Errorf("got %s, want close", h.trace())
	}
}

func TestTrieAddMatchRemove(t *testing.T) {
	var root node
	s1, s2 := &session{clientID: "1", seq: 1}, &session{clientID: "2", seq: 2}
	filters := []string{"a/b", "a/c", "a/+", "a/#", "x"}
	for _, f := range filters {
		root.add(f, s1, 1, true)
	}
	root.add("a/b", s2, 2, true)
	root.add("a/b", s2, 0, false) // re-subscribing replaces the grant
	tests := []struct {
		topic string
		want  int // matching (session, filter) pairs
	}{
		{"a/b", 4}, {"a/c", 3}, {"a/d", 2}, {"a", 1}, {"x", 1}, {"y", 0},
	}
	for _, tt := range tests {
		if got := len(root.match(splitLevels(tt.topic, nil), nil)); got != tt.want {
			t.Errorf("match(%q) = %d subscribers, want %d", tt.topic, got, tt.want)
		}
	}
	for _, sub := range root.match(splitLevels("a/b", nil), nil) {
		if sub.s == s2 && sub.qos != 0 {
			t.Errorf("s2 grant %v, want the replaced q0", sub.qos)
		}
	}
	root.remove("a/b", s2)
	for _, f := range filters {
		if root.empty() {
			t.Fatalf("trie empty before removing %q", f)
		}
		root.remove(f, s1)
	}
	if !root.empty() {
		t.Errorf("trie not empty after removing every filter: %+v", root)
	}
	root.remove("never/added", s1) // a no-op
}

// TestPacketIDBaseWraps checks the Config.PacketIDBase seam: a new session
// counts from the base and wraps from 65535 to 1, never 0 [MQTT-2.3.1-1].
func TestPacketIDBaseWraps(t *testing.T) {
	p, err := Profile("mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessConfig(t, Config{Policy: p, PacketIDBase: 65533})
	h.connect(1, "s", false, 0)
	h.connect(2, "p", true, 0)
	h.subscribe(1, "t", 1)
	var ids []uint16
	for i := range 4 {
		h.publish(2, "t", 1, uint16(i+1), "x")
		for _, pub := range h.sent(1) {
			ids = append(ids, pub.PacketID)
		}
	}
	if want := []uint16{65534, 65535, 1, 2}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}
