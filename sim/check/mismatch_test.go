package check

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// TestRunCatchesPolicyMismatch runs the real core under one policy and
// checks it against another that differs in one rule: the checker must
// notice, end to end, through the simulator. Each row is a bug the core
// could have (the wrong victim, a late expiry, a replay too fast, QoS 0
// stored offline) played by a real, correct core of another vendor.
func TestRunCatchesPolicyMismatch(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		core     string
		checker  func(*broker.Policy)
		want     broker.Invariant
	}{
		{"victim", "overflow", "tencent", func(p *broker.Policy) { p.Overflow = broker.DropNewest }, broker.InvQueueBound},
		{"cap", "overflow", "tencent", func(p *broker.Policy) { p.QueueCap = 100 }, broker.InvQueueBound},
		{"late expiry", "expiry-cliff", "emqx", func(p *broker.Policy) { p.SessionExpiry = time.Hour }, broker.InvExpiry},
		{"early expiry", "expiry-cliff", "emqx", func(p *broker.Policy) { p.SessionExpiry = 3 * time.Hour }, broker.InvExpiry},
		{"fast replay", "overflow", "tencent", func(p *broker.Policy) { p.ReplayInterval = time.Second }, broker.InvPacing},
		{"aws rate", "outage-storm", "aws", func(p *broker.Policy) { p.ReplayRate = 5 }, broker.InvPacing},
		{"TTL", "overflow", "tencent", func(p *broker.Policy) { p.MessageTTL = 10 * time.Minute }, broker.InvTTL},
		{"expiry on a never-expiring policy", "expiry-cliff", "emqx", func(p *broker.Policy) { p.SessionExpiry = 0 }, broker.InvExpiry},
		{"QoS 0 stored", "overflow", "emqx", func(p *broker.Policy) { p.StoreQoS0Offline = false }, broker.InvQoS0NotStored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := scenario.Builtin(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			sc = sc.Scaled(4)
			if tt.want == broker.InvQoS0NotStored {
				for i := range sc.Groups {
					sc.Groups[i].QoS = 0
				}
			}
			core := profile(t, tt.core)
			want := core
			tt.checker(&want)
			k := New(Config{Policy: want, HealAt: sc.Duration, Bound: Bound(sc, core)})
			if _, err := sim.Run(sc, core, 1, sim.Options{Observer: k}); err != nil {
				t.Fatal(err)
			}
			v := k.Finish(sc.End())
			if v == nil || v.Inv != tt.want || v.Kind != Safety {
				t.Fatalf("got %v, want a violation of invariant %d", v, tt.want)
			}
		})
	}
}
