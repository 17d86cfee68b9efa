package broker

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// randomOps drives h with n random inputs from seed: connects, subscriptions,
// publishes at every QoS, acks (some withheld), losses, disconnects, takeovers
// and time passing. It returns the trace of every input and output.
func randomOps(h *harness, seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0))
	var trace strings.Builder
	clients := []string{"a", "b", "c"}
	topics := []string{"t/1", "t/2", "$sys/x"}
	filters := []string{"t/1", "t/+", "#", "$sys/#", "t/#"}
	nextConn := ConnID(1)
	live := map[string]ConnID{}
	pid := uint16(0)
	for i := 0; i < n; i++ {
		id := clients[rng.IntN(len(clients))]
		c, online := live[id]
		switch op := rng.IntN(10); {
		case op == 0 || !online:
			nextConn++
			c = nextConn
			h.open(c)
			h.recv(c, &packet.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: id,
				CleanSession: rng.IntN(4) == 0, KeepAlive: uint16(rng.IntN(3) * 20),
				WillFlag: rng.IntN(2) == 0, WillTopic: "t/1", WillQoS: packet.QoS(rng.IntN(3)), WillPayload: []byte("w")})
			live[id] = c
		case op == 1:
			h.recv(c, &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{
				{Filter: filters[rng.IntN(len(filters))], QoS: packet.QoS(rng.IntN(3))}}})
		case op <= 4:
			pid++
			if pid == 0 {
				pid = 1
			}
			q := packet.QoS(rng.IntN(3))
			h.recv(c, &packet.Publish{Topic: topics[rng.IntN(len(topics))], QoS: q, PacketID: pid * uint16(min(q, 1)),
				Retain: rng.IntN(5) == 0, Payload: []byte(fmt.Sprint(i))})
			if q == 2 {
				h.recv(c, &packet.Pubrel{PacketID: pid})
			}
		case op <= 6:
			h.ackSome(c, rng)
		case op == 7:
			h.lost(c)
			delete(live, id)
		case op == 8:
			if rng.IntN(2) == 0 {
				h.recv(c, &packet.Disconnect{})
				delete(live, id)
			} else {
				h.recv(c, &packet.Unsubscribe{PacketID: 2, Filters: []string{filters[rng.IntN(len(filters))]}})
			}
		default:
			steps := []time.Duration{100 * time.Millisecond, time.Second, 30 * time.Second, time.Hour, 25 * time.Hour}
			h.advance(steps[rng.IntN(len(steps))])
			for id, c := range live {
				if h.b.conns[c] == nil {
					delete(live, id)
				}
			}
		}
		for _, o := range h.out {
			fmt.Fprintf(&trace, "%v\n", o)
		}
	}
	return trace.String()
}

// ackSome acknowledges a random subset of what is in flight on c.
func (h *harness) ackSome(c ConnID, rng *rand.Rand) {
	cn := h.b.conns[c]
	if cn == nil || cn.sess == nil {
		return
	}
	var acks []packet.Packet
	for _, d := range cn.sess.inflight {
		if rng.IntN(3) == 0 {
			continue
		}
		switch {
		case d.qos == 1:
			acks = append(acks, &packet.Puback{PacketID: d.pid})
		case d.state == copyWaitAck:
			acks = append(acks, &packet.Pubrec{PacketID: d.pid})
		default:
			acks = append(acks, &packet.Pubcomp{PacketID: d.pid})
		}
	}
	for _, a := range acks {
		h.recv(c, a)
	}
}

// TestInv15_ConservationUnderRandomInputs runs random input sequences under every
// profile; the harness checks conservation, the queue bound, packet ids and
// session consistency after every Step.
func TestInv15_ConservationUnderRandomInputs(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	for _, name := range ProfileNames() {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			h := newHarness(t, name, func(p *Policy) { p.QueueCap = min(p.QueueCap, 5) })
			randomOps(h, seed, 400)
		}
	}
}

// TestInv17_Determinism checks that the same inputs give byte-identical
// outputs and states, and that a Clone continues exactly like the original.
func TestInv17_Determinism(t *testing.T) {
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			h1, h2 := newHarness(t, name, nil), newHarness(t, name, nil)
			if a, b := randomOps(h1, 7, 300), randomOps(h2, 7, 300); a != b {
				t.Fatalf("same inputs, different traces:\n%s", lineDiff(a, b))
			}
			s1, s2 := h1.b.AppendState(nil), h2.b.AppendState(nil)
			if !bytes.Equal(s1, s2) {
				t.Fatal("same inputs, different AppendState")
			}
			clone := &harness{t: t, b: h1.b.Clone(), now: h1.now, copies: copyMap(h1.copies),
				delivered: copyMap(h1.delivered), dropped: copyMap(h1.dropped)}
			if !bytes.Equal(clone.b.AppendState(nil), s1) {
				t.Fatal("clone state differs from the original")
			}
			a, b := randomOps(h1, 8, 300), randomOps(clone, 8, 300)
			if a != b {
				t.Fatalf("clone diverged:\n%s", lineDiff(a, b))
			}
			if !bytes.Equal(h1.b.AppendState(nil), clone.b.AppendState(nil)) {
				t.Fatal("clone state diverged")
			}
			if bytes.Equal(h2.b.AppendState(nil), h1.b.AppendState(nil)) {
				t.Fatal("AppendState did not change after 300 more inputs")
			}
		})
	}
}

func copyMap(m map[MsgID]int) map[MsgID]int {
	c := make(map[MsgID]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
