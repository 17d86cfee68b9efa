// Package tcp serves the broker core to real MQTT clients over TCP. It is the
// only part of sessionlab with goroutines, sockets, mutexes and the wall
// clock, in the way etcd's node.go wraps the raft state machine:
//
//   - the accept loop admits connections up to Config.MaxConnections;
//   - per connection, a reader goroutine reads, frames and decodes packets
//     (packet.Frame, packet.Decode) and sends them to the owner as inputs;
//     once its input is drained it hands the wait in Read to a fresh
//     goroutine, so an idle connection holds a 2 KiB stack, not 4 KiB;
//     bytes that do not decode become broker.InMalformed, a read error or EOF
//     broker.InLost, and a connection that sends no complete packet within
//     Config.ConnectTimeout is dropped;
//   - ONE owner goroutine holds the broker.Broker. It takes inputs from a
//     channel in arrival order, stamps each with broker.Time =
//     time.Since(start) (the only clock reading that reaches the core), steps
//     the core, performs its outputs in order, and keeps a single timer armed
//     at NextDeadline;
//   - per connection, a writer goroutine exists only while there are bytes to
//     write. The owner appends encoded packets to the connection's outbox,
//     which is bounded by Config.WriteBuffer bytes: a client that does not
//     read fast enough fills it, and is then treated as lost (broker.InLost),
//     so its backlog goes to the session queue and the policy's cap, TTL and
//     overflow rules apply, instead of growing memory without bound.
//
// Observers see everything in order on the owner goroutine: Config.Observer
// gets every event (the property suites' history recorder, sessionlab serve
// --history), Config.Inputs every input with its time, Config.Metrics keeps
// the Prometheus series. Password hashing, the one costly step of a CONNECT,
// runs on the reader goroutines when the Authenticator is a Preparer.
//
// Nothing a client sends can make the server panic: the codec rejects every
// malformed input with an error, and the adapter never indexes past what the
// framer returned.
package tcp
