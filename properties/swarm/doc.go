// Package swarm holds the fleet-level property suites: rapid draws whole
// scenarios (device mix, offline habits, fault schedule, network, profile,
// durations, seed), runs each in the simulator under the in-simulation
// checker (package sim/check), and on failure shrinks the draw to a minimal
// scenario, printed as YAML a user can save and replay with
// "sessionlab simulate --scenario FILE" along with the exact command.
//
// Fleets are small (a handful of devices) so that each check takes well
// under a second. The default run also sweeps every built-in scenario under
// every profile for a few seeds, scaled down, and checks determinism
// (invariant 17: same seed and scenario, same trace digest). Longer sweeps
// belong to "sessionlab sweep".
package swarm
