package check

import (
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/model"
)

// dueKind names a deadline the checker holds the broker to.
type dueKind uint8

const (
	// dueKeepalive: the connection must be gone 1.5 x keepalive after its
	// last packet [MQTT-3.1.2-24].
	dueKeepalive dueKind = iota + 1
	// dueExpiry: the offline session must have expired by disconnect + E +
	// tolerance (invariant 10).
	dueExpiry
	// dueLiveness: a scan for copies pending longer than the bound in the
	// healed phase (invariant 16), repeated every quarter bound.
	dueLiveness
)

// due is one deadline. Entries are hints: when one fires, it is checked
// against the current state, so superseded entries are harmless.
type due struct {
	at        time.Duration
	seq       uint64
	kind      dueKind
	conn      *conn
	client    *client
	gen       uint32
	offlineAt time.Duration
}

// dueHeap is a min-heap of deadlines ordered by (at, seq), typed so that
// pushing and popping do not box each entry in an interface.
type dueHeap struct {
	items []due
	seq   uint64
}

func (h *dueHeap) Len() int { return len(h.items) }

func (h *dueHeap) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// add schedules d.
func (h *dueHeap) add(d due) {
	h.seq++
	d.seq = h.seq
	h.items = append(h.items, d)
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// pop removes and returns the earliest deadline.
func (h *dueHeap) pop() due {
	n := len(h.items) - 1
	d := h.items[0]
	h.items[0] = h.items[n]
	h.items[n] = due{}
	h.items = h.items[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r := l + 1; r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return d
}

// expireDues checks every deadline that passed strictly before now: the
// broker had until that instant, and the simulator steps it at it.
func (k *Checker) expireDues(now time.Duration) {
	for k.dues.Len() > 0 && k.dues.items[0].at < now {
		d := k.dues.pop()
		switch d.kind {
		case dueKeepalive:
			c := d.conn
			c.kaArmed = false
			at, _ := model.KeepaliveDeadline(c.lastRecv, c.keepalive)
			switch {
			case !c.accepted || c.ended:
			case at > d.at:
				k.armKeepalive(c) // a packet came since: the deadline moved
			default:
				k.failAt(Safety, d.at, c.client, broker.InvKeepalive, "[MQTT-3.1.2-24]",
					"conn "+itoa(uint64(c.id))+" still open after 1.5 x keepalive ("+(c.keepalive*3/2).String()+") of silence")
			}
		case dueLiveness:
			k.livenessScan(d.at)
		case dueExpiry:
			cl := d.client
			if cl.exists && !cl.online && cl.gen == d.gen && cl.offlineAt == d.offlineAt {
				k.failAt(Safety, d.at, cl, broker.InvExpiry, k.expirySource(),
					"session offline since "+cl.offlineAt.String()+" has not expired by "+d.at.String())
			}
		}
	}
}

// expirySource names where the policy's expiry tolerance comes from.
func (k *Checker) expirySource() string {
	if k.cfg.Policy.ExpirySweep > 0 {
		return "(invariant 10; " + k.cfg.Policy.Name + " expires up to " + k.cfg.Policy.ExpirySweep.String() +
			" late, e.g. AWS IoT Core: \"up to 30 minutes longer (but not less)\")"
	}
	return "(invariant 10)"
}

// livenessScan reports the earliest copy overdue at time at, if any, and
// schedules the next scan: liveness fails as the run goes, not only at
// its end.
func (k *Checker) livenessScan(at time.Duration) {
	if k.first != nil || !k.promised(broker.InvLiveness) {
		return
	}
	k.pickFirst(k.overdue(at))
	k.dues.add(due{at: at + livenessEvery(k.cfg.Bound), kind: dueLiveness})
}

// livenessEvery is the interval between liveness scans: a quarter of the
// bound, so a copy is reported at most a quarter bound late.
func livenessEvery(bound time.Duration) time.Duration { return max(bound/4, time.Second) }
