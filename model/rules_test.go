package model

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

func profile(t *testing.T, name string) broker.Policy {
	t.Helper()
	p, err := broker.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPacing: Tencent spaces stored messages 500 ms apart, AWS lets at most
// 10 go in any one second; ReplayDrain adds the gaps up.
func TestPacing(t *testing.T) {
	tencent, aws := profile(t, "tencent"), profile(t, "aws")
	ms := time.Millisecond
	for _, tt := range []struct {
		name string
		pol  broker.Policy
		sent []broker.Time
		want broker.Time
	}{
		{"tencent first", tencent, nil, 0},
		{"tencent after one", tencent, []broker.Time{3 * time.Second}, 3*time.Second + 500*ms},
		{"aws spaces by 1/rate", aws, []broker.Time{0, 1, 2}, 2 + 100*ms},
		{"aws after ten", aws, []broker.Time{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 9 + 100*ms},
	} {
		if got := PaceAt(tt.pol, tt.sent); got != tt.want {
			t.Errorf("%s: PaceAt = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got, want := ReplayDrain(tencent, 150), 149*500*ms; got != want {
		t.Errorf("tencent ReplayDrain(150) = %v, want %v", got, want)
	}
	if got, want := ReplayDrain(aws, 31), 3*time.Second; got != want {
		t.Errorf("aws ReplayDrain(31) = %v, want %v", got, want)
	}
	if got := ReplayDrain(profile(t, "hivemq"), 1000); got != 0 {
		t.Errorf("hivemq does not pace, ReplayDrain = %v", got)
	}
}

// TestVictim: the copy each overflow rule drops.
func TestVictim(t *testing.T) {
	q := []packet.QoS{1, 0, 1}
	at := func(i int) packet.QoS { return q[i] }
	for _, tt := range []struct {
		o        broker.Overflow
		arriving packet.QoS
		want     int
	}{
		{broker.DropNewest, 1, 3},
		{broker.DropOldest, 1, 0},
		{broker.DropOldestQoS0First, 1, 1},
		{broker.DropOldestQoS0First, 0, 1},
	} {
		if got := Victim(broker.Policy{Overflow: tt.o}, len(q), at, tt.arriving); got != tt.want {
			t.Errorf("%v arriving q%d: Victim = %d, want %d", tt.o, tt.arriving, got, tt.want)
		}
	}
	all1 := func(int) packet.QoS { return 1 }
	if got := Victim(broker.Policy{Overflow: broker.DropOldestQoS0First}, 3, all1, 0); got != 3 {
		t.Errorf("QoS 0 arriving at a queue of QoS 1: Victim = %d, want the arriving copy (3)", got)
	}
}

// TestExpiryAndSessionPresent: AWS sessions expire between E and E + 30
// min after the disconnect; inside that window SessionPresent may be either.
func TestExpiryAndSessionPresent(t *testing.T) {
	aws := profile(t, "aws")
	off := 10 * time.Minute
	early, late, ok := ExpiryWindow(aws, off)
	if !ok || early != off+time.Hour || late != off+90*time.Minute {
		t.Fatalf("ExpiryWindow = %v, %v, %v", early, late, ok)
	}
	if at := ExpiryTime(aws, off); at < early || at > late {
		t.Errorf("the model's ExpiryTime %v is outside its own window [%v, %v]", at, early, late)
	}
	view := SessionView{Exists: true, OfflineAt: off}
	for _, tt := range []struct {
		now        broker.Time
		want, sure bool
	}{
		{early - 1, true, true}, {early, false, false}, {late, false, false}, {late + 1, false, true},
	} {
		if want, sure := SessionPresent(aws, view, false, tt.now); want != tt.want || sure != tt.sure {
			t.Errorf("at %v: SessionPresent = %v (sure %v), want %v (sure %v)", tt.now, want, sure, tt.want, tt.sure)
		}
	}
	if want, sure := SessionPresent(aws, view, true, early-1); want || !sure {
		t.Error("CleanSession=1 must get SessionPresent=0 [MQTT-3.2.2-1]")
	}
	if _, _, ok := ExpiryWindow(profile(t, "hivemq"), off); ok {
		t.Error("hivemq keeps sessions for ever, but ExpiryWindow says it expires them")
	}
}

// TestDropProblem: each reason is allowed exactly where the policy allows it.
func TestDropProblem(t *testing.T) {
	tencent, hivemq := profile(t, "tencent"), profile(t, "hivemq")
	day := 24 * time.Hour
	queued := CopyView{QoS: 1, Queued: true, QueuedAt: 0}
	offline := DropView{OfflineAt: 0}
	for _, tt := range []struct {
		name   string
		pol    broker.Policy
		reason broker.Reason
		c      CopyView
		s      DropView
		now    broker.Time
		ok     bool
	}{
		{"ttl reached", tencent, broker.ReasonTTL, queued, offline, day, true},
		{"ttl not reached", tencent, broker.ReasonTTL, queued, offline, day - 1, false},
		{"no ttl in the policy", hivemq, broker.ReasonTTL, queued, offline, 10 * day, false},
		{"expired in time", tencent, broker.ReasonSessionExpired, queued, offline, day, true},
		{"expired early", tencent, broker.ReasonSessionExpired, queued, offline, day - 1, false},
		{"expired while online", tencent, broker.ReasonSessionExpired, queued, DropView{Online: true}, day, false},
		{"persistent discarded", tencent, broker.ReasonSessionDiscarded, queued, offline, 0, false},
		{"discarded by a clean connect", tencent, broker.ReasonSessionDiscarded, queued, DropView{CleanConnect: true}, 0, true},
		{"QoS 1 not stored", tencent, broker.ReasonQoS0Offline, queued, offline, 0, false},
		{"QoS 0 not stored", tencent, broker.ReasonQoS0Offline, CopyView{QoS: 0}, offline, 0, true},
		{"not a drop reason", tencent, broker.ReasonKeepalive, queued, offline, 0, false},
	} {
		if why := DropProblem(tt.pol, tt.reason, tt.c, tt.s, tt.now); (why == "") != tt.ok {
			t.Errorf("%s: DropProblem = %q, want allowed %v", tt.name, why, tt.ok)
		}
	}
}

// TestPacketIDs: ids wrap from 65535 to 1, skip ids in use, and 0 or an id
// in use is a problem [MQTT-2.3.1-1], [MQTT-2.3.1-2].
func TestPacketIDs(t *testing.T) {
	inUse := func(id uint16) bool { return id == 1 }
	if got := NextPacketID(65535, inUse); got != 2 {
		t.Errorf("NextPacketID(65535) with 1 in use = %d, want 2", got)
	}
	if why, spec := PacketIDProblem(1, 0, inUse); why == "" || spec != "[MQTT-2.3.1-1]" {
		t.Errorf("id 0: %q %s", why, spec)
	}
	if why, spec := PacketIDProblem(1, 1, inUse); why == "" || spec != "[MQTT-2.3.1-2]" {
		t.Errorf("id in use: %q %s", why, spec)
	}
	if why, _ := PacketIDProblem(0, 0, inUse); why != "" {
		t.Errorf("QoS 0 needs no id, got %q", why)
	}
}
