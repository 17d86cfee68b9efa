package check

import (
	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
)

// Healed implements sim.PhaseObserver: the healed phase starts now, which
// is when liveness (invariant 16) starts counting. It is passed on to the
// next observer if that one wants it too.
func (k *Checker) Healed(now broker.Time) {
	k.cfg.HealAt = now
	if k.cfg.Bound > 0 {
		k.dues.add(due{at: now + k.cfg.Bound + livenessEvery(k.cfg.Bound), kind: dueLiveness})
	}
	if p, ok := k.cfg.Next.(sim.PhaseObserver); ok {
		p.Healed(now)
	}
}

// DeviceUp implements sim.DeviceObserver only to pass the devices' view on
// to the next observer: the checker judges the broker by what it was sent
// and what it sent.
func (k *Checker) DeviceUp(now broker.Time, clientID string, sessionPresent bool) {
	if d, ok := k.cfg.Next.(sim.DeviceObserver); ok {
		d.DeviceUp(now, clientID, sessionPresent)
	}
}

// DeviceDown implements sim.DeviceObserver, passing the call on.
func (k *Checker) DeviceDown(now broker.Time, clientID string) {
	if d, ok := k.cfg.Next.(sim.DeviceObserver); ok {
		d.DeviceDown(now, clientID)
	}
}

// The checker chains every optional observer interface of the simulator.
var (
	_ sim.Observer       = (*Checker)(nil)
	_ sim.PhaseObserver  = (*Checker)(nil)
	_ sim.DeviceObserver = (*Checker)(nil)
)
