// Package properties holds the invariant suites (the README's table) that drive the
// broker core directly:
//
//   - Lockstep runs the core and the executable specification (package
//     model) on the same operations and compares every observable output
//     after every input: packets per connection, closes, predicted events.
//   - TestCoreMatchesModel is the rapid state-machine test built on it, for
//     every profile and a small-limits variant of each; it also checks the
//     core's events against the per-session specification of
//     properties/history (live, and with porcupine) and replays every run to
//     check determinism and Clone.
//   - Explorer enumerates every interleaving of a small alphabet breadth
//     first, with state hashing, and reports the shortest violating path.
//
// The default `go test ./properties/...` takes seconds to a minute. Longer
// runs: -rapid.checks=N (rapid's own; the default here is 1000),
// -explore.depth=N (default 6), -history.ops=10000 (time porcupine on a
// recorded history), -properties.coverage (how often each event kind and
// reason occurs). A rapid failure prints the operations, the inputs in the
// Input.String format, and the -rapid.failfile that replays it.
package properties
