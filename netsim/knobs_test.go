package netsim

import (
	"errors"
	"math"
	"testing"
	"time"
)

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
	s := newTestRand(1, 0)
	l := Latency{Base: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
	for i := 0; i < 1000; i++ {
		if d := l.Sample(s); d < l.Base || d >= l.Base+l.Jitter {
			t.Fatalf("Sample = %v, want in [%v, %v)", d, l.Base, l.Base+l.Jitter)
		}
	}
	tail := Latency{Base: time.Millisecond, Tail: TailPareto, TailProb: 1, TailScale: time.Second, TailShape: 2}
	if d := tail.Sample(s); d < time.Second+time.Millisecond {
		t.Errorf("pareto tail sample %v below its minimum", d)
	}
	if err := (Latency{Tail: "weibull"}).Validate(); err == nil {
		t.Errorf("unknown tail accepted")
	}
}
