// Package history records what a broker did, one operation per ClientId
// session, as JSON lines (HISTORY.jsonl), and checks recorded histories with
// porcupine against a per-session specification built from package model.
//
// Any driver can record: the core in tests, the simulator and the TCP server
// feed broker.Event values to a Recorder; client-side observers add
// operations with their own wall-clock call and return times. The checker
// partitions the history by ClientId, so that porcupine's search, which is
// exponential in overlapping operations, stays small.
package history

import (
	"fmt"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
)

// Kind names what an operation observed.
type Kind string

// Operation kinds. Each is about the session of Op.Client.
const (
	Connect    Kind = "connect"    // CONNECT accepted: Clean in, SessionPresent out
	Disconnect Kind = "disconnect" // the connection went away (any reason)
	Enqueue    Kind = "enqueue"    // a copy of Msg became owed to the session
	Send       Kind = "send"       // a PUBLISH of Msg was sent to the client (Dup, Stored)
	Ack        Kind = "ack"        // the copy reached its end state (PUBACK, PUBREC, or QoS 0 sent)
	Drop       Kind = "drop"       // the broker gave up the copy (Reason)
	Expire     Kind = "expire"     // the session expired
	Discard    Kind = "discard"    // the session ended without expiring (clean session)
	Quiesce    Kind = "quiesce"    // the driver let everything settle: an online session owes nothing unsent
	// Crash: the broker crashed and restarted at At; SessionPresent says
	// whether it restored the session, Copies the copies it restored that
	// were still owed (not those past PUBREC, which only await PUBCOMP).
	Crash Kind = "crash"
)

// Op is one recorded operation. Call and Return order operations for
// porcupine (a Recorder numbers broker events 2k and 2k+1, so that they
// never overlap); At is the broker time of the observation, used by the
// timing checks (expiry, pacing, TTL).
type Op struct {
	Kind           Kind        `json:"kind"`
	Client         string      `json:"client"`
	Call           int64       `json:"call"`
	Return         int64       `json:"return"`
	At             broker.Time `json:"at"`
	Clean          bool        `json:"clean,omitempty"`
	SessionPresent bool        `json:"sp,omitempty"`
	Msg            uint64      `json:"msg,omitempty"`
	Publisher      string      `json:"from,omitempty"`
	Topic          string      `json:"topic,omitempty"`
	QoS            uint8       `json:"qos,omitempty"`
	Dup            bool        `json:"dup,omitempty"`
	Stored         bool        `json:"stored,omitempty"`
	Reason         string      `json:"reason,omitempty"`
	Copies         []uint64    `json:"copies,omitempty"` // Crash: the restored copies' messages
}

// String describes the operation on one line, e.g.
// "1.5s c1 send m4 from=c0 a/b q1 dup stored".
func (op Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s %s", op.At, op.Client, op.Kind)
	switch op.Kind {
	case Connect:
		fmt.Fprintf(&b, " clean=%v sp=%v", op.Clean, op.SessionPresent)
	case Enqueue, Send, Ack, Drop:
		fmt.Fprintf(&b, " m%d from=%s %s q%d", op.Msg, op.Publisher, op.Topic, op.QoS)
	case Crash:
		fmt.Fprintf(&b, " restored=%v copies=%v", op.SessionPresent, op.Copies)
	}
	if op.Dup {
		b.WriteString(" dup")
	}
	if op.Stored {
		b.WriteString(" stored")
	}
	if op.Reason != "" {
		b.WriteString(" reason=" + op.Reason)
	}
	return b.String()
}
