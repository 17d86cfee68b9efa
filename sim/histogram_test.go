package sim

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestBucketBoundsContainTheirValues(t *testing.T) {
	for _, us := range []uint64{0, 1, 15, 16, 17, 31, 32, 100, 1000, 123456, 1 << 40, math.MaxUint64 >> 2} {
		i := bucketOf(us)
		if hi := bucketUpper(i); us > hi || (i > 0 && us <= bucketUpper(i-1)) {
			t.Errorf("value %d in bucket %d with bounds (%d, %d]", us, i, bucketUpper(i-1), hi)
		}
		if i >= nBuckets {
			t.Errorf("value %d: bucket %d out of range", us, i)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   float64 // seconds, within 1/16
	}{
		{"empty", nil, 0.5, 0},
		{"single", []time.Duration{time.Second}, 0.99, 1},
		{"median of 1..100ms", seq(100, time.Millisecond), 0.5, 0.050},
		{"p99 of 1..100ms", seq(100, time.Millisecond), 0.99, 0.099},
		{"max clamps", []time.Duration{time.Millisecond, 5 * time.Second}, 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			h.finish()
			got := h.Quantile(tt.q)
			if math.Abs(got-tt.want) > tt.want/16+1e-6 {
				t.Errorf("Quantile(%g) = %g, want %g ± 6.25%%", tt.q, got, tt.want)
			}
			// The same answer after a JSON round trip, as the plots get it.
			b, err := json.Marshal(&h)
			if err != nil {
				t.Fatal(err)
			}
			var back Histogram
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Quantile(tt.q) != got {
				t.Errorf("after JSON: Quantile = %g, want %g", back.Quantile(tt.q), got)
			}
		})
	}
}

func seq(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

// TestMetricsJSON checks that a run's Metrics serialise deterministically
// and read back whole, as the CLI's metrics.json and the plots need.
func TestMetricsJSON(t *testing.T) {
	sc := small(t, "outage-storm", 20, 0)
	res, err := Run(sc, profile(t, "tencent"), 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := json.Marshal(&res.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Run(sc, profile(t, "tencent"), 2, Options{})
	b, _ := json.Marshal(&again.Metrics)
	if string(a) != string(b) {
		t.Errorf("same run, different metrics.json")
	}
	var back Metrics
	if err := json.Unmarshal(a, &back); err != nil {
		t.Fatal(err)
	}
	if back.Published != res.Metrics.Published || len(back.Samples) != len(res.Metrics.Samples) ||
		back.LatencyStored.Quantile(0.99) != res.Metrics.LatencyStored.Quantile(0.99) || back.Dropped["queue-full"] != res.Metrics.Dropped["queue-full"] {
		t.Errorf("metrics.json does not read back whole")
	}
	if res.Metrics.LatencyStored.Count == 0 || len(res.Metrics.Replays) == 0 {
		t.Errorf("outage-storm produced no stored deliveries or replays: %v", res)
	}
}
