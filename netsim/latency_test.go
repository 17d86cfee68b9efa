package netsim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// draw samples l n times from a fixed stream and returns the delays sorted.
func draw(l Latency, n int) []time.Duration {
	s := newTestRand(1, 0)
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = l.Sample(s)
	}
	slices.Sort(out)
	return out
}

// A tail without a mean (Pareto shape < 1) is clamped at Limit: no packet
// on a live connection waits longer than a TCP sender would retransmit.
func TestSampleIsClampedAtLimit(t *testing.T) {
	heavy := Latency{Tail: TailPareto, TailProb: 1, TailScale: time.Second, TailShape: 0.2}
	d := draw(heavy, 10000)
	if got := d[len(d)-1]; got != DefaultMaxDelay {
		t.Errorf("longest delay = %v, want the default limit %v", got, DefaultMaxDelay)
	}
	heavy.Max = 10 * time.Second
	if got := draw(heavy, 10000)[9999]; got != 10*time.Second {
		t.Errorf("longest delay with max 10s = %v", got)
	}
	if got := (Latency{Base: 3 * time.Minute, Max: time.Second}).Limit(); got != 3*time.Minute {
		t.Errorf("Limit below Base = %v, want Base", got)
	}
}

// Quantile matches the empirical quantile of 200,000 draws: not below it
// beyond sampling noise (15 %), and not far above it.
func TestQuantileBoundsTheSample(t *testing.T) {
	for _, l := range []Latency{
		{Base: 60 * ms, Jitter: 80 * ms, Tail: TailLogNormal, TailProb: 0.05, TailScale: 400 * ms, TailShape: 1},
		{Base: 80 * ms, Jitter: 150 * ms, Tail: TailPareto, TailProb: 0.1, TailScale: 300 * ms, TailShape: 1.2},
		{Base: 10 * ms, Jitter: 5 * ms},
		{Tail: TailPareto, TailProb: 1, TailScale: time.Second, TailShape: 0.2},
	} {
		d := draw(l, 200000)
		for _, p := range []float64{0.5, 0.99, 0.999} {
			emp := d[int(p*float64(len(d)))]
			q := l.Quantile(p)
			if float64(q)*1.15 < float64(emp) {
				t.Errorf("%v: Quantile(%g) = %v below the sample's %v", l, p, q, emp)
			}
			if q > l.Limit() {
				t.Errorf("%v: Quantile(%g) = %v above Limit %v", l, p, q, l.Limit())
			}
			if emp > l.Base+l.Jitter && q > 2*emp+l.Base+l.Jitter {
				t.Errorf("%v: Quantile(%g) = %v, loose against the sample's %v", l, p, q, emp)
			}
		}
	}
}

func TestValidateMax(t *testing.T) {
	for _, c := range []struct {
		l    Latency
		want string
	}{
		{Latency{Max: -time.Second}, "max: must be >= 0"},
		{Latency{Base: time.Second, Jitter: time.Second, Max: time.Second}, "max: must be at least base+jitter (2s)"},
	} {
		err := c.l.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%v) = %v, want %q", c.l, err, c.want)
		}
	}
	if err := (Latency{Base: time.Second, Max: time.Minute}).Validate(); err != nil {
		t.Errorf("a max above base: %v", err)
	}
}
