package history

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

const (
	ms   = time.Millisecond
	sec  = time.Second
	hour = time.Hour
)

// Shorthands for hand-written histories.
func conn(c string, at time.Duration, clean, sp bool) Op {
	return Op{Kind: Connect, Client: c, At: at, Clean: clean, SessionPresent: sp}
}
func disc(c string, at time.Duration) Op { return Op{Kind: Disconnect, Client: c, At: at} }
func enq(c string, at time.Duration, m uint64, topic string, q uint8) Op {
	return Op{Kind: Enqueue, Client: c, At: at, Msg: m, Publisher: "p", Topic: topic, QoS: q}
}
func sendOp(c string, at time.Duration, m uint64, topic string, q uint8, dup, stored bool) Op {
	return Op{Kind: Send, Client: c, At: at, Msg: m, Publisher: "p", Topic: topic, QoS: q, Dup: dup, Stored: stored}
}
func ack(c string, at time.Duration, m uint64) Op { return Op{Kind: Ack, Client: c, At: at, Msg: m} }
func drop(c string, at time.Duration, m uint64, reason broker.Reason) Op {
	return Op{Kind: Drop, Client: c, At: at, Msg: m, Reason: reason.String()}
}
func expireOp(c string, at time.Duration) Op  { return Op{Kind: Expire, Client: c, At: at} }
func quiesceOp(c string, at time.Duration) Op { return Op{Kind: Quiesce, Client: c, At: at} }

// offlineTwo is a persistent session that is sent two stored QoS 1 copies
// after it resumes at 10 s.
func offlineTwo(c string) []Op {
	return []Op{conn(c, 0, false, false), disc(c, sec), enq(c, 2*sec, 1, "t", 1), enq(c, 3*sec, 2, "t", 1),
		conn(c, 10*sec, false, true)}
}

