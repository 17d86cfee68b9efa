package plots

import (
	"math"
	"reflect"
	"testing"
)

func TestDecadeTicks(t *testing.T) {
	ticks := decadeTicks(0.01, 10, secondsLabel)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if want := []string{"10ms", "100ms", "1s", "10s"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("labels = %q, want %q", labels, want)
	}
	if got, want := len(ticks), 3*9+1; got != want {
		t.Errorf("%d ticks, want %d (9 per decade and the last decade)", got, want)
	}
	for _, bad := range [][2]float64{{0, 10}, {-1, 10}, {10, 1}, {math.NaN(), 1}} {
		if got := decadeTicks(bad[0], bad[1], secondsLabel); got != nil {
			t.Errorf("decadeTicks(%v) = %v, want none", bad, got)
		}
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		f    func(float64) string
		in   float64
		want string
	}{
		{secondsLabel, 0.0001, "100µs"},
		{secondsLabel, 0.001, "1ms"},
		{secondsLabel, 0.5, "500ms"},
		{secondsLabel, 1, "1s"},
		{secondsLabel, 10000, "10000s"},
		{plainNumber, 500, "500"},
		{plainNumber, 0.1 + 0.2, "0.3"},
		{plainNumber, 2e6, "2000000"},
		{plainNumber, 1234567, "1234570"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("label(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimeAxis(t *testing.T) {
	tests := []struct {
		endSeconds float64
		wantUnit   string
		wantLabels []string
	}{
		{40 * 60, "min", []string{"0", "5", "10", "15", "20", "25", "30", "35", "40"}},
		{26.5 * 3600, "h", []string{"0", "6", "12", "18", "24"}},
		{72 * 3600, "h", []string{"0", "12", "24", "36", "48", "60", "72"}},
	}
	for _, tt := range tests {
		u := unitFor(tt.endSeconds)
		if u.name != tt.wantUnit {
			t.Errorf("unitFor(%gs) = %s, want %s", tt.endSeconds, u.name, tt.wantUnit)
		}
		p := newPlot("", "", "")
		setTime(&p.X, u, tt.endSeconds/u.seconds)
		var labels []string
		for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			labels = append(labels, tk.Label)
		}
		if !reflect.DeepEqual(labels, tt.wantLabels) {
			t.Errorf("end %gs: tick labels %q, want %q", tt.endSeconds, labels, tt.wantLabels)
		}
	}
}

func TestQuantileOf(t *testing.T) {
	lists := [][]Point{{{1, 0}, {3, 0}}, {{2, 0}, {math.NaN(), 0}, {4, 0}}}
	tests := []struct {
		q    float64
		want float64
	}{{0, 1}, {0.25, 1}, {0.5, 2}, {0.99, 4}, {1, 4}, {math.NaN(), 1}}
	for _, tt := range tests {
		if got := quantileOf(pickX, lists, tt.q); got != tt.want {
			t.Errorf("quantileOf(%g) = %g, want %g", tt.q, got, tt.want)
		}
	}
	if got := quantileOf(pickX, nil, 0.5); !math.IsInf(got, 1) {
		t.Errorf("quantileOf(empty) = %g, want +Inf", got)
	}
}
