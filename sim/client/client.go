// Package client is the MQTT 3.1.1 client session state machine the
// simulated devices run. Like the broker core it is pure: every input takes
// the current time, outputs are drained with Actions after every input, and
// NextDeadline says when to call Deadline. It reads no clock and owns no
// connection; the driver opens, closes and carries the transport.
//
// It does what a careful device SDK does: CONNECT with CleanSession and a
// keepalive; re-subscribe when the server has no session (SessionPresent=0);
// re-send unacknowledged QoS 1/2 PUBLISH (DUP=1, same packet id, in order)
// and PUBREL when the session resumes [MQTT-4.4.0-1]; de-duplicate inbound
// QoS 2 until PUBREL [MQTT-4.3.3-2]; send PINGREQ when idle for a keepalive
// [MQTT-3.1.2-23]; treat a missing PINGRESP as a dead link; and reconnect
// with exponential backoff and jitter.
package client

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/rng"
)

// Config configures a Session. Zero durations and counts take the defaults
// documented on each field.
type Config struct {
	ClientID      string
	Clean         bool
	KeepAlive     time.Duration // whole seconds; 0 disables keepalive
	Subscriptions []packet.Subscription
	// PingTimeout is how long to wait for PINGRESP before declaring the
	// link dead (default 20 s).
	PingTimeout time.Duration
	// ConnectTimeout is how long to wait for CONNACK (default 30 s).
	ConnectTimeout time.Duration
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// after every failed attempt (defaults 1 s and 2 min).
	BackoffMin, BackoffMax time.Duration
	// Inflight is the most unacknowledged outbound QoS>0 messages (default 10).
	Inflight int
	// OutboxCap is the most application messages waiting to be sent
	// (default 1000); beyond it new QoS>0 messages are dropped.
	OutboxCap int
	// Will, when set, is the Last Will every CONNECT carries (topic,
	// payload, QoS, retain): the server publishes it when the connection
	// is lost without DISCONNECT [MQTT-3.1.2-8].
	Will *packet.Publish
	// Birth, when set, is published afresh after every accepted CONNACK,
	// new session or resumed, ahead of the outbox (e.g. a retained
	// "online" status on the Will's topic). The session copies it.
	Birth *packet.Publish
	// Farewell, when set, is published at QoS 0 just before a graceful
	// DISCONNECT, which discards the Will [MQTT-3.14.4-3] (e.g. a retained
	// "offline" status); a device going away does not wait for an ack.
	Farewell *packet.Publish
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PingTimeout, 20*time.Second)
	def(&c.ConnectTimeout, 30*time.Second)
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, 2*time.Minute)
	if c.Inflight <= 0 {
		c.Inflight = 10
	}
	if c.OutboxCap <= 0 {
		c.OutboxCap = 1000
	}
}

// State is where the session's transport is.
type State uint8

// Session states.
const (
	Idle       State = iota // stopped: no transport, no reconnects
	Waiting                 // backing off before the next dial
	Dialing                 // a dial is in progress
	Connecting              // CONNECT sent, waiting for CONNACK
	Connected               // CONNACK accepted
)

var stateNames = [...]string{"idle", "waiting", "dialing", "connecting", "connected"}

// String names the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ActionKind says what the driver must do or may observe.
type ActionKind uint8

// Action kinds.
const (
	// Dial: open a transport, then call Dialed with the outcome.
	Dial ActionKind = iota + 1
	// Send: write Packet on the transport.
	Send
	// Close: close the transport after what was written (FIN).
	Close
	// Abort: the device vanishes (power cut): its transport dies silently,
	// nothing more is sent and the peer is not told.
	Abort
	// Deliver: hand Publish to the application.
	Deliver
	// Up: the session is up (SessionPresent as in the CONNACK).
	Up
	// Drop: the client discarded an application message (Reason).
	Drop
)