func with(base []Op, more ...Op) []Op { return append(append([]Op(nil), base...), more...) }

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		ops     []Op
		want    string // "" accepts; otherwise a fragment of the violation
	}{{
		name:    "stored copies delivered in order after resume",
		profile: "hivemq",
		ops: with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), sendOp("d", 10*sec, 2, "t", 1, false, true),
			ack("d", 11*sec, 1), ack("d", 11*sec, 2), quiesceOp("d", 20*sec)),
	}, {
		name:    "reordered delivery",
		profile: "hivemq",
		ops:     with(offlineTwo("d"), sendOp("d", 10*sec, 2, "t", 1, false, true), sendOp("d", 10*sec, 1, "t", 1, false, true)),
		want:    "MQTT-4.6.0-6",
	}, {
		name:    "reordering across topics is allowed",
		profile: "hivemq",
		ops: []Op{conn("d", 0, false, false), enq("d", sec, 1, "a", 1), enq("d", sec, 2, "b", 1),
			sendOp("d", sec, 2, "b", 1, false, false), sendOp("d", sec, 1, "a", 1, false, false)},
	}, {
		name:    "lost QoS 1 message",
		profile: "hivemq",
		ops:     with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), quiesceOp("d", 20*sec)),
		want:    "m2 from p on t (q1), owed since 3s, was never sent nor dropped: lost",
	}, {
		name:    "a dropped message is not lost",
		profile: "hivemq",
		ops: with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), drop("d", 10*sec, 2, broker.ReasonQueueFull),
			quiesceOp("d", 20*sec)),
	}, {
		name:    "dropping for a TTL the policy does not have",
		profile: "hivemq",
		ops:     with(offlineTwo("d"), drop("d", 10*sec, 2, broker.ReasonTTL)),
		want:    "the policy has no message TTL",
	}, {
		name:    "SessionPresent=1 after recorded expiry",
		profile: "emqx",
		ops:     []Op{conn("d", 0, false, false), disc("d", sec), expireOp("d", 2*hour+sec), conn("d", 3*hour, false, true)},
		want:    "SessionPresent=true, want false",
	}, {
		name:    "SessionPresent=1 after the expiry time, expiry not recorded",
		profile: "emqx",
		ops:     []Op{conn("d", 0, false, false), disc("d", sec), conn("d", 3*hour, false, true)},
		want:    "SessionPresent=true, want false",
	}, {
		name:    "SessionPresent=1 before expiry",
		profile: "emqx",
		ops:     []Op{conn("d", 0, false, false), disc("d", sec), conn("d", 2*hour, false, true)},
	}, {
		name:    "SessionPresent=0 for a live session",
		profile: "mosquitto",
		ops:     []Op{conn("d", 0, false, false), disc("d", sec), conn("d", 100*hour, false, false)},
		want:    "SessionPresent=false, want true",
	}, {
		name:    "expiry before E",
		profile: "emqx",
		ops:     []Op{conn("d", 0, false, false), disc("d", sec), expireOp("d", hour)},
		want:    "before disconnect",
	}, {
		name:    "aws expiry within the 30 minute sweep",
		profile: "aws",
		ops:     []Op{conn("d", 0, false, false), disc("d", 10*time.Minute), expireOp("d", 90*time.Minute)},
	}, {
		name:    "aws expiry after the sweep",
		profile: "aws",
		ops:     []Op{conn("d", 0, false, false), disc("d", 10*time.Minute), expireOp("d", 101*time.Minute)},
		want:    "after the latest time",
	}, {
		name:    "expiry while connected",
		profile: "emqx",
		ops:     []Op{conn("d", 0, false, false), expireOp("d", 3*hour)},
		want:    "MQTT-4.1.0-1",
	}, {
		name:    "tencent pacing 500 ms respected",
		profile: "tencent",
		ops:     with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), sendOp("d", 10*sec+500*ms, 2, "t", 1, false, true)),
	}, {
		name:    "tencent delivery faster than the pacing allows",
		profile: "tencent",
		ops:     with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), sendOp("d", 10*sec+100*ms, 2, "t", 1, false, true)),
		want:    "pacing allows the next one from 10.5s",
	}, {
		name:    "aws stored messages closer than 1/10 s",
		profile: "aws",
		ops:     awsBurst(11, 90*ms),
		want:    "pacing allows the next one from 10.1s",
	}, {
		name:    "aws ten stored messages per second",
		profile: "aws",
		ops:     awsBurst(20, 100*ms),
	}, {
		name:    "QoS 2 first sent twice",
		profile: "hivemq",
		ops: []Op{conn("d", 0, false, false), enq("d", sec, 1, "t", 2), sendOp("d", sec, 1, "t", 2, false, false),
			sendOp("d", 2*sec, 1, "t", 2, false, false)},
		want: "DUP=false but it was sent before=true",
	}, {
		name:    "resend after resume carries DUP",
		profile: "hivemq",
		ops: []Op{conn("d", 0, false, false), enq("d", sec, 1, "t", 2), sendOp("d", sec, 1, "t", 2, false, false),
			disc("d", 2*sec), conn("d", 3*sec, false, true), sendOp("d", 3*sec, 1, "t", 2, true, true), ack("d", 4*sec, 1)},
	}, {
		name:    "QoS 0 stored for an offline session (hivemq does not)",
		profile: "hivemq",
		ops: []Op{conn("d", 0, false, false), disc("d", sec), enq("d", 2*sec, 1, "t", 0), conn("d", 3*sec, false, true),
			sendOp("d", 3*sec, 1, "t", 0, false, true)},
		want: "invariant 4",
	}, {
		name:    "QoS 0 stored for an offline session (emqx does)",
		profile: "emqx",
		ops: []Op{conn("d", 0, false, false), disc("d", sec), enq("d", 2*sec, 1, "t", 0), conn("d", 3*sec, false, true),
			sendOp("d", 3*sec, 1, "t", 0, false, true), ack("d", 3*sec, 1)},
	}, {
		name:    "two live connections",
		profile: "mosquitto",
		ops:     []Op{conn("d", 0, false, false), conn("d", sec, false, true)},
		want:    "MQTT-3.1.4-2",
	}, {
		name:    "resends after resume out of order",
		profile: "hivemq",
		ops: []Op{conn("d", 0, false, false), enq("d", sec, 1, "a", 1), enq("d", sec, 2, "b", 1),
			sendOp("d", sec, 1, "a", 1, false, false), sendOp("d", sec, 2, "b", 1, false, false),
			disc("d", 2*sec), conn("d", 3*sec, false, true),
			sendOp("d", 3*sec, 2, "b", 1, true, true), sendOp("d", 3*sec, 1, "a", 1, true, true)},
		want: "MQTT-4.6.0-1",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := broker.Profile(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			html := filepath.Join(t.TempDir(), "violation.html")
			got, err := Check(pol, sequence(tt.ops), html, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !got.OK {
					t.Fatalf("got %v, want ok", got)
				}
				return
			}
			if got.OK || !strings.Contains(got.Violation, tt.want) {
				t.Fatalf("got %v, want a violation containing %q", got, tt.want)
			}
			if _, err := os.Stat(html); err != nil || got.HTML != html {
				t.Errorf("visualisation %q not written: %v", got.HTML, err)
			}
		})
	}
}

// awsBurst resumes a session with n stored copies and sends them every gap.
func awsBurst(n int, gap time.Duration) []Op {
	ops := []Op{conn("d", 0, false, false), disc("d", sec)}
	for i := range n {
		ops = append(ops, enq("d", 2*sec, uint64(i+1), "t", 1))
	}
	ops = append(ops, conn("d", 10*sec, false, true))
	for i := range n {
		ops = append(ops, sendOp("d", 10*sec+time.Duration(i)*gap, uint64(i+1), "t", 1, false, true))
	}
	return ops
}

// sequence numbers ops in order, as a Recorder does.
func sequence(ops []Op) []Op {
	r := NewRecorder(nil, broker.Policy{})
	for _, op := range ops {
		r.Observe(op)
	}
	return r.Ops()
}

