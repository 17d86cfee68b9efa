// Package sim runs fleets of simulated MQTT devices against the broker core
// in virtual time, deterministically: the same scenario, profile and seed
// give the same run, event for event, on any machine (Result.Digest).
//
// One run is one goroutine and one discrete-event loop. Events are ordered
// by (time, sequence) in a binary heap of value structs. The broker core is
// driven exactly as the TCP server drives it: Step(now, input) gives the
// step's Record, which goes to the watchers before its outputs are
// performed, then a single engine timer is re-armed from NextDeadline. Devices run
// the client session state machine of package client over links simulated
// by package netsim. All randomness comes from the seed, split into streams
// per component and device (package rng), so adding a device does not change
// what happens to the others.
//
// A run has a faulty phase (the scenario's Duration), then a healed phase in
// which faults stop and every device comes online, so that pending messages
// can converge. The ledger follows every message from publish to a terminal
// state per subscriber copy and feeds Metrics. The ledger and
// Options.Observer read the same step records, in line or, with
// Options.Concurrent, on a goroutine of their own (watch.go).
//
// A broker outage takes the broker's network front end away (connections
// refused and reset) while the broker core, and every session in it, keeps
// running: the model of a managed service whose sessions live in a durable
// store. It is not a crash that loses state; the simulator has no such
// fault, because the core has no persistence to recover from.
//
// Performance (2-core AMD EPYC, Go 1.26, tencent profile, measured with
// the benchmarks in bench_test.go while the machine was shared):
//
//	BenchmarkQueue              bare event queue, 100,000 pending      ~7 million events/s
//	BenchmarkNightlyOffline10k  10,000 devices, 24 virtual hours       21 s wall, 21 CPU-s, 141 MiB, 44 M events
//	BenchmarkSteady100k         100,000 devices, 1 virtual hour        37 s wall, 25 CPU-s, 319 MiB, 28 M events
//
// About half of the CPU is the broker core; the rest is the event queue,
// the network model, the clients and the ledger.
package sim
