package broker

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// The tests in this file check the invariants (the README's table), one test per
// invariant, under every profile that promises it. The harness also checks
// conservation (15), the queue bound (8) and packet ids (14) after every Step.

// forProfiles runs f under every profile promising inv.
func forProfiles(t *testing.T, inv Invariant, f func(t *testing.T, p Policy)) {
	for _, name := range ProfileNames() {
		p, _ := Profile(name)
		if !p.Promises.Has(inv) {
			continue
		}
		t.Run(name, func(t *testing.T) { f(t, p) })
	}
}

// offlineSubscriber connects persistent "s" on conn 1 subscribed to "t" at
// the profile's max QoS, a clean publisher "p" on conn 2, and takes "s"
// offline.
func offlineSubscriber(t *testing.T, p Policy) *harness {
	h := newHarness(t, p.Name, nil)
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", p.MaxQoS)
	h.connect(2, "p", true, 0)
	h.lost(1)
	return h
}

func TestInv01_MQTT_3_2_2_SessionPresent(t *testing.T) {
	forProfiles(t, InvSessionPresent, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		step := func(c ConnID, clean bool, want bool) {
			t.Helper()
			if got := h.connect(c, "dev", clean, 0).SessionPresent; got != want {
				t.Fatalf("conn %d clean=%v at %v: SP=%v, want %v", c, clean, h.now, got, want)
			}
			h.lost(c)
		}
		step(1, false, false) // new session
		step(2, false, true)  // resumed
		h.advance(p.SessionExpiry + p.ExpirySweep + time.Hour)
		step(3, false, p.SessionExpiry == 0) // expired unless it never expires
		step(4, true, false)                 // clean: SP=0 always [MQTT-3.2.2-1]
		step(5, false, false)                // the clean session was discarded
	})
}

func TestInv02_MQTT_3_1_2_6_CleanSessionDiscards(t *testing.T) {
	forProfiles(t, InvCleanSession, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		h.publish(2, "t", 1, 1, "queued")
		h.all = nil
		if sp := h.connect(3, "s", true, 0).SessionPresent; sp {
			t.Fatal("clean reconnect: SP=1")
		}
		drops := events(h.all, EvDropped)
		if len(drops) != 1 || drops[0].Reason != ReasonSessionDiscarded {
			t.Errorf("drops %v, want the queued copy with session-discarded", drops)
		}
		if len(h.sent(3)) != 0 {
			t.Error("old queued message sent to the clean session")
		}
		h.publish(2, "t", 1, 2, "new")
		if c := events(h.out, EvPublished)[0].Copies; c != 0 {
			t.Errorf("old subscription still routes: %d copies", c)
		}
	})
}

func TestInv03_MQTT_4_5_0_1_OfflineStorage(t *testing.T) {
	forProfiles(t, InvOfflineStorage, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		var want []string
		for i := 1; i <= 5; i++ {
			want = append(want, fmt.Sprint("m", i))
			h.publish(2, "t", 1, uint16(i), want[i-1])
		}
		h.all = nil
		h.connect(3, "s", false, 0)
		h.drive(3, h.now+time.Minute)
		var got []string
		for _, o := range h.all {
			if pub, ok := o.Packet.(*packet.Publish); ok && o.Conn == 3 {
				got = append(got, string(pub.Payload))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("delivered %v, want %v", got, want)
		}
		if n := len(events(h.all, EvDelivered)); n != 5 {
			t.Errorf("delivered events = %d, want 5", n)
		}
	})
}

func TestInv04_QoS0NotStoredOffline(t *testing.T) {
	forProfiles(t, InvQoS0NotStored, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		h.publish(2, "t", 0, 0, "q0")
		if got, want := h.b.QueueLen("s"), map[bool]int{true: 1, false: 0}[p.StoreQoS0Offline]; got != want {
			t.Fatalf("queued %d, want %d (StoreQoS0Offline=%v)", got, want, p.StoreQoS0Offline)
		}
		if !p.StoreQoS0Offline {
			if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonQoS0Offline {
				t.Errorf("dropped %v, want one qos0-offline", d)
			}
		}
	})
}

