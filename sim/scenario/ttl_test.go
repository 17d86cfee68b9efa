package scenario_test

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// ttlWatch follows the core's events and counts the copies dropped with
// reason ttl while their subscriber is online again on a resumed session,
// and when publications were accepted.
type ttlWatch struct {
	resumedAt map[string]broker.Time // online clients on a resumed session: since when
	online    map[string]bool
	drops     int           // ttl drops while online after a resume
	offline   int           // ttl drops while offline
	first     time.Duration // time from the resume to the first such drop
	firstSeen bool
	published int         // publications accepted,
	pubFirst  broker.Time // the first at
	pubLast   broker.Time // and the last at
}

func (w *ttlWatch) Step(rec *broker.Record) {
	for ev := range rec.Events() {
		switch ev.Kind {
		case broker.EvConnected:
			w.online[ev.ClientID] = true
			if ev.SessionPresent {
				w.resumedAt[ev.ClientID] = ev.At
			}
		case broker.EvDisconnected:
			w.online[ev.ClientID] = false
			delete(w.resumedAt, ev.ClientID)
		case broker.EvPublished:
			if w.published++; w.published == 1 {
				w.pubFirst = ev.At
			}
			w.pubLast = ev.At
		case broker.EvDropped:
			if ev.Reason != broker.ReasonTTL {
				continue
			}
			at, resumed := w.resumedAt[ev.ClientID]
			if !w.online[ev.ClientID] || !resumed {
				w.offline++
				continue
			}
			if w.drops++; !w.firstSeen {
				w.first, w.firstSeen = ev.At-at, true
			}
		}
	}
}

func (w *ttlWatch) Received(broker.Time, string, *packet.Publish) {}

// TestTTLEdge runs the ttl-edge built-in under tencent (24 h TTL, 24 h
// session expiry, one stored message per 500 ms): the devices come back
// while the burst queued 24 h earlier is still being replayed, so copies
// are dropped with reason ttl while their subscriber is online again, and
// the in-simulation checker holds the core to invariant 9 (no stored copy
// sent past its TTL) and the drop rules at that edge.
func TestTTLEdge(t *testing.T) {
	sc, err := scenario.Builtin("ttl-edge")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := broker.Profile("tencent")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 2; seed++ {
		w := &ttlWatch{resumedAt: map[string]broker.Time{}, online: map[string]bool{}}
		res, v, err := check.Run(sc, pol, seed, sim.Options{Observer: w})
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			t.Fatalf("seed %d: the checker failed: %v", seed, v)
		}
		if res.Truncated {
			t.Fatalf("seed %d: run truncated: %v", seed, res)
		}
		t.Logf("seed %d: %d ttl drops while online after a resume (first %v after it), %d while offline; %v", seed, w.drops, w.first, w.offline, res)
		// The backend's publish_window: every command is accepted inside
		// it, give or take a data-centre link's delay.
		win := sc.Groups[1].PublishWindow
		if w.published == 0 || w.pubFirst < win.Start || w.pubLast > win.Start+win.For+100*time.Millisecond {
			t.Errorf("seed %d: %d publications accepted from %v to %v, want them all in the window %+v", seed, w.published, w.pubFirst, w.pubLast, *win)
		}
		if w.drops == 0 {
			t.Errorf("seed %d: no copy was dropped with reason ttl while its subscriber was online after a resume", seed)
		}
	}
}
