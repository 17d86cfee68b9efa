package properties

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/properties/history"
	"pgregory.net/rapid"
)

// TestMain raises rapid's default of 100 checks per property to 1000 (100
// with -short); an explicit -rapid.checks wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set && !testing.Short() {
		flag.Set("rapid.checks", "1000")
	}
	os.Exit(m.Run())
}

// TestCoreMatchesModel drives the core and the model with the same random
// operation sequences under every profile, and under a "small" variant of
// each (queue cap 3, in-flight window 2) whose overflow and window limits
// short runs reach, and compares every observable output after every input.
// It also checks the core's events against the per-session specification
// of properties/history, live and (up to maxPorcupineOps) with porcupine:
// whatever the core (which agrees with the model) does must be a correct
// history of every session.
// A failure is shrunk by rapid, printed as the operations and the inputs
// they made (Input.String), and replayed from rapid's failure file with
// -rapid.failfile.
func TestCoreMatchesModel(t *testing.T) {
	for _, pol := range testPolicies(t) {
		t.Run(pol.Name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				rec, live := history.NewRecorder(nil, pol), history.NewLive(pol)
				var liveErr error
				runOps(t, pol, func(r *broker.Record) {
					rec.Step(r)
					if liveErr == nil {
						liveErr = live.Step(r)
					}
				})
				if liveErr != nil {
					t.Fatalf("history: %v", liveErr)
				}
				if len(rec.Ops()) > maxPorcupineOps {
					return
				}
				res, err := history.Check(pol, rec.Ops(), "", 10*time.Second)
				if err != nil || !res.OK {
					t.Fatalf("history check: %v, %v", res, err)
				}
			})
			for _, why := range slices.Sorted(maps.Keys(skipped)) {
				t.Logf("%d %s", skipped[why], why)
			}
			clear(skipped)
		})
	}
}

// maxPorcupineOps bounds the histories TestCoreMatchesModel also gives
// porcupine: its cache grows with the square of a partition's length (10,000
// operations take about 30 ms, 170,000 — a day of 30 s retries — over 10 s).
// Longer ones are checked by history.Live alone, which is exact for a
// recorder's totally ordered events.
const maxPorcupineOps = 5000

// testPolicies returns every profile and its small variant.
func testPolicies(t testing.TB) []broker.Policy {
	var pols []broker.Policy
	for _, name := range broker.ProfileNames() {
		pol, err := broker.Profile(name)
		if err != nil {
			t.Fatal(err)
		}
		small := pol
		small.Name, small.QueueCap, small.InflightWindow = name+"-small", 3, 2
		pols = append(pols, pol, small)
	}
	return pols
}

var coverage = flag.Bool("properties.coverage", false, "print how often each event kind and reason occurs in TestCoreMatchesModel")

// TestCoverage prints, per profile, how often the rapid runs reach each
// event kind and drop or disconnect reason, to show that the generator
// reaches the behaviours the test claims to compare.
func TestCoverage(t *testing.T) {
	if !*coverage {
		t.Skip("run with -properties.coverage")
	}
	for _, pol := range testPolicies(t) {
		seen := map[string]int{}
		rapid.Check(t, func(t *rapid.T) {
			var w wraps
			runOps(t, pol, func(rec *broker.Record) {
				for ev := range rec.Events() {
					seen[ev.Kind.String()+" "+ev.Reason.String()]++
					if w.event(*ev) {
						seen["packet-id wrap with copies unacknowledged"]++
					}
				}
			})
		})
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(seen)) {
			lines = append(lines, fmt.Sprintf("%s=%d", k, seen[k]))
		}
		t.Logf("%s: %s", pol.Name, strings.Join(lines, ", "))
	}
}

// skipped counts the runs skipped (and the operations narrowed), by
// reason, for the log of the current policy (subtests run one at a time).
var skipped = map[string]int{}

// runOps draws up to 100 operations and applies them in lockstep.
func runOps(t *rapid.T, pol broker.Policy, observe func(*broker.Record)) {
	l, err := NewLockstepAt(pol, DefaultScope.Clients, CountersGen().Draw(t, "counters"))
	if err != nil {
		t.Fatal(err)
	}
	l.Observe = observe
	n := rapid.IntRange(1, 100).Draw(t, "n")
	k := rapid.IntRange(0, n-1).Draw(t, "clone at")
	var ops []string
	var drawn []Op
	var clone *Lockstep
	for i := range n {
		if i == k {
			clone = l.Clone()
			clone.Observe = nil
		}
		op := OpGen(DefaultScope).Draw(t, "op")
		ops = append(ops, op.String())
		drawn = append(drawn, op)
		if err := l.Apply(op); err != nil {
			if tie := (*TieError)(nil); errors.As(err, &tie) {
				skipped["runs skipped: timers of several sessions due at one instant"]++
				t.Skip("timers of several sessions due at one instant fire in an unspecified order")
			}
			t.Fatalf("op %d of (%v):\n  %s\ninputs:\n  %s\n%v", i, l.Counters(), strings.Join(ops, "\n  "),
				strings.ReplaceAll(l.Trace(), "\n", "\n  "), err)
		}
	}
	if pol.Promises.Has(broker.InvDeterminism) {
		checkDeterminism(t, pol, l, drawn, clone, drawn[k:])
	}
}

// checkDeterminism replays ops on a fresh runner, and the ops after the
// clone point on the clone, and requires both to end in the state of l
// (invariant 17; the explorer relies on Clone).
func checkDeterminism(t *rapid.T, pol broker.Policy, l *Lockstep, ops []Op, clone *Lockstep, rest []Op) {
	fresh, _ := NewLockstepAt(pol, DefaultScope.Clients, l.Counters())
	for _, r := range []struct {
		name string
		l    *Lockstep
		ops  []Op
	}{{"a replay", fresh, ops}, {"the clone", clone, rest}} {
		for _, op := range r.ops {
			if err := r.l.Apply(op); err != nil {
				t.Fatalf("%s failed where the original run passed: %s: %v", r.name, op, err)
			}
		}
		if got, want := r.l.AppendState(nil), l.AppendState(nil); !bytes.Equal(got, want) {
			t.Fatalf("%s ends in another state (invariant 17):\n got %q\nwant %q", r.name, got, want)
		}
	}
}

// wraps watches the core's events for a session's packet ids wrapping
// (65535 to 1) while copies it sent before are still unacknowledged.
type wraps struct {
	last    map[string]uint16                // the last new id per session
	pending map[string]map[broker.MsgID]bool // copies sent, not yet delivered or dropped
}

// event records e and reports whether it is a first send after a wrap with
// copies unacknowledged.
func (w *wraps) event(e broker.Event) bool {
	if w.last == nil {
		w.last, w.pending = map[string]uint16{}, map[string]map[broker.MsgID]bool{}
	}
	switch e.Kind {
	case broker.EvSessionCreated, broker.EvSessionExpired, broker.EvSessionDiscarded:
		delete(w.last, e.ClientID)
		delete(w.pending, e.ClientID)
	case broker.EvDelivered, broker.EvDropped:
		delete(w.pending[e.ClientID], e.Msg)
	case broker.EvSent:
		if e.Dup || e.PacketID == 0 {
			return false
		}
		last, ok := w.last[e.ClientID]
		wrapped := ok && e.PacketID < last && len(w.pending[e.ClientID]) > 0
		w.last[e.ClientID] = e.PacketID
		if w.pending[e.ClientID] == nil {
			w.pending[e.ClientID] = map[broker.MsgID]bool{}
		}
		w.pending[e.ClientID][e.Msg] = true
		return wrapped
	}
	return false
}
