package sim

import (
	"sort"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/sim/rng"
)

// TestTimersAgainstAModel sets, moves and clears device timers at random
// and checks the earliest one against a plain map of what is armed.
func TestTimersAgainstAModel(t *testing.T) {
	const devices = 50
	tm := newTimers(devices)
	armed := map[int32]timer{}
	s := rng.New(1, "timers-test", 0)
	seq := uint64(0)
	for step := 0; step < 20000; step++ {
		dev := int32(s.Intn(devices))
		switch s.Intn(4) {
		case 0:
			tm.clear(dev)
			delete(armed, dev)
		default:
			seq++
			at := time.Duration(s.Intn(100))
			tm.set(dev, at, seq)
			armed[dev] = timer{at: at, seq: seq, dev: dev}
		}
		want := make([]timer, 0, len(armed))
		for _, x := range armed {
			want = append(want, x)
		}
		sort.Slice(want, func(i, j int) bool {
			return want[i].at < want[j].at || want[i].at == want[j].at && want[i].seq < want[j].seq
		})
		got, ok := tm.peek()
		if ok != (len(want) > 0) || ok && got != want[0] {
			t.Fatalf("step %d: peek = %v, %v; want %v", step, got, ok, want)
		}
		if len(tm.heap) != len(armed) {
			t.Fatalf("step %d: %d timers in the heap, %d armed", step, len(tm.heap), len(armed))
		}
	}
}
