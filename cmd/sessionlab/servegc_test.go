package main

import "testing"

func TestServeGCPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{1 << 20, 200},  // 2 MiB of headroom over 1 MiB
		{2 << 20, 100},  // Go's default minimum heap goal, 4 MiB
		{8 << 20, 25},   // 25 % from 8 MiB up
		{100 << 20, 25}, // 100,000 idle connections
		{1 << 10, 1000}, // capped
		{5 << 20, 40},   // 2/5
		{6 << 20, 35},   // 2/6 rounded up to a multiple of 5
	} {
		if got := gcPercent(c.live); got != c.want {
			t.Errorf("gcPercent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}
