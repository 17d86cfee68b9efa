// Package packet defines the fourteen MQTT 3.1.1 control packets, one Go type
// per packet type, with append-style encoders and a strict, validating decoder
// for a server's input.
//
// Every packet type implements Packet through its pointer (*Publish, *Connect,
// ...). Encoders (Append) never fail on a valid packet and allocate nothing
// when dst has room. Split (a bufio.SplitFunc) or Frame cuts a byte stream
// into whole packets, rejecting bad fixed-header flags and an over-long or
// oversized remaining length as soon as those bytes arrive. Decode decodes one
// whole packet (two allocations: the struct and one copy of the body);
// DecodePublish is the hot path for incoming PUBLISH packets (one allocation,
// into a caller-provided *Publish). Decoded packets own their memory: string
// fields share the single body copy, so the read buffer can be reused, and
// the packets must be treated as immutable.
//
// The decoder enforces what MQTT 3.1.1 requires of a server's input and also
// decodes the packets a server sends, for clients and tests. It is canonical:
// it rejects remaining lengths that are not minimally encoded (3.1.1 does not
// forbid padding, but no client produces it and MQTT 5 forbids it as
// [MQTT-1.5.5-1]), so every accepted packet re-encodes to the same bytes. A
// CONNECT for another protocol name or level is decoded, not rejected, so
// the core can answer RefusedProtocolVersion [MQTT-3.1.2-2].
//
// Errors are *Error values naming the packet type, field, byte offset and
// spec ID; their Kind (ErrMalformed, ErrTooLarge, io.ErrUnexpectedEOF) works
// with errors.Is. Topic rules live here too: ValidTopicName, ValidTopicFilter
// and Match (MQTT 3.1.1 section 4.7). Golden fixtures and a rapid generator
// of valid packets are in the packettest subpackage.
package packet

// Type is the MQTT control packet type, the high nibble of the first byte of
// the fixed header (MQTT 3.1.1 section 2.2.1).
type Type byte

// The fourteen control packet types. 0 and 15 are reserved.
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
)

// QoS is an MQTT quality-of-service level, 0, 1 or 2.
type QoS byte

// ReturnCode is a CONNACK return code (MQTT 3.1.1 table 3.1).
type ReturnCode byte

// CONNACK return codes.
const (
	Accepted                   ReturnCode = 0x00
	RefusedProtocolVersion     ReturnCode = 0x01
	RefusedIdentifierRejected  ReturnCode = 0x02
	RefusedServerUnavailable   ReturnCode = 0x03
	RefusedBadUsernamePassword ReturnCode = 0x04
	RefusedNotAuthorized       ReturnCode = 0x05
)

// SubackFailure is the SUBACK return code for a refused subscription [MQTT-3.9.3-2].
const SubackFailure byte = 0x80

// Packet is one MQTT control packet.
type Packet interface {
	// Type is the packet's control packet type.
	Type() Type
	// Append appends the packet's wire encoding to dst and returns the
	// extended slice. It does not validate; encoding a valid packet cannot fail.
	Append(dst []byte) []byte
	// String is a one-line description used by traces and failure reports.
	String() string
}

// Connect is the CONNECT packet (MQTT 3.1.1 section 3.1).
type Connect struct {
	ProtocolName  string // "MQTT" for 3.1.1; exposed so the core can answer 0x01
	ProtocolLevel byte   // 4 for 3.1.1
	CleanSession  bool
	KeepAlive     uint16 // seconds; 0 disables keepalive
	ClientID      string

	WillFlag    bool
	WillQoS     QoS
	WillRetain  bool
	WillTopic   string
	WillPayload []byte

	UsernameFlag bool
	Username     string
	PasswordFlag bool
	Password     []byte

	// Rest holds, verbatim, the bytes after the protocol level of a CONNECT
	// whose protocol is not MQTT 3.1.1 (see Supported); it is nil otherwise.
	// The core answers such a CONNECT with RefusedProtocolVersion
	// [MQTT-3.1.2-2] without needing to understand it.
	Rest []byte
}

// Connack is the CONNACK packet (MQTT 3.1.1 section 3.2).
type Connack struct {
	SessionPresent bool
	ReturnCode     ReturnCode
}

// Publish is the PUBLISH packet (MQTT 3.1.1 section 3.3). Payload may be
// shared between copies of one message; treat it as immutable.
type Publish struct {
	Dup      bool
	QoS      QoS
	Retain   bool
	Topic    string
	PacketID uint16 // present only when QoS > 0
	Payload  []byte
}

// Puback is the PUBACK packet (MQTT 3.1.1 section 3.4).
type Puback struct{ PacketID uint16 }

// Pubrec is the PUBREC packet (MQTT 3.1.1 section 3.5).
type Pubrec struct{ PacketID uint16 }

// Pubrel is the PUBREL packet (MQTT 3.1.1 section 3.6).
type Pubrel struct{ PacketID uint16 }

// Pubcomp is the PUBCOMP packet (MQTT 3.1.1 section 3.7).
type Pubcomp struct{ PacketID uint16 }

// Subscription is one topic filter and requested QoS of a SUBSCRIBE.
type Subscription struct {
	Filter string
	QoS    QoS
}

// Subscribe is the SUBSCRIBE packet (MQTT 3.1.1 section 3.8).
type Subscribe struct {
	PacketID      uint16
	Subscriptions []Subscription
}

// Suback is the SUBACK packet (MQTT 3.1.1 section 3.9). Each return code is
// the granted QoS (0, 1, 2) or SubackFailure.
type Suback struct {
	PacketID    uint16
	ReturnCodes []byte
}

// Unsubscribe is the UNSUBSCRIBE packet (MQTT 3.1.1 section 3.10).
type Unsubscribe struct {
	PacketID uint16
	Filters  []string
}

// Unsuback is the UNSUBACK packet (MQTT 3.1.1 section 3.11).
type Unsuback struct{ PacketID uint16 }

// Pingreq is the PINGREQ packet (MQTT 3.1.1 section 3.12).
type Pingreq struct{}

// Pingresp is the PINGRESP packet (MQTT 3.1.1 section 3.13).
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (MQTT 3.1.1 section 3.14).
type Disconnect struct{}
