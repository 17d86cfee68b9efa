package netsim

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/sim/rng"
)

func TestSwarmEnablesDifferentSubsets(t *testing.T) {
	enabled := map[string]int{}
	subsets := map[[5]bool]bool{}
	const seeds = 200
	for seed := uint64(0); seed < seeds; seed++ {
		s := rng.New(seed, "netsim/swarm", 0)
		k := Swarm(&s)
		if err := k.Validate(); err != nil {
			t.Fatalf("seed %d: Swarm drew invalid knobs %v: %v", seed, k, err)
		}
		on := [5]bool{k.ResetsPerHour > 0, k.HalfOpenPerHour > 0, k.ConnectFail > 0, k.PartitionsPerDay > 0, k.OutagesPerDay > 0}
		subsets[on] = true
		for i, name := range []string{"resets", "half-open", "connect-fail", "partitions", "outages"} {
			if on[i] {
				enabled[name]++
			}
		}
	}
	if len(subsets) < 20 {
		t.Errorf("%d seeds drew only %d distinct fault subsets", seeds, len(subsets))
	}
	for name, n := range enabled {
		if n == 0 || n == seeds {
			t.Errorf("%s enabled in %d of %d seeds; swarm testing wants it sometimes on, sometimes off", name, n, seeds)
		}
	}
}

func TestKnobsValidate(t *testing.T) {
	tests := []struct {
		k         Knobs
		wantField string
	}{
		{Knobs{}, ""},
		{Knobs{ResetsPerHour: -1}, "resets_per_hour"},
		{Knobs{HalfOpenPerHour: math.Inf(1)}, "half_open_per_hour"},
		{Knobs{ConnectFail: 1.5}, "connect_fail"},
		{Knobs{PartitionsPerDay: 1}, "partition_mean"},
		{Knobs{OutagesPerDay: 1, OutageMean: time.Minute}, ""},
		{Knobs{OutagesPerDay: 1}, "outage_mean"},
	}
	for _, tt := range tests {
		err := tt.k.Validate()
		var fe *FieldError
		got := ""
		if errors.As(err, &fe) {
			got = fe.Field
		}
		if got != tt.wantField || (err == nil) != (tt.wantField == "") {
			t.Errorf("%+v.Validate() = %v, want field %q", tt.k, err, tt.wantField)
		}
	}
}

func TestLatencySampleBounds(t *testing.T) {
	s := rng.New(1, "latency-test", 0)
	l := Latency{Base: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
	for i := 0; i < 1000; i++ {
		if d := l.Sample(&s); d < l.Base || d >= l.Base+l.Jitter {
			t.Fatalf("Sample = %v, want in [%v, %v)", d, l.Base, l.Base+l.Jitter)
		}
	}
	tail := Latency{Base: time.Millisecond, Tail: TailPareto, TailProb: 1, TailScale: time.Second, TailShape: 2}
	if d := tail.Sample(&s); d < time.Second+time.Millisecond {
		t.Errorf("pareto tail sample %v below its minimum", d)
	}
	if err := (Latency{Tail: "weibull"}).Validate(); err == nil {
		t.Errorf("unknown tail accepted")
	}
}
