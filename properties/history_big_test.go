package properties

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/properties/history"
)

var bigHistory = flag.Int("history.ops", 0, "TestBigHistory: record a history of at least this many operations from the core and time its porcupine check (e.g. 10000)")

// TestBigHistory drives the core with seeded random operations until the
// recorded history has -history.ops operations, then checks it with
// porcupine and reports the time.
func TestBigHistory(t *testing.T) {
	if *bigHistory == 0 {
		t.Skip("run with -history.ops=10000")
	}
	for _, name := range broker.ProfileNames() {
		pol, _ := broker.Profile(name)
		ops := recordHistory(t, pol, *bigHistory, 1)
		res, err := history.Check(pol, ops, "", time.Minute)
		if err != nil || !res.OK {
			t.Fatalf("%s: %v, %v", name, res, err)
		}
		t.Logf("%s: %v", name, res)
	}
}

// recordHistory applies random operations (seeded) to a lockstep runner
// until its recorder holds n operations, and returns them.
func recordHistory(t testing.TB, pol broker.Policy, n int, seed uint64) []history.Op {
	l, err := NewLockstep(pol, DefaultScope.Clients)
	if err != nil {
		t.Fatal(err)
	}
	rec := history.NewRecorder(nil, pol)
	l.Observe = rec.Step
	rng := rand.New(rand.NewPCG(seed, 0))
	s := DefaultScope
	for len(rec.Ops()) < n {
		op := Op{Kind: OpKind(1 + rng.IntN(int(OpAdvance))), Client: rng.IntN(s.Clients), Index: rng.IntN(4), Count: 1,
			Filter: s.Filters[rng.IntN(len(s.Filters))], Topic: s.Topics[rng.IntN(len(s.Topics))],
			QoS: packet.QoS(rng.IntN(int(s.MaxQoS) + 1)), D: s.Steps[rng.IntN(4)], Clean: rng.IntN(4) == 0}
		if err := l.Apply(op); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	return rec.Ops()
}

// BenchmarkCheck10k times porcupine on a 10,000-operation history of the
// core under tencent (recorded once, outside the timing).
func BenchmarkCheck10k(b *testing.B) {
	pol, _ := broker.Profile("tencent")
	ops := recordHistory(b, pol, 10000, 1)
	b.ResetTimer()
	for b.Loop() {
		res, err := history.Check(pol, ops, "", time.Minute)
		if err != nil || !res.OK {
			b.Fatalf("%v, %v", res, err)
		}
	}
	b.ReportMetric(float64(len(ops)), "ops/history")
}

// BenchmarkLockstepRun times one run of seeded random operations on the core
// and the model in lockstep, under tencent, until the recorder holds 100
// history operations (about the size of an average rapid run).
func BenchmarkLockstepRun(b *testing.B) {
	pol, _ := broker.Profile("tencent")
	seed := uint64(0)
	for b.Loop() {
		seed++
		recordHistory(b, pol, 100, seed)
	}
}
