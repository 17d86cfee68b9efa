package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

// Kind says whether a violation is of safety (something bad happened) or of
// liveness (something good did not happen in time).
type Kind uint8

// Violation kinds.
const (
	Safety Kind = iota + 1
	Liveness
)

// String names the kind, "safety" or "liveness".
func (k Kind) String() string {
	switch k {
	case Safety:
		return "safety"
	case Liveness:
		return "liveness"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Violation is one broken invariant.
type Violation struct {
	Kind   Kind
	At     time.Duration // virtual time at which it was detected (or due)
	Client string        // the ClientId concerned, "" when none
	Inv    broker.Invariant
	// Source is the MQTT spec ID (e.g. "[MQTT-3.2.2-2]") or the vendor
	// source (the vendor's page) the rule comes from.
	Source string
	Detail string
	// Recent are the last events of Client, oldest first, one line each.
	Recent []string
}

// Error returns the violation in one line, e.g.
// "safety violation at 1m2s: client dev-3: invariant 5 redelivery [MQTT-4.4.0-1]: ...".
func (v *Violation) Error() string {
	return v.String()
}

// String describes the violation in one line.
func (v *Violation) String() string {
	client := ""
	if v.Client != "" {
		client = " client " + v.Client + ":"
	}
	return fmt.Sprintf("%s violation at %v:%s invariant %d %s %s: %s",
		v.Kind, v.At, client, v.Inv, InvariantName(v.Inv), v.Source, v.Detail)
}

// Report describes the violation on several lines: String, then the recent
// events of the client, indented.
func (v *Violation) Report() string {
	var b strings.Builder
	b.WriteString(v.String())
	if len(v.Recent) > 0 {
		b.WriteString("\n  last events of " + v.Client + ":")
		for _, r := range v.Recent {
			b.WriteString("\n    " + r)
		}
	}
	return b.String()
}

// invariantNames are the short names of the invariants, by number.
var invariantNames = [...]string{"?", "session-present", "clean-session", "offline-storage",
	"qos0-not-stored", "redelivery", "qos-guarantee", "order", "queue-bound", "ttl", "expiry",
	"pacing", "takeover", "keepalive", "packet-ids", "conservation", "liveness", "determinism", "will"}

// InvariantName returns the short name of invariant inv, e.g. "redelivery".
func InvariantName(inv broker.Invariant) string {
	if int(inv) < len(invariantNames) && inv > 0 {
		return invariantNames[inv]
	}
	return fmt.Sprintf("invariant(%d)", uint8(inv))
}
