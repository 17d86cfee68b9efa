package check

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

// Finish closes the run at virtual time end: it settles the last step,
// checks the deadlines that passed, then conservation (invariant 15: every
// copy owed is delivered, dropped with a reason or still pending, none
// unaccounted) and liveness (invariant 16). It returns the first violation,
// or nil.
func (k *Checker) Finish(end time.Duration) *Violation {
	k.settleStep()
	k.now = end
	k.expireDues(end)
	if k.first != nil {
		return k.first
	}
	var found []*Violation
	for _, m := range k.msgs {
		if m.seen != m.owed {
			found = append(found, &Violation{Kind: Safety, At: end, Client: m.publisher, Inv: broker.InvConservation,
				Source: "(invariant 15)",
				Detail: fmt.Sprintf("message %d owes %d copies, the broker reported %d", m.id, m.owed, m.seen)})
		}
	}
	if k.promised(broker.InvConservation) {
		k.pickFirst(found)
	}
	if k.first == nil && k.cfg.Bound > 0 && k.promised(broker.InvLiveness) {
		k.pickFirst(k.overdue(end))
	}
	return k.first
}

// overdue returns a liveness violation for every copy still pending at end
// although it was owed since before end-Bound in the healed phase.
func (k *Checker) overdue(end time.Duration) []*Violation {
	var found []*Violation
	for _, r := range k.copies {
		if r.done() {
			continue
		}
		since := max(k.cfg.HealAt, r.m.at)
		if end-since <= k.cfg.Bound {
			continue
		}
		state := "queued"
		if r.inflight {
			state = "in flight, packet id " + itoa(uint64(r.pid))
		}
		found = append(found, &Violation{Kind: Liveness, At: since + k.cfg.Bound, Client: r.cl.id, Inv: broker.InvLiveness,
			Source: "(invariant 16)", Recent: r.cl.recentLines(),
			Detail: fmt.Sprintf("QoS %d message %d (published %v) still %s %v after the healed phase began (bound %v)",
				r.qos, r.m.id, r.m.at, state, end-k.cfg.HealAt, k.cfg.Bound)})
	}
	return found
}

// pickFirst keeps the earliest of found by (time, client, detail), so that
// map iteration order never chooses the report.
func (k *Checker) pickFirst(found []*Violation) {
	if len(found) == 0 || k.first != nil {
		return
	}
	k.first = slices.MinFunc(found, func(a, b *Violation) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Client, b.Client), cmp.Compare(a.Detail, b.Detail))
	})
}
