package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/sim"
)

func TestProgressBarRedrawsOnWholePercentChanges(t *testing.T) {
	var buf bytes.Buffer
	bar := newProgressBar(&buf, []string{"tencent", "aws"})
	const end = 100 * time.Second
	steps := []struct {
		run       int
		now       time.Duration
		wantDraws int
	}{
		{0, 0, 0},                     // 0 % is where it starts: nothing to redraw
		{0, 50 * time.Second, 1},      // 50 %
		{0, 50*time.Second + 1000, 1}, // still 50 %
		{1, 100 * time.Second, 2},     // aws done
		{1, 200 * time.Second, 2},     // beyond the end: clamped to 100 %
		{0, 51 * time.Second, 3},      // 51 %
	}
	for _, s := range steps {
		bar.update(s.run)(sim.Progress{Now: s.now, End: end})
		if got := strings.Count(buf.String(), "\r"); got != s.wantDraws {
			t.Errorf("after run %d at %v: %d draws, want %d", s.run, s.now, got, s.wantDraws)
		}
	}
	last := buf.String()[strings.LastIndex(buf.String(), "\r"):]
	for _, want := range []string{"tencent [#####.....]  51%", "aws [##########] 100%"} {
		if !strings.Contains(last, want) {
			t.Errorf("last draw %q lacks %q", last, want)
		}
	}
	bar.done()
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("done does not clear the line: %q", buf.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type test struct {
		name string
		w    io.Writer
		want bool
	}
	tests := []test{
		{"buffer", &bytes.Buffer{}, false},
		{"regular file", f, false},
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil { // only with a controlling terminal
		defer tty.Close()
		tests = append(tests, test{"/dev/tty", tty, true})
	}
	for _, tt := range tests {
		if got := isTerminal(tt.w); got != tt.want {
			t.Errorf("isTerminal(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestProgressBarFitsEightyColumns: with every profile the line stays under
// 80 columns (a wrapped line cannot be redrawn in place), the ETA included,
// and the usual three profiles keep bars of 7 cells.
func TestProgressBarFitsEightyColumns(t *testing.T) {
	for _, tt := range []struct {
		names []string
		cells int
	}{
		{[]string{"tencent", "aws", "hivemq"}, 7},
		{[]string{"tencent", "aws", "hivemq", "mosquitto", "emqx"}, 0},
		{[]string{"tencent", "aws", "hivemq", "mosquitto"}, 0},
	} {
		var buf bytes.Buffer
		b := newProgressBar(&buf, tt.names)
		for i := range tt.names {
			b.update(i)(sim.Progress{Now: 100, End: 100})
		}
		for _, line := range strings.Split(buf.String(), "\r") {
			if len(line) > progressWidth {
				t.Errorf("%v: line of %d columns: %q", tt.names, len(line), line)
			}
		}
		if got := b.barCells(); got != tt.cells {
			t.Errorf("%v: %d cells per bar, want %d", tt.names, got, tt.cells)
		}
	}
}

// TestProgressBarETA: the time left is estimated from the slowest run's
// share done, on the bar's clock.
func TestProgressBarETA(t *testing.T) {
	var buf bytes.Buffer
	b := newProgressBar(&buf, []string{"tencent", "aws"})
	t0 := time.Unix(0, 0)
	b.start, b.now = t0, func() time.Time { return t0.Add(10 * time.Second) }
	b.update(0)(sim.Progress{Now: 50, End: 100})
	b.update(1)(sim.Progress{Now: 25, End: 100})
	if got := b.eta(); got != "ETA 30s" {
		t.Errorf("eta = %q, want ETA 30s (25%% done in 10s)", got)
	}
	if !strings.HasSuffix(buf.String(), "ETA 30s") {
		t.Errorf("line %q does not end with the ETA", buf.String())
	}
}
