package properties

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
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
