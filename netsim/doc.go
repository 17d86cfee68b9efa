// Package netsim simulates the network between devices and a broker in
// virtual time: per-connection links with latency distributions, TCP
// ordering, and faults. It knows nothing of MQTT: connections carry opaque
// messages of any type M (decoded packets, or encoded bytes).
//
// netsim computes, it does not schedule. Each call takes the current virtual
// time and returns when something will happen (a message arrives, a side
// learns that its connection is gone); the caller, a discrete-event engine,
// schedules an event for that time and calls back (Arrive, Noticed). This
// keeps one event queue in the simulation and netsim free of callbacks.
//
// What is modelled, and how:
//
//   - TCP order: messages on one connection arrive in the order they were
//     sent in each direction; a later message never overtakes an earlier one
//     (a slow one holds back those behind it, as a retransmission does).
//   - Resets: what is in flight is lost, and each side learns of the reset
//     after its own delay. A side that closes gracefully (FIN) has its data
//     delivered first; the peer learns after the last of it.
//   - Half-open connections: silently dead; nothing arrives either way and
//     nobody is told. Only the endpoints' own keepalives can notice.
//   - Partitions of a host: dials time out; messages sent are held until the
//     partition heals (TCP retransmits), so a connection that neither side
//     gave up on survives a short partition.
//   - Connect failures: a dial fails with probability Knobs.ConnectFail.
//   - Broker outages: the broker's network front end goes away. Dials are
//     refused and every connection is reset. The broker process and its
//     persistent session store survive: a managed MQTT service keeps sessions
//     in durable storage across a front-end outage, and the simulator keeps
//     the broker core (and every session in it) running through the outage.
//     An outage is therefore not a broker crash that loses state.
package netsim
