package check

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// brokerCrash returns the broker-crash scenario scaled to n devices.
func brokerCrash(t *testing.T, n int) scenario.Scenario {
	t.Helper()
	sc, err := scenario.Builtin("broker-crash")
	if err != nil {
		t.Fatal(err)
	}
	return sc.Scaled(n)
}

// TestBrokerCrashPasses runs the broker-crash scenario under every profile:
// the core with its simulated disk keeps every promise across the crashes
// (the checker holds it to them), the crashes happened and lost unsynced
// steps, copies pending at a crash were restored and delivered, and the
// books balance: copies = delivered + dropped + pending.
func TestBrokerCrashPasses(t *testing.T) {
	for _, name := range broker.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			var lost, crossed int64
			for seed := uint64(1); seed <= 3; seed++ {
				res, v, err := Run(brokerCrash(t, 24), profile(t, name), seed, sim.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if v != nil {
					t.Fatalf("seed %d: %v", seed, v)
				}
				m := &res.Metrics
				if m.Crashes < 4 {
					t.Errorf("seed %d: %d crashes, want the 4 scripted ones at least", seed, m.Crashes)
				}
				if m.Copies != m.Delivered+m.DroppedTotal+m.Pending {
					t.Errorf("seed %d: copies %d != delivered %d + dropped %d + pending %d", seed, m.Copies, m.Delivered, m.DroppedTotal, m.Pending)
				}
				if m.CrashReowed != 0 {
					t.Errorf("seed %d: %d copies finished before a crash came back", seed, m.CrashReowed)
				}
				lost += m.CrashLostSteps
				crossed += m.LatencyCrash.Count
			}
			if lost == 0 || crossed == 0 {
				t.Errorf("no unsynced step lost (%d) or no copy delivered across a crash (%d): the crashes missed", lost, crossed)
			}
		})
	}
}

// recoverWith returns a sim.Options.Recover that edits a copy of the
// image before recovering from it, as a recovery with a bug would read it.
func recoverWith(edit func(*broker.Image)) func(broker.Config, *broker.Image, broker.Time) (sim.Core, broker.Record, error) {
	return func(cfg broker.Config, img *broker.Image, now broker.Time) (sim.Core, broker.Record, error) {
		img = img.Clone()
		edit(img)
		b, rec, err := broker.Recover(cfg, img, now)
		return b, rec, err
	}
}

// firstViolation runs broker-crash for seeds 1..n and returns the first
// violation.
func firstViolation(t *testing.T, pol broker.Policy, n uint64, opts sim.Options) *Violation {
	t.Helper()
	for seed := uint64(1); seed <= n; seed++ {
		_, v, err := Run(brokerCrash(t, 24), pol, seed, opts)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			return v
		}
	}
	return nil
}

// TestRecoveryForgettingInFlightCopiesIsCaught: a recovery that loses the
// copies in flight (sent, not yet acknowledged) is a lost acknowledged
// message.
func TestRecoveryForgettingInFlightCopiesIsCaught(t *testing.T) {
	opts := sim.Options{Recover: recoverWith(func(img *broker.Image) {
		for _, s := range img.Sessions {
			for id, cp := range s.Copies {
				if cp.Sent {
					delete(s.Copies, id)
				}
			}
		}
	})}
	v := firstViolation(t, profile(t, "hivemq"), 5, opts)
	if v == nil || v.Inv != broker.InvQoSGuarantee || !strings.Contains(v.Detail, "lost in the crash") {
		t.Fatalf("violation %v, want in-flight copies lost in the crash (invariant 6)", v)
	}
}

// TestExpiryClockRestartingAtBootIsCaught: a recovery that times every
// session's expiry from the boot resurrects sessions whose expiry passed.
func TestExpiryClockRestartingAtBootIsCaught(t *testing.T) {
	opts := sim.Options{Recover: recoverWith(func(img *broker.Image) {
		for _, s := range img.Sessions {
			s.Online = true // offline from now on: the clock restarts at the boot
		}
	})}
	v := firstViolation(t, profile(t, "aws"), 5, opts)
	if v == nil || v.Inv != broker.InvExpiry {
		t.Fatalf("violation %v, want a late expiry (invariant 10)", v)
	}
}

// TestAcknowledgedBeforeDurableIsCaught: a device that got its PUBACK for
// a message the checker never saw accepted (the step was not durable when
// the broker crashed) is a lost acknowledged message; one whose message
// was accepted is not.
func TestAcknowledgedBeforeDurableIsCaught(t *testing.T) {
	pol := profile(t, "hivemq")
	pub := func(uid uint64) *packet.Publish {
		return &packet.Publish{QoS: 1, PacketID: 9, Topic: "t", Payload: binary.BigEndian.AppendUint64(nil, uid)}
	}
	for _, seen := range []bool{true, false} {
		k := New(Config{Policy: pol, Crashes: true})
		p := pub(77)
		if payloadID(p.Payload) != 77 {
			t.Fatalf("payload id %d, want 77: the test's payload encoding is stale", payloadID(p.Payload))
		}
		k.Step(&broker.Record{At: time.Second, Input: broker.Input{Kind: broker.InOpen, Conn: 1}})
		if seen {
			k.Step(&broker.Record{At: time.Second, Input: broker.Input{Kind: broker.InPacket, Conn: 1, Packet: p}})
		}
		k.Acked(2*time.Second, "dev", p)
		k.Crashed(3 * time.Second)
		v := k.Violation()
		if seen && v != nil {
			t.Fatalf("accepted before its PUBACK, yet: %v", v)
		}
		if !seen && (v == nil || !strings.Contains(v.Detail, "not durable")) {
			t.Fatalf("violation %v, want an acknowledgement before durability", v)
		}
	}
}