var actionNames = [...]string{Dial: "dial", Send: "send", Close: "close", Abort: "abort", Deliver: "deliver", Up: "up", Drop: "drop"}

// String names the kind.
func (k ActionKind) String() string {
	if int(k) < len(actionNames) && actionNames[k] != "" {
		return actionNames[k]
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// DropReason says why the client discarded an application message.
type DropReason uint8

// Client-side drop reasons.
const (
	DropOffline    DropReason = iota + 1 // QoS 0 published while not connected
	DropOutboxFull                       // OutboxCap reached
	DropStopped                          // published while stopped (powered off)
)

// String names the reason.
func (r DropReason) String() string {
	switch r {
	case DropOffline:
		return "qos0-offline"
	case DropOutboxFull:
		return "outbox-full"
	case DropStopped:
		return "stopped"
	}
	return fmt.Sprintf("drop(%d)", uint8(r))
}

// Action is one output of the session.
type Action struct {
	Kind           ActionKind
	Packet         packet.Packet   // Send
	Publish        *packet.Publish // Deliver, Drop
	SessionPresent bool            // Up
	Reason         DropReason      // Drop
}

// String describes the action in one line.
func (a Action) String() string {
	switch a.Kind {
	case Send:
		return fmt.Sprintf("send %v", a.Packet)
	case Deliver:
		return fmt.Sprintf("deliver %v", a.Publish)
	case Up:
		return fmt.Sprintf("up sp=%v", a.SessionPresent)
	case Drop:
		return fmt.Sprintf("drop %v %v", a.Reason, a.Publish)
	}
	return a.Kind.String()
}

// flight is one unacknowledged outbound QoS>0 message.
type flight struct {
	pub      *packet.Publish
	released bool // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
}

// Session is one client's session state machine. Create it with New.
type Session struct {
	cfg   Config
	rand  *rng.Stream
	state State
	out   []Action

	backoff    time.Duration // the next reconnect delay before jitter
	wake       time.Duration // Waiting: when to dial
	connackBy  time.Duration // Connecting: when to give up
	lastSent   time.Duration // Connected: when the last packet was sent
	pingBy     time.Duration // Connected: PINGRESP due by, when pinging
	pinging    bool
	subID      uint16 // the pending SUBSCRIBE's id, 0 when none
	subscribed bool   // the server holds our subscriptions

	nextID   uint16
	inflight []flight          // unacknowledged, in send order
	outbox   []*packet.Publish // waiting for a connection or window room
	qos2In   []uint16          // inbound QoS 2 ids received, PUBREL not yet
	stats    Stats
}

// Stats counts what the session did.
type Stats struct {
	Dials, Connects, Resumes, Resends, PingTimeouts, Duplicates int
}

// New returns an idle session; rand supplies the backoff jitter.
func New(cfg Config, rand *rng.Stream) *Session {
	cfg.defaults()
	return &Session{cfg: cfg, rand: rand, backoff: cfg.BackoffMin}
}

// State returns the transport state.
func (s *Session) State() State { return s.state }

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return s.stats }

// Pending returns the number of outbound messages not yet acknowledged
// (in flight or waiting in the outbox).
func (s *Session) Pending() int { return len(s.inflight) + len(s.outbox) }

// Actions returns the actions produced since the previous call, in the
// order they must be performed. The slice is reused by the next input.
func (s *Session) Actions() []Action {
	a := s.out
	s.out = s.out[:0]
	return a
}

// String describes the session in one line.
func (s *Session) String() string {
	return fmt.Sprintf("client %q %v inflight=%d outbox=%d qos2in=%d", s.cfg.ClientID, s.state, len(s.inflight), len(s.outbox), len(s.qos2In))
}

func (s *Session) emit(a Action) { s.out = append(s.out, a) }

// send emits p and notes the time for keepalive.
func (s *Session) send(now time.Duration, p packet.Packet) {
	s.lastSent = now
	s.emit(Action{Kind: Send, Packet: p})
}
