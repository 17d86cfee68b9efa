package sim

import (
	"fmt"
	"io"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
)

// Core is the broker core as the simulator drives it; *broker.Broker
// implements it. Tests may substitute their own.
type Core interface {
	Step(now broker.Time, in broker.Input) broker.Record
	NextDeadline() (broker.Time, bool)
}

// Observer sees everything a run does, as it happens, in order: a checker
// can follow the run step by step. Its methods must not keep the record or
// the packets (they are reused) and must not block.
type Observer interface {
	// Step is called with the record of each core step (its instant, input
	// and every output in order), before the simulator performs the
	// outputs: an observer sees where each step begins and ends.
	Step(rec *broker.Record)
	// Received is called when the application of the device with clientID
	// receives p (after client-side QoS 2 de-duplication).
	Received(now broker.Time, clientID string, p *packet.Publish)
}

// PhaseObserver is optionally implemented by an Observer that wants to
// know when the healed phase starts (faults stop, every device powers on).
type PhaseObserver interface {
	Healed(now broker.Time)
}

// DeviceObserver is optionally implemented by an Observer that wants the
// devices' own view of their connections: DeviceUp when a device's session
// is up (its CONNACK accepted), DeviceDown when the device loses or closes
// its connection, or powers off.
type DeviceObserver interface {
	DeviceUp(now broker.Time, clientID string, sessionPresent bool)
	DeviceDown(now broker.Time, clientID string)
}

// CrashObserver is optionally implemented by an Observer that follows the
// broker across crashes (scenario crash events, the crashes_per_day knob).
// With crashes possible, a step is observed when its durable changes are
// on the simulated disk, just before its outputs are performed; a crash
// loses the steps not yet durable, and the observer never sees them.
type CrashObserver interface {
	// Crashed: the broker crashed at now. Every connection is gone; the
	// next step observed is the recovery's (Input broker.InRecover).
	Crashed(now broker.Time)
	// Acked: device clientID received the acknowledgement (PUBACK, or
	// PUBREC at QoS 2) of its PUBLISH p.
	Acked(now broker.Time, clientID string, p *packet.Publish)
}

// Progress reports how far a run has come, in virtual time.
type Progress struct {
	Now, End time.Duration
	Events   int64
}

// String describes progress in one line, e.g. "3h0m0s/24h30m0s 12.2% 3100000 events".
func (p Progress) String() string {
	pct := 0.0
	if p.End > 0 {
		pct = 100 * float64(p.Now) / float64(p.End)
	}
	return fmt.Sprintf("%v/%v %.1f%% %d events", p.Now, p.End, pct, p.Events)
}

// Options tune a run without changing its scenario.
type Options struct {
	// Wire passes every packet through the byte codec (Append, then
	// packet.Decode) instead of handing decoded packets over.
	Wire bool
	// Observer, when set, sees every input, output and receipt.
	Observer Observer
	// Progress, when set, is called at every metrics sample.
	Progress func(Progress)
	// NewCore builds the core (default: broker.New).
	NewCore func(broker.Config) (Core, error)
	// MaxEvents stops a run after this many events (0: no limit); the
	// Result then says Truncated.
	MaxEvents int64
	// Trace, when set, receives the run as text, one line per engine
	// event, core input and output, and device action, each in its String
	// form and prefixed with the virtual time. It is for reading a failing
	// seed; it slows a run down a lot. Same seed, same bytes.
	Trace io.Writer
	// Stop, when set, is polled before every event; a run stops as soon as
	// it returns true (e.g. a checker has failed), and the Result says
	// Truncated.
	Stop func() bool
	// Concurrent runs everything that watches the run (the ledger behind
	// the metrics, and Observer) on a goroutine of its own, fed with the
	// same calls in the same order in batches: same metrics, same
	// observations, with the watching off the simulation's critical path
	// when a core is free. The Observer then runs on that goroutine, and a
	// Stop that depends on it sees its verdict some events late.
	Concurrent bool
	// Recover rebuilds the core after a crash (default: broker.Recover).
	Recover func(broker.Config, *broker.Image, broker.Time) (Core, broker.Record, error)
}

// Result is what a run produced.
type Result struct {
	Metrics Metrics
	// Digest is a 64-bit hash over every engine event and every core
	// output of the run (see digest): same seed and scenario, same digest.
	Digest uint64
	// Events is the number of engine events processed, and EventsByKind
	// the same by event kind ("arrive", "device-timer", ...).
	Events       int64
	EventsByKind map[string]int64
	// Knobs are the network fault knobs in force (drawn when swarm).
	Knobs netsim.Knobs
	// Truncated is set when Options.MaxEvents or Options.Stop ended the
	// run early, or when it stalled.
	Truncated bool
	// Stalled is set when virtual time stopped passing: StallEvents events
	// in a row at the instant StalledAt, as when the core or a device asks
	// to be woken at an instant already reached, again and again. The run
	// ends there instead of spinning for ever; check.Run reports it as a
	// liveness failure.
	Stalled   bool
	StalledAt time.Duration
}

// StallEvents is how many events in a row at one virtual instant make a run
// stalled. Legitimate bursts at one instant (a fan-out, a reconnect storm on
// one tick) are orders of magnitude smaller.
const StallEvents = 1 << 20

// DigestHex returns the digest as 16 hex digits.
func (r *Result) DigestHex() string { return fmt.Sprintf("%016x", r.Digest) }

// String summarises the result in one line.
func (r *Result) String() string {
	m := &r.Metrics
	return fmt.Sprintf("%s/%s seed=%d events=%d published=%d delivered=%d dropped=%d pending=%d digest=%s",
		m.Scenario, m.Profile, m.Seed, r.Events, m.Published, m.Delivered, m.DroppedTotal, m.Pending, r.DigestHex())
}
