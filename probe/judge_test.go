package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// synthetic builds a runner whose log holds one resume of device d: it
// leaves with DISCONNECT, b publishes messages 1..5 to it, and it comes
// back to receive 3, 4 and 5 (at +1.0 s, +1.5 s, +2.0 s): a queue of 3
// that dropped the oldest, paced at 500 ms.
func synthetic(pol broker.Policy) *runner {
	ms := time.Millisecond
	r := &runner{o: RunOptions{Policy: pol}, log: NewLog(), tag: "t", prefix: "p/"}
	g := &scenario.Group{Name: "actuator", Kind: scenario.Command}
	topic := "p/cmd/d"
	r.devs = []device{{id: "slpt-d", topic: topic, group: g}}
	add := func(at time.Duration, client string, conn int, out bool, p packet.Packet, note string) {
		r.log.add(Entry{At: at, Client: client, Conn: conn, Out: out, Packet: p, Note: note})
	}
	add(0, "slpt-d", 1, true, &packet.Connect{ClientID: "slpt-d"}, "")
	add(1*ms, "slpt-d", 1, false, &packet.Connack{}, "")
	add(2*ms, "slpt-d", 1, true, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: topic, QoS: 1}}}, "")
	add(3*ms, "slpt-d", 1, false, &packet.Suback{PacketID: 1, ReturnCodes: []byte{1}}, "")
	add(100*ms, "slpt-d", 1, true, &packet.Disconnect{}, "")
	add(100*ms, "slpt-d", 1, false, nil, "closed: by the client")
	add(150*ms, "b", 2, true, &packet.Connect{ClientID: "b", CleanSession: true}, "")
	add(151*ms, "b", 2, false, &packet.Connack{}, "")
	for u := uint64(1); u <= 5; u++ {
		at := 200*ms + time.Duration(u)*10*ms
		add(at, "b", 2, true, &packet.Publish{QoS: 1, PacketID: uint16(u), Topic: topic, Payload: seq(u)}, "")
		add(at+ms, "b", 2, false, &packet.Puback{PacketID: uint16(u)}, "")
	}
	add(time.Second-ms, "slpt-d", 3, true, &packet.Connect{ClientID: "slpt-d"}, "")
	add(time.Second, "slpt-d", 3, false, &packet.Connack{SessionPresent: true}, "")
	for i, u := range []uint64{3, 4, 5} {
		at := time.Second + time.Duration(i)*500*ms
		add(at, "slpt-d", 3, false, &packet.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: topic, Payload: seq(u)}, "")
		add(at, "slpt-d", 3, true, &packet.Puback{PacketID: uint16(i + 1)}, "")
	}
	return r
}

func verdictOf(res *Result, inv broker.Invariant) Promise {
	for _, p := range res.Promises {
		if p.Inv == inv {
			return p
		}
	}
	return Promise{}
}

// TestJudgeQueue: the resume is judged by the queue cap, the victim and
// the pacing of the profile it is held to.
func TestJudgeQueue(t *testing.T) {
	tencent, _ := broker.Profile("tencent")
	tencent.QueueCap = 3
	res := synthetic(tencent).judge(Noise{Tolerance: 25 * time.Millisecond})
	for _, inv := range []broker.Invariant{broker.InvSessionPresent, broker.InvOfflineStorage, broker.InvQueueBound, broker.InvPacing, broker.InvOrder} {
		if p := verdictOf(res, inv); p.Verdict != Kept {
			t.Errorf("tencent with a cap of 3: invariant %d %s: %s\n%s", inv, p.Verdict, p.Detail, res.Table())
		}
	}

	newest := tencent
	newest.Overflow = broker.DropNewest
	res = synthetic(newest).judge(Noise{Tolerance: 25 * time.Millisecond})
	p := verdictOf(res, broker.InvOfflineStorage)
	if p.Verdict != Broken || !strings.Contains(p.Detail, "message 1 (number 1 of the 5") || len(p.Witness) != 2 ||
		!strings.Contains(p.Witness[0], "-> PUBLISH q1 id=1") || !strings.Contains(p.Witness[1], "msg=5") {
		t.Errorf("drop-newest: offline storage %s: %s %q", p.Verdict, p.Detail, p.Witness)
	}
	if p := verdictOf(res, broker.InvQueueBound); p.Verdict != Broken || !strings.Contains(p.Detail, "message 4 (number 4") {
		t.Errorf("drop-newest: queue bound %s: %s", p.Verdict, p.Detail)
	}

	slow := tencent
	slow.ReplayInterval = time.Second
	res = synthetic(slow).judge(Noise{Tolerance: 25 * time.Millisecond})
	if p := verdictOf(res, broker.InvPacing); p.Verdict != Broken || !strings.Contains(p.Detail, "500ms apart") {
		t.Errorf("1 s pacing: %s: %s", p.Verdict, p.Detail)
	}

	mosquitto, _ := broker.Profile("mosquitto") // 1000 kept: 1 and 2 are missing while 5 came
	res = synthetic(mosquitto).judge(Noise{Tolerance: 25 * time.Millisecond})
	if p := verdictOf(res, broker.InvOfflineStorage); p.Verdict != Broken {
		t.Errorf("mosquitto: offline storage %s: %s", p.Verdict, p.Detail)
	}
	if p := verdictOf(res, broker.InvPacing); p.Verdict != NotObserved {
		t.Errorf("mosquitto: pacing %s, want not observed (no pacing promised)", p.Verdict)
	}
}
