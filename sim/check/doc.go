// Package check is the in-simulation checker: a sim.Observer that sees the
// record of every step of the broker (its input and its outputs, in order)
// and every PUBLISH a device application receives, keeps a shadow of what an
// observer knows of the sessions, connections, queues and in-flight windows,
// and holds the broker to the invariants (1-16 and 18; 17, determinism, is a
// property of two runs and is checked by properties/swarm, the golden traces
// and by comparing digests). It judges with the model's rules (package
// model, rules.go: SessionPresent, ExpiryWindow, Victim, PaceAt, DropProblem,
// ...) rather than its own copies of them; what it keeps itself is the
// accounting of copies, connections and receipts those rules are applied to.
//
// Safety invariants are checked step by step as the run goes: the first violation is
// kept, with the virtual time, the client, the invariant's number and name,
// the MQTT spec ID or vendor source it comes from, and the last few events
// of that client in their one-line String() form. Liveness (invariant 16)
// is scanned for every quarter bound in the healed phase and once more by
// Finish: after the healed phase starts, every pending copy must be
// delivered within Config.Bound, or the run is a Liveness failure, distinct
// from a Safety one. Finish also closes conservation (15).
//
// Each invariant is checked only when the policy promises it
// (broker.Policy.Promises). The checker never reads a clock and never lets
// map iteration order reach a result: when several violations are found at
// the end of a run, the earliest by (time, client, message) is reported.
package check
