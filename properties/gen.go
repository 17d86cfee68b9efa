package properties

import (
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"pgregory.net/rapid"
)

// Scope bounds what OpGen draws.
type Scope struct {
	Clients int      // client ids c0..c(Clients-1)
	Topics  []string // topic names to publish on
	Filters []string // topic filters to subscribe to (wildcards included)
	Steps   []time.Duration
	MaxQoS  packet.QoS // highest QoS requested (2 exercises the QoS 2 handling)
	Burst   int        // most messages in one OpPublish
}

// DefaultScope is the rapid test's scope: three clients, wildcards, time
// steps that cross the pacing (500 ms, 1 s), keepalive (1.5 x 10 s), retry
// (30 s), expiry (1 h + 30 min sweep, 2 h, 24 h) and TTL (24 h) boundaries,
// and bursts that overflow Tencent's 150-message queue.
var DefaultScope = Scope{
	Clients: 3,
	Topics:  []string{"a", "b", "a/b"},
	Filters: []string{"a", "b", "a/b", "+", "#", "a/+", "a/#"},
	Steps: []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second, 15 * time.Second,
		30 * time.Second, 30 * time.Minute, time.Hour, 2 * time.Hour, 24 * time.Hour},
	MaxQoS: 2,
	Burst:  160,
}

// DeadlineOffsets are where an OpDeadline lands relative to the next
// pending deadline (a TTL, a session expiry with its sweep, a retry, a
// pacing tick, a keepalive): exactly on it, just before it by a nanosecond
// or a millisecond, and just after it. Random durations almost never land
// there; these do, whatever the policy and the state.
var DeadlineOffsets = []time.Duration{0, -time.Nanosecond, -time.Millisecond, time.Nanosecond}

// OpGen draws operations within s. Kinds are weighted towards the ones that
// move messages; rapid shrinks towards connect (the first kind), client 0,
// the first topic and small counts.
func OpGen(s Scope) *rapid.Generator[Op] {
	return rapid.Custom(func(t *rapid.T) Op {
		kind := rapid.SampledFrom([]OpKind{OpConnect, OpConnect, OpSubscribe, OpSubscribe, OpUnsubscribe,
			OpPublish, OpPublish, OpPublish, OpRepublish, OpRelease, OpAck, OpAck, OpAck, OpPing,
			OpDisconnect, OpLose, OpAdvance, OpAdvance, OpViolate, OpDeadline, OpDeadline, OpCrash}).Draw(t, "kind")
		op := Op{Kind: kind}
		switch kind {
		case OpAdvance, OpCrash:
			op.D = rapid.SampledFrom(s.Steps).Draw(t, "d")
			return op
		case OpDeadline:
			op.D = rapid.SampledFrom(DeadlineOffsets).Draw(t, "offset")
			return op
		case OpConnect:
			op.Clean = rapid.Bool().Draw(t, "clean")
			op.Will = rapid.Bool().Draw(t, "will")
		case OpSubscribe, OpUnsubscribe:
			op.Filter = rapid.SampledFrom(s.Filters).Draw(t, "filter")
			op.QoS = packet.QoS(rapid.IntRange(0, int(s.MaxQoS)).Draw(t, "qos"))
			if rapid.IntRange(0, 3).Draw(t, "two filters?") == 0 {
				op.Filter2 = rapid.SampledFrom(s.Filters).Draw(t, "filter2")
			}
		case OpPublish:
			op.Topic = rapid.SampledFrom(s.Topics).Draw(t, "topic")
			op.QoS = packet.QoS(rapid.IntRange(0, int(s.MaxQoS)).Draw(t, "qos"))
			op.Count = 1
			op.Retain = rapid.IntRange(0, 4).Draw(t, "retain?") == 0
			if rapid.IntRange(0, 9).Draw(t, "burst?") == 0 {
				op.Count = rapid.IntRange(1, s.Burst).Draw(t, "count")
			}
		case OpAck:
			op.Index = rapid.IntRange(0, 3).Draw(t, "index")
		}
		op.Client = rapid.IntRange(0, s.Clients-1).Draw(t, "client")
		if kind == OpConnect && op.Client == 0 {
			// Only c0 uses keepalive: two keepalive timeouts at one instant
			// may be handled in either order, and their Wills with them.
			op.KeepAlive = rapid.SampledFrom([]uint16{0, 10}).Draw(t, "ka")
		}
		return op
	})
}

// CountersGen draws the counters a run starts with: half the time near the
// 16-bit packet-id wrap (the last ids before 65535, so a few messages with
// withheld acknowledgements wrap to 1 while earlier ids are in flight), a
// quarter anywhere, a quarter fresh. It shrinks towards a fresh broker.
func CountersGen() *rapid.Generator[Counters] {
	return rapid.Custom(func(t *rapid.T) Counters {
		return Counters{PacketIDBase: pidStart(t, "session pid"), ClientPacketID: pidStart(t, "client pid")}
	})
}

// pidStart draws where a packet-id counter starts.
func pidStart(t *rapid.T, label string) uint16 {
	switch rapid.IntRange(0, 3).Draw(t, label+" where") {
	case 0:
		return 0
	case 1, 2: // 65535 itself makes the very next id skip 0 [MQTT-2.3.1-1]
		return uint16(65535 - rapid.IntRange(0, 8).Draw(t, label+" before wrap"))
	}
	return uint16(rapid.IntRange(0, 65535).Draw(t, label))
}
