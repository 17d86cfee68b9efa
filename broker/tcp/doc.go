// Package tcp serves the broker core to real MQTT clients over TCP. It is the
// only part of sessionlab with goroutines, sockets, mutexes and the wall
// clock, in the way etcd's node.go wraps the raft state machine:
//
//   - the accept loop admits connections up to Config.MaxConnections;
//   - on Linux (Config.Reader = ReaderEpoll, the default), ONE poller
//     goroutine waits on an epoll set holding every socket, armed one-shot
//     for input, and hands readable connections to a fixed pool of
//     GOMAXPROCS workers. A worker reads what arrived into its own 32 KiB
//     buffer, frames and decodes the packets (packet.Frame, packet.Decode),
//     sends them to the owner as inputs, keeps a partial packet in a buffer
//     of the connection's own, and re-arms the socket; one worker at a time
//     holds a connection, so its inputs stay in order. An idle connection
//     holds no goroutine and no read buffer. On a TCP listener the accept
//     loop takes bare descriptors with accept4 (on a duplicate of the
//     listener's socket, waited on through Go's netpoller): no net.Conn, no
//     netFD and no entry in Go's own epoll set per connection; their writers
//     write without blocking and wait for room in a second epoll set. About
//     1.0 KiB of resident memory per idle persistent connection with sessionlab
//     serve, as Mosquitto (5.2 with the goroutine reader; see
//     cmd/benchmosquitto/README.md). Only the worker holding a
//     connection removes it from the set and closes its socket (or, while a
//     writer still runs, leaves the close to it); the owner, a failed writer
//     and the timeouts (one FIFO per kind, behind a single timer) shut it
//     for reading, which wakes the worker;
//   - elsewhere, or with ReaderGoroutine, a reader goroutine per connection
//     does the same; once its input is drained it hands the wait in Read to
//     a fresh goroutine, so an idle connection holds a 2 KiB stack, not 4;
//   - a TLS connection (Server.ServeTLS, tls.go) is read by a reader
//     goroutine, which first completes the handshake within
//     Config.ConnectTimeout; a refused handshake is logged with its reason
//     and never reaches the core. With client CAs, the reader vouches for
//     each CONNECT with the certificate's subject CN (see Voucher);
//   - with either reader, bytes that do not decode become
//     broker.InMalformed, a read error or EOF broker.InLost, and a
//     connection that sends no complete packet within Config.ConnectTimeout
//     is dropped;
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
// gets the record of every step (its time, input and outputs: the property
// suites' history recorder, sessionlab serve --history, session ownership),
// and Config.Metrics keeps the Prometheus series from the same records. Password hashing, the one costly step of a CONNECT,
// runs on the readers (workers or reader goroutines) when the Authenticator
// is a Preparer.
//
// Config.MemoryLimit bounds the bytes held in large partial packets and in
// payloads together, refusing what would cross it (limit.go); connect and
// disconnect lines are logged from the core's events (connlog.go).
//
// Nothing a client sends can make the server panic: the codec rejects every
// malformed input with an error, and the adapter never indexes past what the
// framer returned.
package tcp
