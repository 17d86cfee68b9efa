package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/sim"
)

// isTerminal reports whether w is a character device (a terminal), where a
// progress bar belongs; pipes, files and test buffers are not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one line on a terminal with a bar per run, redrawn in
// place. It is safe for concurrent use by the runs' goroutines and only
// redraws when a run's whole percentage changes. It never affects results.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	names []string
	pct   []int
	start time.Time        // when the runs started, for the ETA
	now   func() time.Time // the wall clock (a test's own clock)
}

// newProgressBar returns a bar for the named runs writing to w.
func newProgressBar(w io.Writer, names []string) *progressBar {
	return &progressBar{w: w, names: names, pct: make([]int, len(names)), start: time.Now(), now: time.Now}
}

// update returns the progress callback of run i.
func (b *progressBar) update(i int) func(sim.Progress) {
	return func(p sim.Progress) {
		pct := 0
		if p.End > 0 {
			pct = int(min(100, 100*p.Now/p.End))
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if pct == b.pct[i] {
			return
		}
		b.pct[i] = pct
		b.draw()
	}
}

// progressWidth is the most columns the bar's line takes, so that it never
// wraps on an 80-column terminal (a wrapped line is not redrawn in place).
const progressWidth = 79

// barCells returns how many cells each run's bar gets so that the line fits
// progressWidth: up to 10, fewer with many or long profile names, 0 (the
// percentages alone) when not even 3 fit.
func (b *progressBar) barCells() int {
	fixed := len(etaWidth)
	for _, name := range b.names {
		fixed += len(name) + len(" [] 100%  ")
	}
	cells := (progressWidth - fixed) / max(1, len(b.names))
	if cells < 3 {
		return 0
	}
	return min(cells, 10)
}

// draw rewrites the line; the caller holds mu.
func (b *progressBar) draw() {
	var sb strings.Builder
	sb.WriteString("\r")
	cells := b.barCells()
	for i, name := range b.names {
		if cells == 0 {
			fmt.Fprintf(&sb, "%s %3d%%  ", name, b.pct[i])
			continue
		}
		filled := b.pct[i] * cells / 100
		fmt.Fprintf(&sb, "%s [%s%s] %3d%%  ", name, strings.Repeat("#", filled), strings.Repeat(".", cells-filled), b.pct[i])
	}
	sb.WriteString(b.eta())
	io.WriteString(b.w, strings.TrimRight(sb.String(), " "))
}

// etaWidth is the widest ETA the line makes room for.
const etaWidth = "ETA 59m59s"

// eta estimates the time left from the slowest run's share done so far
// ("ETA 1m20s"), or "" before there is anything to go by. The wall clock
// reaches the terminal only, never a result.
func (b *progressBar) eta() string {
	slowest := 100
	for _, p := range b.pct {
		slowest = min(slowest, p)
	}
	if slowest <= 0 || slowest >= 100 {
		return ""
	}
	elapsed := b.now().Sub(b.start)
	left := elapsed * time.Duration(100-slowest) / time.Duration(slowest)
	if left >= time.Hour {
		return "ETA >1h"
	}
	return "ETA " + left.Round(time.Second).String()
}

// done ends the bar's line.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	io.WriteString(b.w, "\r\033[K")
}
