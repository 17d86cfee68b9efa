package plots

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var keep = flag.String("keep", "", "also write the synthetic charts into this directory, to look at them")

func TestWriteAllChartsBothFormats(t *testing.T) {
	dir := t.TempDir()
	if *keep != "" {
		dir = *keep
	}
	paths, err := Write(dir, synthetic(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency_cdf", "queue_depth", "fleet_state", "replay_drain", "drops"}
	if got := len(paths); got != 2*len(want) {
		t.Fatalf("Write wrote %d files, want %d: %v", got, 2*len(want), paths)
	}
	for i, name := range want {
		for j, ext := range Formats {
			path := paths[2*i+j]
			if got, want := filepath.Base(path), name+"."+ext; got != want {
				t.Errorf("file %d = %s, want %s", 2*i+j, got, want)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkMagic(t, path, ext, data)
		}
	}
}

// checkMagic fails unless data starts like a file of format ext.
func checkMagic(t *testing.T, path, ext string, data []byte) {
	t.Helper()
	magic := map[string][]byte{"png": []byte("\x89PNG\r\n\x1a\n"), "svg": []byte("<?xml")}[ext]
	if !bytes.HasPrefix(data, magic) {
		t.Errorf("%s starts with %q, want %q", path, data[:min(len(data), 8)], magic)
	}
	if len(data) < 2000 {
		t.Errorf("%s is only %d bytes", path, len(data))
	}
}

func TestChartsAreByteIdentical(t *testing.T) {
	a, b := Charts(synthetic(7)), Charts(synthetic(7))
	other := Charts(synthetic(8))
	for i := range a {
		for _, format := range Formats {
			got, want, diff := encode(t, a[i], format), encode(t, b[i], format), encode(t, other[i], format)
			if !bytes.Equal(got, want) {
				t.Errorf("%s.%s differs between two renderings of the same input", a[i].Name, format)
			}
			if bytes.Equal(got, diff) {
				t.Errorf("%s.%s is the same for different inputs; the test proves nothing", a[i].Name, format)
			}
		}
	}
}

func encode(t *testing.T, c Chart, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Encode(&buf, format); err != nil {
		t.Fatalf("%s.%s: %v", c.Name, format, err)
	}
	return buf.Bytes()
}

func TestChartsSurviveDegenerateInput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		in   Input
	}{
		{"no profiles", Input{}},
		{"empty profile", Input{Profiles: []Profile{{Name: "empty"}}}},
		{"one point each", Input{Profiles: []Profile{{
			Name: "one", LiveLatency: []Point{{0.1, 1}}, StoredLatency: []Point{{0.1, 1}},
			QueueP50: []Point{{0, 0}}, Online: []Point{{0, 1}}, Drain: []Point{{0, 0}},
			Drops: []Count{{"queue full", 0}},
		}}}},
		{"non-positive latencies on a log axis", Input{Profiles: []Profile{{
			Name: "zero", LiveLatency: []Point{{0, 0.5}, {-1, 1}},
		}}}},
		{"NaN and infinities", Input{
			Rules: []Rule{{"nan", nan}, {"inf", inf}},
			Profiles: []Profile{{
				Name: "bad", LiveLatency: []Point{{nan, 0.5}, {inf, 1}}, QueueMax: []Point{{nan, inf}},
				Drain: []Point{{inf, nan}}, Drops: []Count{{"x", nan}, {"y", inf}},
			}},
		}},
		{"ten profiles cycle the palette", Input{Profiles: make([]Profile, 10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range Charts(tt.in) {
				for _, format := range Formats {
					if got := encode(t, c, format); len(got) == 0 {
						t.Errorf("%s.%s is empty", c.Name, format)
					}
				}
			}
		})
	}
}

func TestEncodeRejectsUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := LatencyChart(Input{}).Encode(&buf, "gif"); err == nil {
		t.Error("Encode(gif) = nil error, want an error")
	}
}

// BenchmarkCharts measures drawing and encoding the five charts of a
// three-profile synthetic input, per format.
func BenchmarkCharts(b *testing.B) {
	in := synthetic(1)
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			var size int
			for b.Loop() {
				size = 0
				for _, c := range Charts(in) {
					var buf bytes.Buffer
					if err := c.Encode(&buf, format); err != nil {
						b.Fatal(err)
					}
					size += buf.Len()
				}
			}
			b.ReportMetric(float64(size), "bytes/set")
		})
	}
}
