package netsim

import (
	"fmt"
	"time"
)

// Side is one end of a connection.
type Side uint8

// The two ends of a connection.
const (
	Client Side = iota // the device that dialled
	Server             // the broker that accepted
)

// String returns "client" or "server".
func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Peer returns the other side.
func (s Side) Peer() Side { return 1 - s }

// ConnID names a connection. It packs a slot index and a generation, so an ID
// is never reused within a Network (2^32 generations per slot) and stale
// events for a closed connection are recognised. 0 is never a valid ID.
type ConnID uint64

func makeConnID(slot int, gen uint32) ConnID { return ConnID(uint64(gen)<<32 | uint64(slot+1)) }

func (c ConnID) slot() int   { return int(uint32(c)) - 1 }
func (c ConnID) gen() uint32 { return uint32(c >> 32) }

// String returns "c<slot>.<gen>".
func (c ConnID) String() string { return fmt.Sprintf("c%d.%d", c.slot(), c.gen()) }

// Fault is what happens to an established connection.
type Fault uint8

// Connection faults.
const (
	NoFault  Fault = iota
	Reset          // both sides learn after their own delays; in-flight data lost
	HalfOpen       // silently dead; nobody is told
)

// String returns "none", "reset" or "half-open".
func (f Fault) String() string {
	switch f {
	case Reset:
		return "reset"
	case HalfOpen:
		return "half-open"
	}
	return "none"
}

// Config configures a Network.
type Config struct {
	Latency Latency
	Knobs   Knobs
	// ConnectTimeout is how long a dial into a partition takes to fail
	// (default 30 s, a typical MQTT client connect timeout).
	ConnectTimeout time.Duration
	// HostRand returns the random stream of host h, for every host that
	// SetHostStream does not give its own. It is called once per host, in
	// host order, and must be set unless every host gets SetHostStream.
	HostRand func(h int) Rand
}

// Notice tells the caller that Side of Conn learns at At that the
// connection is gone. The caller schedules it and calls Noticed at At.
type Notice struct {
	Conn ConnID
	Side Side
	At   time.Duration
}

// String describes the notice, e.g. "c3.1 server notices at 1m2s".
func (n Notice) String() string { return fmt.Sprintf("%v %v notices at %v", n.Conn, n.Side, n.At) }

// Dial is the outcome of a dial attempt.
type Dial struct {
	OK   bool
	Conn ConnID // valid when OK
	// ServerAt is when the server accepts (the SYN arrives); valid when OK.
	ServerAt time.Duration
	// ClientAt is when the client learns the outcome: established, or failed.
	ClientAt time.Duration
	// FaultAt and Fault are the connection's drawn fate: at FaultAt, call
	// Fail(FaultAt, Conn, Fault). Fault is NoFault when none was drawn.
	FaultAt time.Duration
	Fault   Fault
}

// String describes the outcome in one line.
func (d Dial) String() string {
	if !d.OK {
		return fmt.Sprintf("dial failed at %v", d.ClientAt)
	}
	return fmt.Sprintf("dial %v server@%v client@%v fault=%v@%v", d.Conn, d.ServerAt, d.ClientAt, d.Fault, d.FaultAt)
}