func TestInv05_MQTT_4_4_0_1_RedeliveryDupSameIDsInOrder(t *testing.T) {
	forProfiles(t, InvRedelivery, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", 1)
		h.connect(2, "p", true, 0)
		var ids []uint16
		for i := 1; i <= 3; i++ {
			h.publish(2, "t", 1, uint16(i), fmt.Sprint("m", i))
			ids = append(ids, h.sent(1)[0].PacketID)
		}
		h.lost(1)
		h.all = nil
		h.connect(3, "s", false, 0)
		h.drive(3, h.now+time.Minute)
		var got []uint16
		for _, o := range h.all {
			if pub, ok := o.Packet.(*packet.Publish); ok && o.Conn == 3 {
				if !pub.Dup {
					t.Errorf("resend %v without DUP", pub)
				}
				got = append(got, pub.PacketID)
			}
		}
		if !slices.Equal(got, ids) {
			t.Errorf("resent ids %v, want %v", got, ids)
		}
	})
}

func TestInv05_MQTT_4_4_0_1_QoS2ResumesWithPubrel(t *testing.T) {
	forProfiles(t, InvRedelivery, func(t *testing.T, p Policy) {
		if p.MaxQoS < 2 {
			t.Skip("profile has no QoS 2")
		}
		h := newHarness(t, p.Name, nil)
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", 2)
		h.connect(2, "p", true, 0)
		h.publish(2, "t", 2, 1, "a")
		id := h.sent(1)[0].PacketID
		h.recv(1, &packet.Pubrec{PacketID: id})
		h.lost(1)
		h.connect(3, "s", false, 0)
		if rel := packets[*packet.Pubrel](h, 3); len(rel) != 1 || rel[0].PacketID != id {
			t.Fatalf("on resume: PUBRELs %v, want one with id %d", rel, id)
		}
		if pubs := h.sent(3); len(pubs) != 0 {
			t.Errorf("resent %v after PUBREC, want only PUBREL (exactly once)", pubs)
		}
		h.recv(3, &packet.Pubcomp{PacketID: id})
		if n := h.b.InflightLen("s"); n != 0 {
			t.Errorf("in flight after PUBCOMP: %d", n)
		}
	})
}

func TestInv06_QoSGuaranteeAcrossDisconnects(t *testing.T) {
	forProfiles(t, InvQoSGuarantee, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", p.MaxQoS)
		h.connect(2, "p", true, 0)
		h.publish(2, "t", p.MaxQoS, 1, "x")
		prev := ConnID(1)
		for c := ConnID(3); c < 6; c++ { // lose the connection three times before acking
			h.lost(prev)
			h.connect(c, "s", false, 0)
			prev = c
		}
		h.drive(5, h.now+time.Minute)
		if n := len(events(h.all, EvDelivered)); n != 1 {
			t.Errorf("delivered %d times, want exactly once", n)
		}
	})
}

func TestInv07_MQTT_4_6_0_6_OrderAcrossReplay(t *testing.T) {
	forProfiles(t, InvOrder, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		for i := 1; i <= 5; i++ {
			h.publish(2, "t", 1, uint16(i), fmt.Sprint("stored", i))
		}
		h.all = nil
		h.connect(3, "s", false, 0)
		for i := 6; i <= 8; i++ { // live messages arrive while the replay runs
			h.ackAll(3)
			h.publish(2, "t", 1, uint16(i), fmt.Sprint("live", i))
		}
		h.drive(3, h.now+time.Minute)
		var first []MsgID
		seen := map[MsgID]bool{}
		for _, e := range sentEvents(h.all, "s") {
			if !seen[e.Msg] {
				seen[e.Msg] = true
				first = append(first, e.Msg)
			}
		}
		if len(first) != 8 || !slices.IsSorted(first) {
			t.Errorf("first deliveries %v, want 8 in publish order", first)
		}
	})
}

func TestInv07_AWSInterleavesLiveWithReplay(t *testing.T) {
	p, _ := Profile("aws")
	h := offlineSubscriber(t, p)
	for i := 1; i <= 15; i++ {
		h.publish(2, "t", 1, uint16(i), "stored")
	}
	h.connect(3, "s", false, 0)
	h.ackAll(3)
	h.publish(2, "t", 1, 99, "live")
	if got := h.sent(3); len(got) != 1 || string(got[0].Payload) != "live" {
		t.Errorf("live message during replay: sent %v, want it at once (004: replay does not hold live traffic)", got)
	}
}

