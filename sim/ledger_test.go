package sim

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// ledgerStep is one input to the ledger: a core event, or a receipt.
type ledgerStep struct {
	ev      broker.Event
	receive string // client id receiving uid (or pkt), instead of ev
	uid     uint64
	pkt     *packet.Publish // an untracked receipt: matched by packet id
}

func ev(kind broker.EventKind, at time.Duration, client string, msg broker.MsgID) ledgerStep {
	return ledgerStep{ev: broker.Event{Kind: kind, At: at, ClientID: client, Msg: msg}}
}

func TestLedgerFollowsCopies(t *testing.T) {
	const s = time.Second
	pub := func(at time.Duration, msg broker.MsgID, copies int, uid uint64) ledgerStep {
		return ledgerStep{ev: broker.Event{Kind: broker.EvPublished, At: at, Msg: msg, Copies: copies,
			Cause: broker.Cause{Kind: broker.CausePublish}}, uid: uid}
	}
	recv := func(at time.Duration, client string, uid uint64) ledgerStep {
		return ledgerStep{ev: broker.Event{At: at}, receive: client, uid: uid}
	}
	sent := func(at time.Duration, client string, msg broker.MsgID, stored, dup bool) ledgerStep {
		st := ev(broker.EvSent, at, client, msg)
		st.ev.Stored, st.ev.Dup = stored, dup
		return st
	}
	dropped := func(at time.Duration, client string, msg broker.MsgID, r broker.Reason) ledgerStep {
		st := ev(broker.EvDropped, at, client, msg)
		st.ev.Reason = r
		return st
	}
	sentID := func(at time.Duration, client string, msg broker.MsgID, qos packet.QoS, pid uint16) ledgerStep {
		st := ev(broker.EvSent, at, client, msg)
		st.ev.QoS, st.ev.PacketID = qos, pid
		return st
	}
	recvPkt := func(at time.Duration, client string, qos packet.QoS, pid uint16, retain bool) ledgerStep {
		return ledgerStep{ev: broker.Event{At: at}, receive: client,
			pkt: &packet.Publish{QoS: qos, PacketID: pid, Retain: retain, Payload: []byte("online")}}
	}
	replay := func(at time.Duration, msg broker.MsgID) ledgerStep {
		return ledgerStep{ev: broker.Event{Kind: broker.EvPublished, At: at, Msg: msg, Copies: 1, Retain: true}}
	}
	connected := func(at time.Duration, client string, sp bool) ledgerStep {
		st := ev(broker.EvConnected, at, client, 0)
		st.ev.SessionPresent = sp
		return st
	}
	tests := []struct {
		name  string
		steps []ledgerStep
		check func(t *testing.T, m *Metrics)
	}{
		{"live QoS1 delivery", []ledgerStep{
			connected(0, "a", false), pub(s, 1, 1, 100), sent(s, "a", 1, false, false),
			recv(2*s, "a", 100), ev(broker.EvDelivered, 3*s, "a", 1),
		}, func(t *testing.T, m *Metrics) {
			want(t, "delivered", m.Delivered, 1)
			want(t, "received", m.Received, 1)
			want(t, "live latency count", m.LatencyLive.Count, 1)
			want(t, "live latency", int64(m.LatencyLive.Max), 1)
		}},
		{"stored copy, replay drained", []ledgerStep{
			connected(0, "a", false), ev(broker.EvDisconnected, s, "a", 0),
			pub(2*s, 1, 1, 100), ev(broker.EvEnqueued, 2*s, "a", 1),
			pub(3*s, 2, 1, 101), ev(broker.EvEnqueued, 3*s, "a", 2),
			connected(10*s, "a", true),
			sent(10*s, "a", 1, true, false), recv(11*s, "a", 100), ev(broker.EvDelivered, 11*s, "a", 1),
			sent(12*s, "a", 2, true, false), recv(13*s, "a", 101), ev(broker.EvDelivered, 13*s, "a", 2),
		}, func(t *testing.T, m *Metrics) {
			want(t, "stored latency count", m.LatencyStored.Count, 2)
			want(t, "max queue depth", int64(m.MaxQueueDepth), 2)
			want(t, "replays", m.ReplaysTotal, 1)
			if len(m.Replays) != 1 || m.Replays[0].Backlog != 2 || m.Replays[0].Drain != 2 {
				t.Errorf("replays = %v, want backlog 2 drained in 2s", m.Replays)
			}
		}},
		{"duplicate receipt", []ledgerStep{
			connected(0, "a", false), pub(s, 1, 1, 100), sent(s, "a", 1, false, false), recv(2*s, "a", 100),
			sent(5*s, "a", 1, false, true), recv(6*s, "a", 100), ev(broker.EvDelivered, 7*s, "a", 1),
			recv(8*s, "a", 100),
		}, func(t *testing.T, m *Metrics) {
			want(t, "duplicates", m.Duplicates, 2)
			want(t, "resent", m.Resent, 1)
			want(t, "received", m.Received, 1)
		}},
		{"drops by reason, conservation", []ledgerStep{
			pub(s, 1, 3, 100), ev(broker.EvEnqueued, s, "a", 1), ev(broker.EvEnqueued, s, "b", 1),
			dropped(2*s, "a", 1, broker.ReasonQueueFull), dropped(3*s, "b", 1, broker.ReasonSessionExpired),
		}, func(t *testing.T, m *Metrics) {
			want(t, "queue-full", m.Dropped["queue-full"], 1)
			want(t, "session-expired", m.Dropped["session-expired"], 1)
			want(t, "pending", m.Pending, 1)
			want(t, "copies", m.Copies, 3)
		}},
		{"Will and retained replays matched by packet id", []ledgerStep{
			connected(0, "a", false),
			ev(broker.EvWillPublished, s, "b", 1), pub(s, 1, 1, 100), // a Will during a PUBLISH's step
			sentID(s, "a", 1, 1, 7), recvPkt(2*s, "a", 1, 7, false), ev(broker.EvDelivered, 3*s, "a", 1),
			recv(3*s, "a", 100), // the PUBLISH being stepped had no copies: a duplicate
			replay(4*s, 2), sentID(4*s, "a", 2, 1, 7), recvPkt(5*s, "a", 1, 7, true), recvPkt(6*s, "a", 1, 7, true),
			ev(broker.EvDelivered, 6*s, "a", 2), recvPkt(7*s, "a", 1, 7, true),
			replay(8*s, 3), sentID(8*s, "a", 3, 0, 0), ev(broker.EvDelivered, 8*s, "a", 3), recvPkt(9*s, "a", 0, 0, true),
			replay(10*s, 4), sentID(10*s, "a", 4, 1, 9), // still in flight at the end
		}, func(t *testing.T, m *Metrics) {
			want(t, "wills", m.WillsPublished, 1)
			want(t, "retained replayed", m.RetainedReplayed, 3)
			want(t, "retained delivered", m.RetainedDelivered, 2)
			want(t, "retained received", m.RetainedReceived, 2)
			want(t, "received", m.Received, 3)
			want(t, "duplicates", m.Duplicates, 3)
			want(t, "delivered", m.Delivered, 3)
			want(t, "pending", m.Pending, 1)
			want(t, "unreceived", m.Unreceived, 0)
		}},
		{"QoS0 sent but lost", []ledgerStep{
			connected(0, "a", false), pub(s, 1, 1, 100), sent(s, "a", 1, false, false), ev(broker.EvDelivered, s, "a", 1),
		}, func(t *testing.T, m *Metrics) {
			want(t, "unreceived", m.Unreceived, 1)
			want(t, "pending", m.Pending, 0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Metrics
			l := newLedger(&m, []string{"a", "b", "c"}, 1)
			for _, st := range tt.steps {
				if st.receive != "" {
					p := st.pkt
					if p == nil {
						p = &packet.Publish{QoS: 1, PacketID: 1, Payload: binary.BigEndian.AppendUint64(nil, st.uid)}
					}
					l.received(st.ev.At, l.ids[st.receive], p)
					continue
				}
				ev := st.ev
				l.event(&ev, st.uid)
			}
			l.close()
			tt.check(t, &m)
		})
	}
}

func want(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func TestLedgerSampleQuantiles(t *testing.T) {
	var m Metrics
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = string(rune('a'+i%26)) + string(rune('0'+i/26))
	}
	l := newLedger(&m, ids, 1)
	for i := range l.depth {
		l.depth[i] = int32(i) // depths 0..99
	}
	l.sample(time.Minute, nil)
	got := m.Samples[0]
	if got.QueueP50 != 49 || got.QueueP99 != 98 || got.QueueMax != 99 || got.QueueTotal != 4950 {
		t.Errorf("sample = %v total %d, want p50=49 p99=98 max=99 total=4950", got, got.QueueTotal)
	}
}

// TestSamplePeakCatchesWhatInstantsMiss: a queue that fills and drains
// between two samples shows in the sample's QueuePeak (the chart's "max in
// each interval") though every instant's maximum is 0, and the table's
// MaxQueueDepth agrees with the largest peak.
func TestSamplePeakCatchesWhatInstantsMiss(t *testing.T) {
	var m Metrics
	l := newLedger(&m, []string{"a", "b"}, 1)
	var scratch []int
	scratch = l.sample(0, scratch)
	for range 5 {
		l.addDepth(1, 1)
	}
	l.addDepth(1, -5)
	scratch = l.sample(time.Minute, scratch)
	l.sample(2*time.Minute, scratch)
	got := []int{m.Samples[1].QueueMax, m.Samples[1].QueuePeak, m.Samples[2].QueuePeak}
	if want := []int{0, 5, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("max at the instant, peak in the interval, next peak = %v, want %v", got, want)
	}
	if m.MaxQueueDepth != 5 {
		t.Errorf("MaxQueueDepth = %d, want 5", m.MaxQueueDepth)
	}
}
