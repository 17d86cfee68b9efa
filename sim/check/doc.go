// Package check is the in-simulation checker: a sim.Observer that sees every
// broker input, every broker output and every PUBLISH a device application
// receives, keeps its own shadow of the sessions, connections, queues and
// in-flight windows, and holds the broker to the invariants of DESIGN.md
// (1-16 and 18; 17, determinism, is a property of two runs and is checked by
// properties/swarm and by comparing digests).
//
// Safety invariants are checked as the run goes: the first violation is
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
