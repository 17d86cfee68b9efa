package broker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// durableState encodes what a crash of b at now must leave: its persistent
// sessions as offline sessions (one online goes offline now), with their
// subscriptions, queued copies (with the time each was queued), copies in
// flight (packet id, whether PUBREC arrived, first send), inbound QoS 2 ids
// and next packet id, and the retained messages. Connections, clean
// sessions, Wills and the bookkeeping of a resume are not in it.
func durableState(b *Broker, now Time) []byte {
	var dst []byte
	for _, s := range b.sessionsInOrder() {
		if s.clean {
			continue
		}
		dst = appendString(dst, s.clientID)
		dst = binary.AppendUvarint(dst, s.seq)
		dst = appendString(dst, s.user)
		off := s.offlineAt
		if s.online() {
			off = now
		}
		dst = binary.AppendUvarint(dst, uint64(off))
		dst = binary.AppendUvarint(dst, uint64(s.nextPID))
		for _, sub := range s.subs {
			dst = appendString(dst, sub.filter)
			dst = append(dst, byte(sub.qos))
		}
		dst = append(dst, '|')
		for i := 0; i < s.queue.Len(); i++ {
			d := s.queue.at(i)
			dst = appendMessage(dst, d.msg)
			dst = binary.AppendUvarint(dst, uint64(d.at))
			dst = append(dst, byte(d.qos))
		}
		dst = append(dst, '|')
		for _, d := range s.inflight {
			dst = appendMessage(dst, d.msg)
			dst = binary.AppendUvarint(dst, uint64(d.firstSent))
			dst = binary.AppendUvarint(dst, uint64(d.pid))
			dst = append(dst, byte(d.qos), byte(d.state))
		}
		dst = append(dst, '|')
		for _, id := range s.inbound2 {
			dst = binary.AppendUvarint(dst, uint64(id))
		}
		dst = append(dst, '\n')
	}
	topics := make([]string, 0, len(b.retained))
	for t := range b.retained {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		dst = appendMessage(dst, b.retained[t])
	}
	return dst
}

// checkRecover asserts that the broker Recover rebuilds from the image
// holds exactly the durable state of the live broker crashed now, and that
// it keeps its internal invariants.
func (h *harness) checkRecover() {
	h.t.Helper()
	cfg := h.b.cfg
	r, _, err := Recover(cfg, h.image, h.now)
	if err != nil {
		h.t.Fatalf("recover: %v", err)
	}
	want, got := durableState(h.b, h.now), durableState(r, h.now)
	if !bytes.Equal(want, got) {
		h.t.Fatalf("recovered state differs from the crashed broker's durable state:\nwant %q\ngot  %q", want, got)
	}
	if r.nextMsg < h.b.nextMsg {
		h.t.Fatalf("recovered broker assigns message ids from %d, at or below ids already used (%d)", r.nextMsg, h.b.nextMsg)
	}
	for _, s := range r.sessions {
		if s.online() || s.clean {
			h.t.Fatalf("%s: recovered online=%v clean=%v", s.clientID, s.online(), s.clean)
		}
		if due, ok := r.sessionDue(s); ok {
			if next, ok2 := r.NextDeadline(); !ok2 || next > due {
				h.t.Fatalf("%s: recovered deadline %v not armed", s.clientID, due)
			}
		}
	}
}

// TestRecoverRebuildsTheDurableStateAfterEveryStep drives random inputs
// under every profile with Config.Durable and, after every step, rebuilds a
// broker from the changes so far: it must hold what the live broker would
// leave if it crashed at that instant.
func TestRecoverRebuildsTheDurableStateAfterEveryStep(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for _, name := range ProfileNames() {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			p, _ := Profile(name)
			p.QueueCap = min(p.QueueCap, 5)
			h := newHarnessConfig(t, Config{Policy: p, Durable: true, PacketIDBase: 65530})
			h.image = NewImage()
			randomOps(h, seed, 300)
		}
	}
}

// TestChangesAreOffWithoutDurable: a broker without Config.Durable lists no
// changes.
func TestChangesAreOffWithoutDurable(t *testing.T) {
	h := newHarness(t, "hivemq", nil)
	randomOps(h, 1, 200)
	if rec := h.b.Step(h.now, Input{Kind: InDeadline}); len(rec.Changes) != 0 {
		t.Fatalf("changes without Durable: %v", rec.Changes)
	}
}

// crashAndRecover replaces the harness's broker by one recovered from its
// image at now, as after a crash: the connections are gone.
func (h *harness) crashAndRecover() {
	h.t.Helper()
	r, rec, err := Recover(h.b.cfg, h.image, h.now)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := range rec.Changes {
		if err := h.image.Apply(&rec.Changes[i]); err != nil {
			h.t.Fatal(err)
		}
	}
	h.b = r
}