func TestInv08_QueueBoundAndVictim(t *testing.T) {
	forProfiles(t, InvQueueBound, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		qos0 := p.StoreQoS0Offline
		if qos0 {
			h.publish(2, "t", 0, 0, "q0") // EMQX evicts QoS 0 first
		}
		for i := 1; i <= p.QueueCap+3; i++ {
			h.publish(2, "t", 1, uint16(i), fmt.Sprint(i))
		}
		if got := h.b.QueueLen("s"); got != p.QueueCap {
			t.Fatalf("queued %d, want cap %d", got, p.QueueCap)
		}
		var victims []string
		for _, e := range events(h.all, EvDropped) {
			if e.Reason == ReasonQueueFull {
				victims = append(victims, fmt.Sprint(e.Msg))
			}
		}
		s := h.b.sessions["s"]
		head, tail := s.queue.at(0).msg, s.queue.at(s.queue.Len()-1).msg
		switch p.Overflow {
		case DropNewest:
			if tail.id >= h.b.nextMsg {
				t.Errorf("newest message queued under DropNewest")
			}
		case DropOldest, DropOldestQoS0First:
			if tail.id != h.b.nextMsg || head.qos != 1 {
				t.Errorf("queue %d..%d (head q%d), want the newest kept and QoS 0 evicted first", head.id, tail.id, head.qos)
			}
		}
		if len(victims) == 0 {
			t.Error("no queue-full drops recorded")
		}
	})
}

func TestInv09_TTLDropsStoredMessages(t *testing.T) {
	forProfiles(t, InvTTL, func(t *testing.T, p Policy) {
		if p.MessageTTL == 0 {
			p.MessageTTL = time.Hour // the invariant is checked with a TTL set
		}
		p.SessionExpiry = 0
		h := newHarnessConfig(t, Config{Policy: p})
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", 1)
		h.connect(2, "p", true, 0)
		h.lost(1)
		h.publish(2, "t", 1, 1, "old")
		h.advance(p.MessageTTL / 2)
		h.publish(2, "t", 1, 2, "young")
		h.advance(p.MessageTTL/2 + time.Nanosecond)
		if got := h.b.QueueLen("s"); got != 1 {
			t.Fatalf("queued %d after TTL of the first, want 1", got)
		}
		if d := events(h.all, EvDropped); len(d) != 1 || d[0].Reason != ReasonTTL || d[0].At != p.MessageTTL {
			t.Errorf("drops %v, want one ttl at %v", d, p.MessageTTL)
		}
		h.connect(3, "s", false, 0)
		if got := payloads(h.sent(3)); !slices.Equal(got, []string{"young"}) {
			t.Errorf("sent %v, want only the young message", got)
		}
	})
}

func TestInv09_TencentTTLWhileOnlineWindowFull(t *testing.T) {
	h := newHarness(t, "tencent", func(p *Policy) { p.InflightWindow = 1 })
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", 1)
	h.connect(2, "p", true, 0)
	h.publish(2, "t", 1, 1, "in flight, never acked")
	h.publish(2, "t", 1, 2, "queued")
	h.at(24 * time.Hour)
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonTTL {
		t.Errorf("at 24h: drops %v, want the queued copy with ttl (001: stored for a maximum of 24 hours)", d)
	}
}

func TestInv10_ExpiryTimedFromDetectedDisconnect(t *testing.T) {
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			p, _ := Profile(name)
			h := newHarness(t, name, nil)
			h.connect(1, "dev", false, 10)
			h.at(1000 * time.Hour)
			if p.SessionExpiry == 0 {
				if !h.b.HasSession("dev") {
					t.Fatal("a never-expiring session expired")
				}
				return
			}
			if h.b.HasSession("dev") {
				t.Fatal("session survived")
			}
			detected := 15 * time.Second // keepalive timeout counts as the disconnect (001, 004)
			ex := events(h.all, EvSessionExpired)
			if len(ex) != 1 {
				t.Fatalf("expired events %v, want 1", ex)
			}
			lo, hi := detected+p.SessionExpiry, detected+p.SessionExpiry+p.ExpirySweep
			if at := ex[0].At; at < lo || at > hi {
				t.Errorf("expired at %v, want within [%v, %v]", at, lo, hi)
			}
		})
	}
}

