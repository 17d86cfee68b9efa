package sim

import (
	"sort"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/sim/rng"
)

func TestQueueOrdersByTimeThenSequence(t *testing.T) {
	tests := []struct {
		name string
		at   []time.Duration // push order; dev records the push index
	}{
		{"empty", nil},
		{"ascending", []time.Duration{1, 2, 3}},
		{"descending", []time.Duration{3, 2, 1}},
		{"ties keep push order", []time.Duration{5, 5, 1, 5, 1}},
		{"mixed", []time.Duration{9, 0, 4, 4, 7, 0, 2, 9, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			for i, at := range tt.at {
				q.Push(event{at: at, dev: int32(i)})
			}
			want := make([]int32, len(tt.at))
			for i := range want {
				want[i] = int32(i)
			}
			sort.SliceStable(want, func(i, j int) bool { return tt.at[want[i]] < tt.at[want[j]] })
			var got []int32
			for e, ok := q.Pop(); ok; e, ok = q.Pop() {
				got = append(got, e.dev)
			}
			if len(got) != len(want) {
				t.Fatalf("popped %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("pop order = %v, want %v", got, want)
				}
			}
		})
	}
}

func TestQueueRandomInterleaving(t *testing.T) {
	var q queue
	s := rng.New(1, "queue-test", 0)
	last := event{}
	popped := 0
	for i := 0; i < 20000; i++ {
		if q.Len() == 0 || s.Intn(3) > 0 {
			// Never schedule into the past, as the engine never does.
			q.Push(event{at: last.at + time.Duration(s.Intn(1000))})
			continue
		}
		e, _ := q.Pop()
		if popped > 0 && less(&e, &last) {
			t.Fatalf("pop %d: %v came after %v", popped, e, last)
		}
		last = e
		popped++
	}
}

// BenchmarkQueue measures the bare event queue: one pop and one push per
// operation with 100,000 events pending, as in a large fleet simulation.
func BenchmarkQueue(b *testing.B) {
	const pending = 100000
	var q queue
	s := rng.New(1, "bench-queue", 0)
	for i := 0; i < pending; i++ {
		q.Push(event{at: time.Duration(s.Intn(int(time.Minute)))})
	}
	delays := make([]time.Duration, 4096)
	for i := range delays {
		delays[i] = s.Exp(10 * time.Second)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, _ := q.Pop()
		e.at += delays[i&4095]
		q.Push(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
