package broker

import (
	"strconv"
	"strings"
)

var inputKindNames = [...]string{"?", "open", "packet", "lost", "malformed", "deadline", "recover"}

// String returns the kind's short name, e.g. "packet".
func (k InputKind) String() string { return enumName(inputKindNames[:], int(k), "input") }

var outputKindNames = [...]string{"?", "send", "close", "event"}

// String returns the kind's short name, e.g. "send".
func (k OutputKind) String() string { return enumName(outputKindNames[:], int(k), "output") }

var eventKindNames = [...]string{"?", "connected", "refused", "disconnected", "session-created",
	"session-resumed", "session-taken-over", "session-discarded", "session-expired", "published",
	"enqueued", "sent", "delivered", "dropped", "will-published", "retained", "subscribed",
	"unsubscribed", "protocol-error", "session-restored", "copy-restored"}

// String returns the kind's name in kebab case, e.g. "session-resumed".
func (k EventKind) String() string { return enumName(eventKindNames[:], int(k), "event") }

var reasonNames = [...]string{"none", "queue-full", "ttl", "session-expired", "session-discarded",
	"qos0-offline", "not-authorized", "qos-unsupported", "retry-exhausted", "client-disconnect",
	"conn-lost", "keepalive", "takeover", "protocol"}

// String returns the reason in kebab case, e.g. "queue-full".
func (r Reason) String() string { return enumName(reasonNames[:], int(r), "reason") }

// enumName returns names[i], or kind(i) when i is out of range.
func enumName(names []string, i int, kind string) string {
	if i > 0 && i < len(names) || (i == 0 && names[0] != "?") {
		return names[i]
	}
	return kind + "(" + strconv.Itoa(i) + ")"
}

// String describes the input on one line, e.g. "conn 3 packet PUBACK id=7".
func (in Input) String() string {
	var b strings.Builder
	if in.Kind != InDeadline {
		b.WriteString("conn " + strconv.FormatUint(uint64(in.Conn), 10) + " ")
	}
	b.WriteString(in.Kind.String())
	if in.Kind == InPacket && in.Packet != nil {
		b.WriteString(" " + in.Packet.String())
	}
	if in.Err != nil {
		b.WriteString(" err=" + strconv.Quote(in.Err.Error()))
	}
	return b.String()
}

// String describes the output on one line, e.g. "conn 3 send PUBACK id=7",
// "conn 3 close" or "event sent c=dev-1 msg=4 ...".
func (o Output) String() string {
	switch o.Kind {
	case OutSend:
		s := "<nil>"
		if o.Packet != nil {
			s = o.Packet.String()
		}
		return "conn " + strconv.FormatUint(uint64(o.Conn), 10) + " send " + s
	case OutClose:
		return "conn " + strconv.FormatUint(uint64(o.Conn), 10) + " close"
	case OutEvent:
		return "event " + o.Event.String()
	}
	return o.Kind.String()
}

// String describes the event on one line with its non-zero fields in a fixed
// order, e.g. "1.5s sent c=dev-1 msg=4 topic=a/b q1 id=1 dup stored from=pub".
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.At.String() + " " + e.Kind.String())
	if e.Conn != 0 {
		b.WriteString(" conn=" + strconv.FormatUint(uint64(e.Conn), 10))
	}
	if e.ClientID != "" {
		b.WriteString(" c=" + e.ClientID)
	}
	if e.Msg != 0 {
		b.WriteString(" msg=" + strconv.FormatUint(uint64(e.Msg), 10))
	}
	if e.Topic != "" {
		b.WriteString(" topic=" + e.Topic)
	}
	if e.Kind == EvPublished || e.Kind == EvSent || e.Kind == EvDelivered || e.Kind == EvDropped ||
		e.Kind == EvEnqueued || e.Kind == EvSubscribed || e.Kind == EvWillPublished {
		b.WriteString(" " + e.QoS.String())
	}
	if e.PacketID != 0 {
		b.WriteString(" id=" + strconv.Itoa(int(e.PacketID)))
	}
	writeFlag(&b, e.Dup, "dup")
	writeFlag(&b, e.Stored, "stored")
	writeFlag(&b, e.Retain, "retain")
	if e.Kind == EvConnected {
		b.WriteString(" sp=" + strconv.FormatBool(e.SessionPresent))
	}
	writeFlag(&b, e.Clean, "clean")
	if e.Kind == EvPublished {
		b.WriteString(" copies=" + strconv.Itoa(e.Copies))
	}
	if e.Kind == EvRefused {
		b.WriteString(" rc=" + e.ReturnCode.String())
	}
	if e.Reason != ReasonNone {
		b.WriteString(" reason=" + e.Reason.String())
	}
	if e.Publisher != "" && e.Publisher != e.ClientID {
		b.WriteString(" from=" + e.Publisher)
	}
	if e.Cause.Kind != CauseNone {
		b.WriteString(" cause=" + e.Cause.String())
	}
	return b.String()
}

// flag writes " name" when on.
func writeFlag(b *strings.Builder, on bool, name string) {
	if on {
		b.WriteString(" " + name)
	}
}

var qos2Names = [...]string{"downgrade", "refuse", "ignore"}

// String returns the handling's name, e.g. "ignore".
func (h QoS2Handling) String() string {
	if h >= 0 && int(h) < len(qos2Names) {
		return qos2Names[h]
	}
	return "qos2(" + strconv.Itoa(int(h)) + ")"
}

var overflowNames = [...]string{"drop-newest", "drop-oldest", "drop-oldest-qos0-first"}

// String returns the victim's name, e.g. "drop-newest".
func (o Overflow) String() string {
	if o >= 0 && int(o) < len(overflowNames) {
		return overflowNames[o]
	}
	return "overflow(" + strconv.Itoa(int(o)) + ")"
}

// String lists the invariant numbers in the set, e.g. "1,2,3" ("none" when
// empty, "all" when it holds all eighteen).
func (s Invariants) String() string {
	switch s {
	case 0:
		return "none"
	case AllInvariants:
		return "all"
	}
	var b strings.Builder
	for i := InvSessionPresent; i <= InvWill; i++ {
		if s.Has(i) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(i)))
		}
	}
	return b.String()
}

// String describes the policy on one line with every field, e.g.
// "tencent maxqos=1 qos2=downgrade qos0offline=false cap=150 ...".
func (p Policy) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	for _, f := range policyFields[1:] {
		b.WriteString(" " + f + "=" + p.fieldValue(f))
	}
	return b.String()
}
