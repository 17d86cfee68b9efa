package check

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/model"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// Client-side constants the liveness bound depends on: the simulated
// devices' defaults (package sim/client: Config.defaults).
const (
	clientBackoffMax     = 2 * time.Minute
	clientConnectTimeout = 30 * time.Second
	clientPingTimeout    = 20 * time.Second
)

// Bound returns how long after the healed phase begins (or after its
// publication, if later) a copy may stay pending under pol in sc before
// the run is a liveness failure (invariant 16). It adds up, generously:
// noticing a link that died just before the heal (1.5 x the longest
// keepalive on the broker side, a keepalive plus the ping timeout on the
// device side), one reconnect (the longest backoff and the connect
// timeout), draining a full queue at the policy's pace, one retry interval,
// and a latency allowance of 20 round trips at the 99.9th percentile of the
// slowest group's links plus one delay at their limit (Latency.Limit) each
// way.
func Bound(sc scenario.Scenario, pol broker.Policy) time.Duration {
	var ka time.Duration
	for _, g := range sc.Groups {
		ka = max(ka, g.KeepAlive)
	}
	detect := max(ka*3/2, ka+clientPingTimeout)
	reconnect := clientBackoffMax + clientConnectTimeout
	capacity := pol.QueueCap
	if capacity == 0 {
		capacity = 1000
	}
	drain := model.ReplayDrain(pol, capacity+1)
	// Round trips at the links' 99.9th percentile of delay, plus one
	// packet at the worst delay a link allows each way: on a connection,
	// packets arrive in order, so one outlier holds up the packets behind
	// it once, not once per round trip.
	var oneWay, worst time.Duration
	for _, g := range sc.Groups {
		l := g.LinkLatency(sc.Network)
		oneWay = max(oneWay, l.Quantile(0.999))
		if l.HasTail() {
			worst = max(worst, l.Limit())
		}
	}
	rtt := 2 * oneWay
	return detect + reconnect + drain + pol.RetryInterval + 20*rtt + 2*worst + time.Minute
}

// Run runs sc under pol with seed, checking it with a Checker chained
// before opts.Observer. The run stops at the first violation (through
// opts.Stop, chained with any Stop already set), so a failing seed costs
// little and its Result says Truncated. It returns the run's result and
// the first violation (nil when the run passed); the error is sim.Run's (an
// invalid scenario or policy).
func Run(sc scenario.Scenario, pol broker.Policy, seed uint64, opts sim.Options) (*sim.Result, *Violation, error) {
	k := New(Config{Policy: pol, HealAt: sc.Duration, Bound: Bound(sc, pol), Next: opts.Observer, Crashes: sim.CanCrash(sc, seed)})
	opts.Observer = k
	opts.Concurrent = false // the Stop below reads the checker: same goroutine (RunConcurrent is the other way)
	stop := opts.Stop
	opts.Stop = func() bool { return k.first != nil || stop != nil && stop() }
	res, err := sim.Run(sc, pol, seed, opts)
	if err != nil {
		return nil, nil, err
	}
	if res.Stalled && k.Violation() == nil {
		return res, Stall(res), nil
	}
	if res.Truncated {
		return res, k.Violation(), nil // cut short: liveness and conservation cannot be judged
	}
	return res, k.Finish(sc.End()), nil
}

// Stall is the liveness failure of a run whose virtual time stopped passing
// (sim.Result.Stalled).
func Stall(res *sim.Result) *Violation {
	return &Violation{Kind: Liveness, At: res.StalledAt, Inv: broker.InvLiveness, Source: "(invariant 16)",
		Detail: fmt.Sprintf("virtual time stalled: %d events in a row at this instant (a deadline that asks to be woken again at once)", sim.StallEvents)}
}