// TestRecoveredSessionResumesWithItsQueueAndInflight: a persistent
// subscriber with three unacknowledged copies in flight and ten queued gets
// SessionPresent=1 after a crash and restart, the three again with DUP and
// their packet ids, then the ten, in order [MQTT-4.4.0-1].
func TestRecoveredSessionResumesWithItsQueueAndInflight(t *testing.T) {
	h := subscribedDurable(t, 3)
	var first []*packet.Publish
	for i := range 13 {
		h.publish(2, "t", 1, uint16(i+1), fmt.Sprint(i))
		first = append(first, h.sent(1)...)
	}
	if len(first) != 3 {
		t.Fatalf("sent %d before the crash, want the window of 3", len(first))
	}
	h.advance(time.Minute)
	h.crashAndRecover()
	h.advance(time.Second)
	h.open(3)
	if ack := h.connect(3, "sub", false, 0); !ack.SessionPresent {
		t.Fatal("SessionPresent=0 after recovery [MQTT-3.2.2-2]")
	}
	var got []string
	ps := h.sent(3)
	for len(ps) > 0 && len(got) < 13 {
		p := ps[0]
		ps = ps[1:]
		if len(got) < 3 && (!p.Dup || p.PacketID != first[len(got)].PacketID) {
			t.Fatalf("re-sent copy %d: dup=%v id=%d, want DUP and id %d", len(got), p.Dup, p.PacketID, first[len(got)].PacketID)
		}
		got = append(got, string(p.Payload))
		h.recv(3, &packet.Puback{PacketID: p.PacketID})
		ps = append(ps, h.sent(3)...)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5 6 7 8 9 10 11 12]" {
		t.Fatalf("delivered %v after recovery, want 0..12 in order", got)
	}
}

// TestDowntimeCountsTowardExpiry: a session that went offline an hour
// before a crash, under a 2-hour expiry, is expired when the broker boots
// three hours later, never resumed; one that was online at the crash is
// offline from the boot.
func TestDowntimeCountsTowardExpiry(t *testing.T) {
	p, _ := Profile("hivemq")
	p.SessionExpiry, p.ExpirySweep = 2*time.Hour, 0
	h := newHarnessConfig(t, Config{Policy: p, Durable: true})
	h.image = NewImage()
	h.open(1)
	h.connect(1, "away", false, 0)
	h.open(2)
	h.connect(2, "here", false, 0)
	h.lost(1)
	h.advance(time.Hour)
	h.now += 3 * time.Hour
	h.crashAndRecover()
	h.image = nil
	h.open(3)
	if ack := h.connect(3, "away", false, 0); ack.SessionPresent {
		t.Fatal("a session whose expiry passed during the downtime was resumed")
	}
	h.open(4)
	if ack := h.connect(4, "here", false, 0); !ack.SessionPresent {
		t.Fatal("the session online at the crash was lost")
	}
}

// TestRecoverReportsWhatItRestored: with ReportRestored, the recovery's
// record has an event per session and per copy (queued, or in flight with
// its packet id); without, none.
func TestRecoverReportsWhatItRestored(t *testing.T) {
	h := subscribedDurable(t, 2)
	p := h.b.pol
	for i := range 5 {
		h.publish(2, "t", 1, uint16(i+1), fmt.Sprint(i))
	}
	for _, report := range []bool{true, false} {
		cfg := Config{Policy: p, Durable: true, ReportRestored: report}
		_, rec, err := Recover(cfg, h.image, h.now)
		if err != nil {
			t.Fatal(err)
		}
		var sessions, queued, inflight int
		for ev := range rec.Events() {
			switch {
			case ev.Kind == EvSessionRestored:
				sessions++
			case ev.Kind == EvCopyRestored && ev.PacketID == 0:
				queued++
			case ev.Kind == EvCopyRestored:
				inflight++
			}
		}
		want := [3]int{1, 3, 2}
		if !report {
			want = [3]int{}
		}
		if got := [3]int{sessions, queued, inflight}; got != want {
			t.Errorf("ReportRestored=%v: sessions, queued, in flight restored = %v, want %v", report, got, want)
		}
	}
}

// subscribedDurable returns a durable hivemq harness with the given
// in-flight window, its image following, a persistent subscriber "sub" on
// "t" at QoS 1 (connection 1) and a clean publisher "pub" (connection 2).
func subscribedDurable(t *testing.T, window int) *harness {
	t.Helper()
	p, _ := Profile("hivemq")
	p.InflightWindow = window
	h := newHarnessConfig(t, Config{Policy: p, Durable: true})
	h.image = NewImage()
	h.open(1)
	h.connect(1, "sub", false, 0)
	h.subscribe(1, "t", 1)
	h.open(2)
	h.connect(2, "pub", true, 0)
	return h
}