func TestRecorderRoundTrip(t *testing.T) {
	pol, _ := broker.Profile("tencent")
	var buf bytes.Buffer
	r := NewRecorder(&buf, pol)
	events := []broker.Event{
		{Kind: broker.EvConnected, At: 0, ClientID: "d", Conn: 1},
		{Kind: broker.EvSent, At: sec, ClientID: "d", Msg: 1, Topic: "t", QoS: 1, Publisher: "p", PacketID: 1},
		{Kind: broker.EvDisconnected, At: 2 * sec, ClientID: "d", Reason: broker.ReasonConnLost},
		{Kind: broker.EvEnqueued, At: 3 * sec, ClientID: "d", Msg: 2, Topic: "t", QoS: 1, Publisher: "p"},
		{Kind: broker.EvConnected, At: 4 * sec, ClientID: "d", SessionPresent: true},
		{Kind: broker.EvSent, At: 4 * sec, ClientID: "d", Msg: 1, Topic: "t", QoS: 1, Publisher: "p", Dup: true, Stored: true},
		{Kind: broker.EvSent, At: 4*sec + 500*ms, ClientID: "d", Msg: 2, Topic: "t", QoS: 1, Publisher: "p", Stored: true},
		{Kind: broker.EvDelivered, At: 5 * sec, ClientID: "d", Msg: 1, Topic: "t", QoS: 1, Publisher: "p"},
		{Kind: broker.EvDelivered, At: 5 * sec, ClientID: "d", Msg: 2, Topic: "t", QoS: 1, Publisher: "p"},
	}
	for _, ev := range events {
		r.Step(eventRecord(ev))
	}
	r.Quiesce(6*sec, []string{"d"})
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "HISTORY.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	gotPol, ops, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if gotPol != pol {
		t.Errorf("policy read back %+v, want %+v", gotPol, pol)
	}
	var kinds []string
	for _, op := range ops {
		kinds = append(kinds, string(op.Kind))
	}
	want := "connect enqueue send disconnect enqueue connect send send ack ack quiesce"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("kinds %q, want %q", got, want)
	}
	res, err := CheckFile(path, "", 10*time.Second)
	if err != nil || !res.OK {
		t.Fatalf("CheckFile = %v, %v; want ok", res, err)
	}
}

// TestCheckSearchesOverlappingOperations gives porcupine client-side
// observations whose intervals overlap: the enqueue of m1 is observed after
// its send was called but before it returned. Some order of the overlapping
// operations is legal, so the history is accepted, although the call order
// alone (what Explain replays) is not.
func TestCheckSearchesOverlappingOperations(t *testing.T) {
	pol, _ := broker.Profile("hivemq")
	ops := []Op{
		{Kind: Connect, Client: "d", Call: 0, Return: 5},
		{Kind: Send, Client: "d", Call: 10, Return: 30, At: sec, Msg: 1, Publisher: "p", Topic: "t", QoS: 1},
		{Kind: Enqueue, Client: "d", Call: 20, Return: 25, At: sec, Msg: 1, Publisher: "p", Topic: "t", QoS: 1},
		{Kind: Ack, Client: "d", Call: 40, Return: 50, At: 2 * sec, Msg: 1},
	}
	if why := Explain(pol, ops); why == "" {
		t.Fatal("Explain accepted the call order; the test needs one it rejects")
	}
	got, err := Check(pol, ops, "", 10*time.Second)
	if err != nil || !got.OK {
		t.Fatalf("got %v, %v; want ok", got, err)
	}
	ops[2].Call, ops[2].Return = 35, 38 // now the enqueue surely follows the send
	if got, _ := Check(pol, ops, "", 10*time.Second); got.OK {
		t.Fatalf("got %v, want a violation once the enqueue follows the send", got)
	}
}

// TestCheckFallsBackToSequentialReplay gives porcupine a nanosecond: on a
// recorder's totally ordered history there is still a verdict (porcupine's
// or, when it times out, the replay's), for a correct history and for a
// reordered one.
func TestCheckFallsBackToSequentialReplay(t *testing.T) {
	pol, _ := broker.Profile("hivemq")
	good := with(offlineTwo("d"), sendOp("d", 10*sec, 1, "t", 1, false, true), sendOp("d", 10*sec, 2, "t", 1, false, true))
	bad := with(offlineTwo("d"), sendOp("d", 10*sec, 2, "t", 1, false, true), sendOp("d", 10*sec, 1, "t", 1, false, true))
	for _, tt := range []struct {
		name string
		ops  []Op
		ok   bool
	}{{"in order", good, true}, {"reordered", bad, false}} {
		got, err := Check(pol, sequence(tt.ops), "", time.Nanosecond)
		if err != nil {
			t.Fatal(err)
		}
		if got.Unknown || got.OK != tt.ok {
			t.Errorf("%s: got %v, want a verdict, ok=%v", tt.name, got, tt.ok)
		}
	}
}

// eventRecord wraps ev as the record of a step that output only it.
func eventRecord(ev broker.Event) *broker.Record {
	return &broker.Record{At: ev.At, Outputs: []broker.Output{{Kind: broker.OutEvent, Conn: ev.Conn, Event: ev}}}
}
