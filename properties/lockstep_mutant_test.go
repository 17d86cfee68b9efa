package properties

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/model"
)

// TestLockstepDetectsMutants plants one wrong belief at a time in the model
// (as if the core had the bug) and checks that the lockstep comparison
// reports it on a short scenario: the comparison can fail, and fails where
// it should.
func TestLockstepDetectsMutants(t *testing.T) {
	persistent := func(c int) Op { return Op{Kind: OpConnect, Client: c} }
	sub := func(c int) Op { return Op{Kind: OpSubscribe, Client: c, Filter: "a", QoS: 1} }
	pub := func(c, n int) Op { return Op{Kind: OpPublish, Client: c, Topic: "a", QoS: 1, Count: n} }
	advance := func(d time.Duration) Op { return Op{Kind: OpAdvance, D: d} }
	offline := []Op{persistent(0), sub(0), {Kind: OpLose, Client: 0}, persistent(1), pub(1, 3)}
	tests := []struct {
		name    string
		profile string
		mutate  func(*broker.Policy)
		ops     []Op
		want    string
	}{{
		name: "pacing 1 s instead of 500 ms", profile: "tencent",
		mutate: func(p *broker.Policy) { p.ReplayInterval = time.Second },
		ops:    append(offline, persistent(0), advance(500*time.Millisecond)),
		want:   "sent 1 PUBLISH/PUBREL, model 0",
	}, {
		name: "session expiry 23 h instead of 24 h", profile: "tencent",
		mutate: func(p *broker.Policy) { p.SessionExpiry = 23 * time.Hour },
		ops:    []Op{persistent(0), {Kind: OpLose, Client: 0}, advance(24 * time.Hour)},
		want:   "session-expired",
	}, {
		name: "queue cap 2 instead of 150", profile: "tencent",
		mutate: func(p *broker.Policy) { p.QueueCap = 2 },
		ops:    offline,
		want:   "queue-full",
	}, {
		name: "QoS 0 stored offline", profile: "hivemq",
		mutate: func(p *broker.Policy) { p.StoreQoS0Offline = true },
		ops:    []Op{persistent(0), sub(0), {Kind: OpLose, Client: 0}, persistent(1), {Kind: OpPublish, Client: 1, Topic: "a", Count: 1}},
		want:   "qos0-offline",
	}, {
		name: "in-flight window 1", profile: "mosquitto",
		mutate: func(p *broker.Policy) { p.InflightWindow = 1 },
		ops:    []Op{persistent(0), sub(0), persistent(1), pub(1, 2)},
		want:   "sent 1 PUBLISH/PUBREL, model 0",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := broker.Profile(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewLockstep(pol, 2)
			if err != nil {
				t.Fatal(err)
			}
			mutant := pol
			tt.mutate(&mutant)
			l.model = model.New(mutant)
			var got error
			for _, op := range tt.ops {
				if got = l.Apply(op); got != nil {
					break
				}
			}
			if got == nil || !strings.Contains(got.Error(), tt.want) {
				t.Fatalf("got %v, want a disagreement mentioning %q", got, tt.want)
			}
		})
	}
}

// TestLockstepDetectsWrapMutants plants packet-id bugs at the 16-bit wrap in
// the core's outputs (the core itself cannot be mutated from here) and
// checks that the lockstep comparison reports them: three messages to a
// session whose ids start after 65534 take 65535, 1 and 2 while all three
// are unacknowledged, so a core that wraps to 0 or saturates at 65535 sends
// an id it must not.
func TestLockstepDetectsWrapMutants(t *testing.T) {
	ops := []Op{{Kind: OpConnect, Client: 0}, {Kind: OpSubscribe, Client: 0, Filter: "a", QoS: 1},
		{Kind: OpConnect, Client: 1}, {Kind: OpPublish, Client: 1, Topic: "a", QoS: 1, Count: 3}}
	rewrite := func(from, to uint16) func([]broker.Output) {
		return func(outs []broker.Output) {
			for i, o := range outs {
				if p, ok := o.Packet.(*packet.Publish); ok && o.Kind == broker.OutSend && !p.Dup && p.PacketID == from {
					q := *p
					q.PacketID = to
					outs[i].Packet = &q
				}
			}
		}
	}
	tests := []struct {
		name   string
		mutant func([]broker.Output)
		want   string // "" for the unmutated control
	}{
		{"no mutant", nil, ""},
		{"wraps to 0", rewrite(1, 0), "with packet id 0"},
		{"saturates at 65535", rewrite(1, 65535), "reuses id 65535 of a message still in flight [MQTT-2.3.1-2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := broker.Profile("mosquitto")
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewLockstepAt(pol, 2, Counters{PacketIDBase: 65534, ClientPacketID: 65534})
			if err != nil {
				t.Fatal(err)
			}
			l.mutant = tt.mutant
			var got error
			for _, op := range ops {
				if got = l.Apply(op); got != nil {
					break
				}
			}
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("the unmutated core failed: %v", got)
			case tt.want == "":
				if n := l.core.InflightLen("c0"); n != 3 {
					t.Fatalf("%d copies in flight, want 3 across the wrap", n)
				}
			case got == nil || !strings.Contains(got.Error(), tt.want):
				t.Fatalf("got %v, want a disagreement mentioning %q", got, tt.want)
			}
		})
	}
}
