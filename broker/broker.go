// Package broker is the MQTT 3.1.1 broker core: a pure, deterministic state
// machine. It reads no clock, spawns no goroutines, touches no network and
// never lets map iteration order reach an output. Drivers (the simulator, the
// TCP adapter, the property suites) feed it inputs with the current time;
// each Step returns the step's Record (the instant, the input, its outputs in
// order), which the driver hands to its observers and then performs:
//
//	policy, _ := broker.Profile("tencent")
//	b, err := broker.New(broker.Config{Policy: policy})
//	for {
//		rec := b.Step(now, in)  // one input, with now
//		observe(&rec)           // metrics, checkers, history: the whole step
//		for _, out := range rec.Outputs { // valid until the next Step
//			switch out.Kind {
//			case broker.OutSend:  write(out.Conn, out.Packet)
//			case broker.OutClose: closeConn(out.Conn)
//			}
//		}
//		if t, ok := b.NextDeadline(); ok { armTimer(t) } // then Step(t, Input{Kind: InDeadline})
//	}
//
// A deadline input earlier than NextDeadline is a no-op. Outputs are in the
// order they must be performed. Time never goes backwards inside the broker:
// a now earlier than a previous one is taken as the previous one.
package broker

import "github.com/sessionlab/sessionlab/broker/packet"

// Authenticator decides a CONNECT's credentials. It returns packet.Accepted,
// RefusedBadUsernamePassword (0x04) or RefusedNotAuthorized (0x05), and the
// user name the connection acts as.
type Authenticator interface {
	Authenticate(c *packet.Connect) (packet.ReturnCode, string)
}

// Authorizer decides topic access for an authenticated user.
type Authorizer interface {
	CanPublish(clientID, user, topic string) bool
	CanSubscribe(clientID, user, filter string) bool
	// CanRead is checked for every copy routed to a subscriber.
	CanRead(clientID, user, topic string) bool
}

// Config configures a Broker. Only Policy is required.
type Config struct {
	Policy    Policy
	Auth      Authenticator // nil: everyone is accepted
	Authorize Authorizer    // nil: everything is allowed
	// ReusePackets lets the broker recycle the packets it puts in Outputs:
	// they are then valid only until the next Step, and a driver that keeps
	// one longer must copy it. It removes the per-packet allocation for
	// drivers that encode packets immediately (the TCP adapter, benchmarks).
	ReusePackets bool
	// PacketIDBase is where every new session's outbound packet-id counter
	// starts: its first PUBLISH takes PacketIDBase+1, and the counter wraps
	// from 65535 to 1, skipping 0 [MQTT-2.3.1-1] and ids still in flight
	// [MQTT-2.3.1-2]. Zero (the default) starts at id 1. It exists so that
	// tests reach the wrap within a few messages (model.WithPacketIDBase
	// is the same seam in the specification); it changes no behaviour a
	// client may rely on.
	PacketIDBase uint16
	// Durable makes every Step list its changes to the durable state in
	// Record.Changes (see Change for what they are and the rule drivers
	// follow). Off, the broker keeps everything in memory and lists none.
	Durable bool
	// ReportRestored makes Recover's record list an EvSessionRestored per
	// session and an EvCopyRestored per copy, for observers that follow
	// the broker across a crash (the simulator's checker, the lockstep).
	// Off, the record holds only the changes: a server restoring millions
	// of copies does not build an event for each.
	ReportRestored bool
}

// Broker is the broker core. Create it with New; it is not safe for
// concurrent use (the driver serialises inputs).
type Broker struct {
	cfg Config
	pol Policy
	now Time
	out []Output

	conns    map[ConnID]*conn
	sessions map[string]*session
	sessSeq  uint64 // sequence of the last created session
	autoIDs  uint64 // sequence of the last assigned ClientId
	nextMsg  MsgID  // the last MsgID assigned
	// reservedMsg is the last MsgID a ChMsgIDs reserved (Config.Durable).
	reservedMsg MsgID
	changes     []Change // this Step's durable changes (Config.Durable)

	subs     node                // topic filter trie
	retained map[string]*message // retained message per topic

	timers timerHeap
	next   nextDeadline // NextDeadline's last answer
	dirty  []*session

	freeMsgs     []*message
	payloadBytes int // payload bytes of the messages alive (PayloadBytes)
	matches      []subscriber
	levels       []string
	pkts         arenas
}

// New returns a broker with cfg, or an error naming the invalid policy field.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	return &Broker{
		cfg:      cfg,
		pol:      cfg.Policy,
		conns:    make(map[ConnID]*conn),
		sessions: make(map[string]*session),
		retained: make(map[string]*message),
		pkts:     arenas{reuse: cfg.ReusePackets},
	}, nil
}

// Policy returns the policy the broker runs.
func (b *Broker) Policy() Policy { return b.pol }

// Outputs returns the outputs produced by the last Step, in the order they
// must be performed. The slice is reused by the next Step.
func (b *Broker) Outputs() []Output { return b.out }

// Config returns the configuration the broker was created with.
func (b *Broker) Config() Config { return b.cfg }
