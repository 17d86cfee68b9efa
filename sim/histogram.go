package sim

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Histogram is a log-bucketed distribution of durations in the manner of
// HdrHistogram: 16 linear sub-buckets per power of two of microseconds, so
// any recorded value is known within 1/16 (6.25 %) and memory is bounded
// whatever the number of samples. It is JSON-serialisable; Buckets lists
// only the non-empty buckets, in increasing order.
type Histogram struct {
	Count int64    `json:"count"`
	Sum   float64  `json:"sum_s"` // seconds
	Min   float64  `json:"min_s"`
	Max   float64  `json:"max_s"`
	P50   float64  `json:"p50_s"`
	P90   float64  `json:"p90_s"`
	P99   float64  `json:"p99_s"`
	P999  float64  `json:"p999_s"`
	Bins  []Bucket `json:"buckets"`

	counts *[nBuckets]int64 // while recording
}

// Bucket is one histogram bucket: Count values in (previous Le, Le] seconds.
type Bucket struct {
	Le    float64 `json:"le_s"`
	Count int64   `json:"count"`
}

const (
	subBits  = 4
	subCount = 1 << subBits
	nBuckets = subCount + subCount*(63-subBits)
)

// bucketOf returns the bucket index of a value in microseconds.
func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	exp := bits.Len64(us) - 1 // >= subBits
	sub := int(us>>(exp-subBits)) & (subCount - 1)
	return subCount + (exp-subBits)*subCount + sub
}

// bucketUpper returns the largest microsecond value in bucket i.
func bucketUpper(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	exp := (i-subCount)/subCount + subBits
	sub := uint64((i - subCount) % subCount)
	lo := (subCount + sub) << (exp - subBits)
	return lo + (1 << (exp - subBits)) - 1
}

// Record adds one duration (negative durations count as 0).
func (h *Histogram) Record(d time.Duration) {
	if h.counts == nil {
		h.counts = new([nBuckets]int64)
	}
	d = max(d, 0)
	s := d.Seconds()
	if h.Count == 0 || s < h.Min {
		h.Min = s
	}
	h.Max = max(h.Max, s)
	h.Count++
	h.Sum += s
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
}

// finish fills Bins and the quantiles from the recorded counts.
func (h *Histogram) finish() {
	h.Bins = h.Bins[:0]
	if h.counts != nil {
		for i, c := range h.counts {
			if c > 0 {
				h.Bins = append(h.Bins, Bucket{Le: float64(bucketUpper(i)+1) / 1e6, Count: c})
			}
		}
	}
	h.P50, h.P90, h.P99, h.P999 = h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99), h.Quantile(0.999)
}

// Quantile returns the upper bound, in seconds, of the bucket holding the
// q-quantile (clamped to Max), and 0 for an empty histogram. It works on
// Bins, so also on a histogram read back from JSON.
func (h *Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || math.IsNaN(q) {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for _, b := range h.Bins {
		seen += b.Count
		if seen >= rank {
			return min(b.Le, h.Max)
		}
	}
	return h.Max
}

// Mean returns the mean in seconds (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / float64(h.Count)
}

// String describes the distribution in one line.
func (h *Histogram) String() string {
	return fmt.Sprintf("n=%d p50=%.3fs p99=%.3fs max=%.3fs", h.Count, h.P50, h.P99, h.Max)
}
