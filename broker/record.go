package broker

import (
	"iter"
	"strconv"
	"strings"
)

// Record is one step of the core: the instant, the input and every output
// the input caused, in the order they must be performed. It is the unit every
// consumer of the core reads (the simulator's ledger and checker, the TCP
// server's metrics and history, the golden traces), like one raft Ready:
// observers see where a step begins and ends, and need no payload to tell
// what caused what (see Cause).
//
// Outputs aliases the broker's output buffer: a Record is valid until the
// next Step, and a consumer that keeps one must Clone it.
type Record struct {
	At      Time
	Input   Input
	Outputs []Output
	// Changes are the step's changes to the durable state, in order, with
	// Config.Durable (see Change). Every output waits for them to be durable.
	Changes []Change
}

// Clone returns a copy of r whose Outputs no later Step overwrites (the
// packets are shared: Config.ReusePackets drivers must copy those too).
func (r Record) Clone() Record {
	r.Outputs = append([]Output(nil), r.Outputs...)
	r.Changes = append([]Change(nil), r.Changes...)
	return r
}

// Events yields the step's observation events, in order.
func (r *Record) Events() iter.Seq[*Event] {
	return func(yield func(*Event) bool) {
		for i := range r.Outputs {
			if o := &r.Outputs[i]; o.Kind == OutEvent && !yield(&o.Event) {
				return
			}
		}
	}
}

// String describes the step: a first line "<at> <- <input>", then one line
// "<at> -> <output>" per output, as traces and golden files show it.
func (r Record) String() string {
	var b strings.Builder
	r.write(&b)
	return strings.TrimSuffix(b.String(), "\n")
}

// write appends the record's lines to b, each ending in a newline.
func (r Record) write(b *strings.Builder) {
	at := r.At.String()
	b.WriteString(at + " <- " + r.Input.String() + "\n")
	for _, o := range r.Outputs {
		b.WriteString(at + " -> " + o.String() + "\n")
	}
}

// CauseKind says what made the broker accept a message.
type CauseKind uint8

// Cause kinds.
const (
	CauseNone CauseKind = iota
	// CausePublish: a PUBLISH received on Cause.Conn with Cause.PacketID (0
	// at QoS 0). It is the input of the step that carries the event.
	CausePublish
	// CauseWill: the Will of the session of the event's ClientID, whose
	// connection Cause.Conn ended without DISCONNECT [MQTT-3.1.2-8].
	CauseWill
	// CauseRetained: a retained message replayed because of the SUBSCRIBE
	// with Cause.PacketID received on Cause.Conn [MQTT-3.3.1-6].
	CauseRetained
)

var causeKindNames = [...]string{"none", "publish", "will", "retained"}

// String returns the kind's name, e.g. "will".
func (k CauseKind) String() string { return enumName(causeKindNames[:], int(k), "cause") }

// Cause names what made the broker accept a message: set on EvPublished,
// EvWillPublished and on the EvDropped of a publication refused as a whole.
type Cause struct {
	Conn     ConnID
	PacketID uint16
	Kind     CauseKind
}

// String describes the cause, e.g. "publish@3#7" (connection 3, packet id
// 7), "will@3" or "retained@3#2".
func (c Cause) String() string {
	s := c.Kind.String() + "@" + strconv.FormatUint(uint64(c.Conn), 10)
	if c.PacketID != 0 {
		s += "#" + strconv.Itoa(int(c.PacketID))
	}
	return s
}
