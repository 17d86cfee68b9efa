package check

import (
	"sync/atomic"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// RunConcurrent is Run with the checker (and the run's ledger) on a
// goroutine of their own (sim.Options.Concurrent): they see the same stream
// in the same order, so checking takes a second core instead of adding to
// the run's time. A run the checker finds failing has gone on for a while
// past the failure, so it is run again with Run, and the failure is
// reported exactly as Run reports it (the same truncated digest, the same
// violation) whatever the goroutines' timing. Use it when a core is idle;
// with every core busy (a sweep), Run costs less.
func RunConcurrent(sc scenario.Scenario, pol broker.Policy, seed uint64, opts sim.Options) (*sim.Result, *Violation, error) {
	k := New(Config{Policy: pol, HealAt: sc.Duration, Bound: Bound(sc, pol), Next: opts.Observer, Crashes: sim.CanCrash(sc, seed)})
	f := flagging{Checker: k, failed: new(atomic.Bool)}
	inline := opts
	inline.Concurrent = false
	opts.Observer, opts.Concurrent = f, true
	opts.Stop = func() bool { return f.failed.Load() || inline.Stop != nil && inline.Stop() }
	res, err := sim.Run(sc, pol, seed, opts)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case f.failed.Load():
		return Run(sc, pol, seed, inline)
	case res.Stalled:
		return res, Stall(res), nil
	case res.Truncated:
		return res, nil, nil // cut short: liveness and conservation cannot be judged
	}
	return res, k.Finish(sc.End()), nil
}

// flagging is a Checker that raises failed once it has found a violation,
// for the run's goroutine to poll.
type flagging struct {
	*Checker
	failed *atomic.Bool
}

// Step implements sim.Observer.
func (f flagging) Step(rec *broker.Record) {
	f.Checker.Step(rec)
	if f.first != nil {
		f.failed.Store(true)
	}
}

// Received implements sim.Observer.
func (f flagging) Received(now broker.Time, clientID string, p *packet.Publish) {
	f.Checker.Received(now, clientID, p)
	if f.first != nil {
		f.failed.Store(true)
	}
}

var (
	_ sim.Observer       = flagging{}
	_ sim.PhaseObserver  = flagging{}
	_ sim.DeviceObserver = flagging{}
)
