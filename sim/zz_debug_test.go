package sim

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func TestDebugPrint(t *testing.T) {
	for _, name := range scenario.Names() {
		sc := small(t, name, 24, 0)
		r, _ := Run(sc, broker.Policy{Name: "fake"}, 7, Options{NewCore: newFakeCore})
		m := r.Metrics
		t.Logf("%v\n  recv=%d dup=%d resent=%d lostq0=%d clientdrop=%v dropped=%v connects=%d resumes=%d dials=%d pingto=%d maxq=%d live=%v stored=%v replays=%d knobs=%v", r, m.Received, m.Duplicates, m.Resent, m.LostQoS0, m.ClientDropped, m.Dropped, m.Connects, m.Resumes, m.Dials, m.PingTimeouts, m.MaxQueueDepth, &m.LatencyLive, &m.LatencyStored, m.ReplaysTotal, r.Knobs)
	}
}
