package plots

import (
	"math"
	"reflect"
	"testing"
)

func TestCDFOf(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		want    []Point
	}{
		{"empty", nil, nil},
		{"only NaN", []float64{math.NaN()}, nil},
		{"one", []float64{2}, []Point{{2, 1}}},
		{"unsorted with NaN", []float64{3, math.NaN(), 1, 2, 4},
			[]Point{{1, 0.25}, {2, 0.5}, {3, 0.75}, {4, 1}}},
		{"ties", []float64{1, 1, 2, 2}, []Point{{1, 0.25}, {1, 0.5}, {2, 0.75}, {2, 1}}},
	}
	for _, tt := range tests {
		if got := CDFOf(tt.samples); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: CDFOf(%v) = %v, want %v", tt.name, tt.samples, got, tt.want)
		}
	}
}

func TestCDFOfBoundsPointsAndKeepsExtremes(t *testing.T) {
	samples := make([]float64, 10007)
	for i := range samples {
		samples[i] = float64(len(samples) - i) // descending: 10007 .. 1
	}
	got := CDFOf(samples)
	if len(got) > maxCDFPoints+1 {
		t.Errorf("%d points, want at most %d", len(got), maxCDFPoints+1)
	}
	if first, last := got[0], got[len(got)-1]; first.X != 1 || last != (Point{10007, 1}) {
		t.Errorf("first %v, last %v; want X=1 first and (10007, 1) last", first, last)
	}
	for i := 1; i < len(got); i++ {
		if got[i].X < got[i-1].X || got[i].Y <= got[i-1].Y {
			t.Fatalf("points %d, %d = %v, %v: not increasing", i-1, i, got[i-1], got[i])
		}
	}
	if samples[0] != 10007 {
		t.Errorf("CDFOf sorted its argument")
	}
}

func TestCDFOfHistogram(t *testing.T) {
	tests := []struct {
		name   string
		bounds []float64
		counts []uint64
		want   []Point
	}{
		{"empty", nil, nil, nil},
		{"all zero", []float64{1, 2}, []uint64{0, 0}, nil},
		{"cumulates", []float64{0.1, 1, 10}, []uint64{1, 2, 1}, []Point{{0.1, 0.25}, {1, 0.75}, {10, 1}}},
		{"infinite bound skipped but counted", []float64{1, math.Inf(1)}, []uint64{1, 1}, []Point{{1, 0.5}}},
		{"surplus counts count in the total", []float64{1}, []uint64{1, 3}, []Point{{1, 0.25}}},
	}
	for _, tt := range tests {
		if got := CDFOfHistogram(tt.bounds, tt.counts); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