func TestInv10_MQTT_4_1_0_1_NeverExpiresWhileConnected(t *testing.T) {
	forProfiles(t, InvExpiry, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		h.connect(1, "dev", false, 0)
		h.at(10 * (p.SessionExpiry + time.Hour))
		if !h.b.HasSession("dev") || len(events(h.all, EvSessionExpired)) != 0 {
			t.Error("connected session expired")
		}
		h.lost(1)
		h.at(h.now + p.SessionExpiry - time.Nanosecond)
		if !h.b.HasSession("dev") {
			t.Error("expired before disconnect+E")
		}
	})
}

func TestInv10_ResumeJustBeforeExpiry(t *testing.T) {
	h := newHarness(t, "tencent", nil)
	h.connect(1, "dev", false, 0)
	h.lost(1)
	h.at(24*time.Hour - time.Nanosecond)
	if sp := h.connect(2, "dev", false, 0).SessionPresent; !sp {
		t.Error("SP=0 just before expiry")
	}
	h.lost(2)
	h.b.Step(h.now+24*time.Hour, Input{Kind: InOpen, Conn: 3}) // a late driver: no deadline input
	h.now += 24 * time.Hour
	h.recv(3, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev"})
	if h.connack(3).SessionPresent {
		t.Error("SP=1 for a session past its expiry whose deadline was not delivered")
	}
}

func TestInv11_PacingOfStoredMessages(t *testing.T) {
	forProfiles(t, InvPacing, func(t *testing.T, p Policy) {
		h := offlineSubscriber(t, p)
		for i := 1; i <= 25; i++ {
			h.publish(2, "t", 1, uint16(i), "x")
		}
		h.all = nil
		h.connect(3, "s", false, 0)
		h.drive(3, h.now+time.Minute)
		var times []Time
		for _, e := range sentEvents(h.all, "s") {
			if e.Stored {
				times = append(times, e.At)
			}
		}
		if len(times) != 25 {
			t.Fatalf("stored sends %d, want 25", len(times))
		}
		for i := 1; i < len(times); i++ {
			if p.ReplayInterval > 0 && times[i]-times[i-1] < p.ReplayInterval {
				t.Fatalf("sends %d and %d %v apart, want >= %v", i-1, i, times[i]-times[i-1], p.ReplayInterval)
			}
		}
		if r := p.ReplayRate; r > 0 {
			for i := r; i < len(times); i++ {
				if times[i]-times[i-r] < time.Second {
					t.Fatalf("%d stored sends within %v, want at most %d per second", r+1, times[i]-times[i-r], r)
				}
			}
		}
		if p.ReplayInterval == 0 && p.ReplayRate == 0 && times[24] != times[0] {
			t.Errorf("unpaced replay took %v", times[24]-times[0])
		}
	})
}

func TestInv12_MQTT_3_1_4_2_OneLiveConnectionPerClientID(t *testing.T) {
	forProfiles(t, InvTakeover, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		for c := ConnID(1); c <= 4; c++ {
			h.connect(c, "dev", c%2 == 0, 0)
			if c > 1 && !closed(h.out, c-1) {
				t.Errorf("conn %d not closed by takeover", c-1)
			}
			if st := h.b.Stats(); st.Online != 1 || st.Conns != 1 {
				t.Errorf("after conn %d: %v, want one online session and connection", c, st)
			}
		}
	})
}

func TestInv18_WillExactlyOnce(t *testing.T) {
	forProfiles(t, InvWill, func(t *testing.T, p Policy) {
		for _, graceful := range []bool{false, true} {
			h := newHarness(t, p.Name, nil)
			h.connect(2, "w", false, 0)
			h.subscribe(2, "will", 1)
			h.open(1)
			h.recv(1, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "dev", CleanSession: true,
				WillFlag: true, WillTopic: "will", WillQoS: 1, WillPayload: []byte("bye")})
			if graceful {
				h.recv(1, &packet.Disconnect{})
			} else {
				h.lost(1)
			}
			h.lost(1)
			h.advance(time.Hour)
			want := map[bool]int{false: 1, true: 0}[graceful]
			if got := len(events(h.all, EvWillPublished)); got != want {
				t.Errorf("graceful=%v: wills %d, want %d", graceful, got, want)
			}
		}
	})
}

