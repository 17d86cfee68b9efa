// Package sim runs fleets of simulated MQTT devices against the broker core
// in virtual time, deterministically: the same scenario, profile and seed
// give the same run, event for event, on any machine (Result.Digest).
//
// One run is one goroutine and one discrete-event loop. Events are ordered
// by (time, sequence) in a binary heap of value structs. The broker core is
// driven exactly as the TCP server drives it: Step(now, input), drain
// Outputs, then re-arm a single engine timer from NextDeadline. Devices run
// the client session state machine of package client over links simulated
// by package netsim. All randomness comes from the seed, split into streams
// per component and device (package rng), so adding a device does not change
// what happens to the others.
//
// A run has a faulty phase (the scenario's Duration), then a healed phase in
// which faults stop and every device comes online, so that pending messages
// can converge. The ledger follows every message from publish to a terminal
// state per subscriber copy and feeds Metrics.
package sim
