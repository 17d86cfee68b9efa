package plots

import (
	"math"
	"slices"
)

// maxCDFPoints bounds the points CDFOf returns, so that charts of millions
// of samples stay small.
const maxCDFPoints = 400

// CDFOf returns the empirical cumulative distribution of samples as points
// (value, fraction of samples ≤ value), at most maxCDFPoints of them, evenly
// spaced in rank and always including the smallest and largest sample. NaN
// samples are ignored; samples is not modified.
func CDFOf(samples []float64) []Point {
	s := make([]float64, 0, len(samples))
	for _, v := range samples {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	n := len(s)
	steps := min(n, maxCDFPoints)
	pts := make([]Point, 0, steps+1)
	pts = append(pts, Point{s[0], 1 / float64(n)})
	for k := 1; k <= steps; k++ {
		i := k*n/steps - 1 // last index of the k-th rank slice
		if i <= 0 {
			continue
		}
		pts = append(pts, Point{s[i], float64(i+1) / float64(n)})
	}
	return pts
}

// CDFOfHistogram returns the cumulative distribution of a histogram as
// points (upper bound, fraction of samples ≤ bound), one per bucket with
// upper bound bounds[i] and counts[i] samples; buckets whose bound is NaN or
// infinite, and surplus counts or bounds, are left out of the points but
// not of the total. It returns nil when the histogram is empty.
func CDFOfHistogram(bounds []float64, counts []uint64) []Point {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return nil
	}
	var pts []Point
	var cum uint64
	for i := 0; i < len(bounds) && i < len(counts); i++ {
		cum += counts[i]
		if math.IsNaN(bounds[i]) || math.IsInf(bounds[i], 0) {
			continue
		}
		pts = append(pts, Point{bounds[i], float64(cum) / float64(total)})
	}
	return pts
}