func TestInv07_LiveQoS0WaitsBehindWindowBlockedBacklog(t *testing.T) {
	forProfiles(t, InvOrder, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, func(p *Policy) { p.InflightWindow, p.StoreQoS0Offline = 1, true })
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", 1)
		h.connect(2, "p", true, 0)
		h.publish(2, "t", 1, 1, "unacked") // fills the window of 1
		h.lost(1)
		h.publish(2, "t", 1, 2, "stored-q1")
		h.publish(2, "t", 0, 0, "stored-q0")
		h.all = nil
		h.connect(3, "s", false, 0) // re-sends "unacked": the backlog waits for the window
		h.publish(2, "t", 0, 0, "live-q0")
		h.recv(3, &packet.Puback{PacketID: 1}) // the window opens
		h.drive(3, h.now+time.Minute)
		var got []string
		for _, o := range h.all {
			if pub, ok := o.Packet.(*packet.Publish); ok && o.Conn == 3 && !pub.Dup {
				got = append(got, string(pub.Payload))
			}
		}
		if want := []string{"stored-q1", "stored-q0", "live-q0"}; !slices.Equal(got, want) {
			t.Errorf("first sends %v, want %v [MQTT-4.6.0-6]", got, want)
		}
	})
}

func TestInv14_MQTT_2_3_1_2_PacketIDsDistinctInFlight(t *testing.T) {
	forProfiles(t, InvPacketIDs, func(t *testing.T, p Policy) {
		h := newHarness(t, p.Name, nil)
		h.connect(1, "s", false, 0)
		h.subscribe(1, "t", 1)
		h.connect(2, "p", true, 0)
		h.b.sessions["s"].nextPID = 65535 - uint16(p.InflightWindow)/2 // wrap around mid-window
		for i := 0; i < 2*p.InflightWindow; i++ {
			h.publish(2, "t", 1, uint16(i+1), "x")
		}
		s := h.b.sessions["s"]
		if len(s.inflight) != p.InflightWindow {
			t.Fatalf("in flight %d, want the window %d", len(s.inflight), p.InflightWindow)
		}
		for round := 0; round < 3; round++ { // ack every other copy, refill, repeat
			for i := 0; i < len(s.inflight); i += 2 {
				h.recv(1, &packet.Puback{PacketID: s.inflight[i].pid})
			}
		}
		ids := map[uint16]bool{}
		for _, d := range s.inflight {
			if d.pid == 0 || ids[d.pid] {
				t.Fatalf("packet id %d zero or in use twice", d.pid)
			}
			ids[d.pid] = true
		}
	})
}

// TestInv16_LivenessAfterHeal runs random faulty traffic, then heals: every
// client reconnects to its session and acknowledges at once. Within the
// pacing bound (150 stored copies at 500 ms for tencent) nothing may stay
// queued or in flight.
func TestInv16_LivenessAfterHeal(t *testing.T) {
	forProfiles(t, InvLiveness, func(t *testing.T, p Policy) {
		for seed := uint64(1); seed <= 5; seed++ {
			h := newHarness(t, p.Name, func(p *Policy) { p.QueueCap = min(p.QueueCap, 5) })
			randomOps(h, seed, 300)
			conn := ConnID(1000)
			for _, s := range h.b.sessionsInOrder() {
				conn++
				h.connect(conn, s.clientID, false, 0)
			}
			h.ackEverything()
			for deadline := h.now + 2*time.Minute; h.now < deadline; {
				at, ok := h.b.NextDeadline()
				if !ok || at > deadline {
					break
				}
				h.now = max(h.now, at)
				h.step(Input{Kind: InDeadline})
				h.ackEverything()
			}
			if st := h.b.Stats(); st.Queued != 0 || st.Inflight != 0 {
				t.Errorf("seed %d: after healing %v, want nothing pending", seed, st)
			}
		}
	})
}

func TestInv09_LateDeadlineInputStillDropsTTL(t *testing.T) {
	h := newHarness(t, "mosquitto", func(p *Policy) { p.MessageTTL = time.Hour })
	h.connect(1, "s", false, 0)
	h.subscribe(1, "t", 1)
	h.connect(2, "p", true, 0)
	h.lost(1)
	h.publish(2, "t", 1, 1, "old")
	h.now = 2 * time.Hour // the driver never delivered the TTL deadline
	h.connect(3, "s", false, 0)
	if got := h.sent(3); len(got) != 0 {
		t.Errorf("sent %v past its TTL", got)
	}
	if d := events(h.out, EvDropped); len(d) != 1 || d[0].Reason != ReasonTTL {
		t.Errorf("drops %v, want one ttl", d)
	}
}
