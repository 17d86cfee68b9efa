// Package broker is the MQTT 3.1.1 broker core: a pure, deterministic state
// machine. It reads no clock, spawns no goroutines, touches no network and
// never lets map iteration order reach an output. Drivers (the simulator, the
// TCP adapter, the property suites) feed it inputs with the current time and
// drain its outputs after every input:
//
//	b, err := broker.New(broker.Config{Policy: broker.Profile("tencent")})
//	for {
//		b.Step(now, in)                  // one input, with now
//		for _, out := range b.Outputs() { // drain before the next Step
//			switch out.Kind {
//			case broker.OutSend:  write(out.Conn, out.Packet)
//			case broker.OutClose: closeConn(out.Conn)
//			case broker.OutEvent: observe(out.Event)
//			}
//		}
//		if t, ok := b.NextDeadline(); ok { armTimer(t) } // then Step(t, Input{Kind: InDeadline})
//	}
//
// A deadline input earlier than NextDeadline is a no-op. Outputs are in the
// order they must be performed.
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
}
