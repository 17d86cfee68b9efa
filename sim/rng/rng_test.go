package rng

import (
	"math"
	"testing"
	"time"
)

func TestNewIndependentStreams(t *testing.T) {
	tests := []struct {
		name       string
		a, b       Stream
		wantEquals bool
	}{
		{"same key", New(1, "device", 3), New(1, "device", 3), true},
		{"other seed", New(1, "device", 3), New(2, "device", 3), false},
		{"other name", New(1, "device", 3), New(1, "link", 3), false},
		{"other index", New(1, "device", 3), New(1, "device", 4), false},
		{"name vs index swap", New(1, "a", 0), New(1, "", 'a'), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.Uint64() == tt.b.Uint64() && tt.a.Uint64() == tt.b.Uint64()
			if got != tt.wantEquals {
				t.Errorf("streams equal = %v, want %v", got, tt.wantEquals)
			}
		})
	}
}

func TestKnownValues(t *testing.T) {
	// SplitMix64 seeded with 0 produces this sequence (reference
	// implementation by Sebastiano Vigna, prng.di.unimi.it/splitmix64.c).
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	var s Stream
	for i, w := range want {
		if got := s.Uint64(); got != w {
			t.Fatalf("Uint64 #%d = %#x, want %#x", i, got, w)
		}
	}
}

func TestIntnRange(t *testing.T) {
	s := New(7, "intn", 0)
	for _, n := range []int{-1, 0, 1, 2, 3, 10, 1 << 40} {
		for i := 0; i < 1000; i++ {
			got := s.Intn(n)
			if n <= 0 && got != 0 || n > 0 && (got < 0 || got >= n) {
				t.Fatalf("Intn(%d) = %d, out of range", n, got)
			}
		}
	}
}

func TestDistributionMeans(t *testing.T) {
	const n = 200000
	tests := []struct {
		name string
		draw func(*Stream) float64
		want float64
		tol  float64
	}{
		{"Float64", func(s *Stream) float64 { return s.Float64() }, 0.5, 0.01},
		{"Exp(1s)", func(s *Stream) float64 { return s.Exp(time.Second).Seconds() }, 1, 0.02},
		{"Uniform(1s,3s)", func(s *Stream) float64 { return s.Uniform(time.Second, 3*time.Second).Seconds() }, 2, 0.02},
		{"Normal", func(s *Stream) float64 { return s.Normal() }, 0, 0.02},
		// E[lognormal] = median * exp(sigma^2/2).
		{"LogNormal(1s,0.5)", func(s *Stream) float64 { return s.LogNormal(time.Second, 0.5).Seconds() }, math.Exp(0.125), 0.03},
		// E[pareto] = alpha*xm/(alpha-1) for alpha > 1.
		{"Pareto(1s,3)", func(s *Stream) float64 { return s.Pareto(time.Second, 3).Seconds() }, 1.5, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(42, tt.name, 0)
			sum := 0.0
			for i := 0; i < n; i++ {
				sum += tt.draw(&s)
			}
			if got := sum / n; math.Abs(got-tt.want) > tt.tol {
				t.Errorf("mean = %.4f, want %.4f ± %.3f", got, tt.want, tt.tol)
			}
		})
	}
}

func TestDegenerateParameters(t *testing.T) {
	s := New(1, "degenerate", 0)
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"Exp(0)", s.Exp(0), 0},
		{"Uniform(hi<lo)", s.Uniform(3, 2), 3},
		{"LogNormal(sigma 0)", s.LogNormal(time.Second, 0), time.Second},
		{"Pareto(alpha 0)", s.Pareto(time.Second, 0), time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
