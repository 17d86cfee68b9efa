package properties

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
)

// OpKind names what a client (or the clock) does in one operation.
type OpKind uint8

// Operation kinds.
const (
	OpConnect     OpKind = iota + 1 // open a new connection and CONNECT (a takeover if already online)
	OpSubscribe                     // SUBSCRIBE to Filter at QoS
	OpUnsubscribe                   // UNSUBSCRIBE from Filter
	OpPublish                       // PUBLISH Count messages on Topic at QoS
	OpRepublish                     // re-send the oldest unreleased QoS 2 PUBLISH with DUP=1
	OpRelease                       // PUBREL the oldest unreleased QoS 2 PUBLISH
	OpAck                           // acknowledge the Index-th pending delivery (PUBACK, PUBREC or PUBCOMP)
	OpPing                          // PINGREQ
	OpDisconnect                    // DISCONNECT (graceful)
	OpLose                          // the connection breaks (abrupt)
	OpAdvance                       // time passes by D, firing every deadline on the way
	OpViolate                       // send a second CONNECT, a protocol violation [MQTT-3.1.0-2]
	OpDeadline                      // time passes to the next pending deadline plus D (D <= 0: just before or on it)
	OpCrash                         // the broker crashes between steps and restarts D later from its durable state
)

var opNames = [...]string{"?", "connect", "subscribe", "unsubscribe", "publish", "republish",
	"release", "ack", "ping", "disconnect", "lose", "advance", "violate", "deadline", "crash"}

// String returns the kind's name.
func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("op(%d)", k)
}

// Op is one operation of a client (Client indexes the client ids c0, c1, ...)
// or of the clock. Fields not meaningful for a kind are zero.
type Op struct {
	Kind      OpKind
	Client    int
	Clean     bool          // OpConnect
	KeepAlive uint16        // OpConnect, seconds
	Will      bool          // OpConnect: with a Will on topic "will" at QoS 1
	Filter    string        // OpSubscribe, OpUnsubscribe
	Filter2   string        // OpSubscribe, OpUnsubscribe: a second filter in the same packet ("" for none)
	Topic     string        // OpPublish
	QoS       packet.QoS    // OpSubscribe, OpPublish
	Count     int           // OpPublish: how many messages (at least 1)
	Retain    bool          // OpPublish: RETAIN=1
	Index     int           // OpAck: which pending delivery, modulo their number
	D         time.Duration // OpAdvance; OpDeadline: the offset from the deadline (-1ms, -1ns, 0, +1ns)
}

// String describes the operation on one line, e.g. "c1 publish a/b q1 x3".
func (op Op) String() string {
	switch {
	case op.Kind == OpAdvance:
		return "advance " + op.D.String()
	case op.Kind == OpDeadline && op.D < 0:
		return "advance to deadline" + op.D.String()
	case op.Kind == OpDeadline:
		return "advance to deadline+" + op.D.String()
	case op.Kind == OpCrash:
		return "crash, restart after " + op.D.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "c%d %s", op.Client, op.Kind)
	switch op.Kind {
	case OpConnect:
		fmt.Fprintf(&b, " clean=%v ka=%d will=%v", op.Clean, op.KeepAlive, op.Will)
	case OpSubscribe:
		fmt.Fprintf(&b, " %s %s", op.Filter, op.QoS)
		if op.Filter2 != "" {
			fmt.Fprintf(&b, " %s q%d", op.Filter2, 2-op.QoS)
		}
	case OpUnsubscribe:
		b.WriteString(" " + op.Filter)
		if op.Filter2 != "" {
			b.WriteString(" " + op.Filter2)
		}
	case OpPublish:
		fmt.Fprintf(&b, " %s %s x%d", op.Topic, op.QoS, max(op.Count, 1))
		if op.Retain {
			b.WriteString(" retain")
		}
	case OpAck:
		fmt.Fprintf(&b, " #%d", op.Index)
	}
	return b.String()
}

// clientID is the MQTT ClientId of client index i.
func clientID(i int) string { return fmt.Sprintf("c%d", i) }
