package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

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
}

// newProgressBar returns a bar for the named runs writing to w.
func newProgressBar(w io.Writer, names []string) *progressBar {
	return &progressBar{w: w, names: names, pct: make([]int, len(names))}
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

// draw rewrites the line; the caller holds mu.
func (b *progressBar) draw() {
	var sb strings.Builder
	sb.WriteString("\r")
	for i, name := range b.names {
		filled := b.pct[i] / 10
		fmt.Fprintf(&sb, "%s [%s%s] %3d%%  ", name, strings.Repeat("#", filled), strings.Repeat(".", 10-filled), b.pct[i])
	}
	io.WriteString(b.w, sb.String())
}

// done ends the bar's line.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	io.WriteString(b.w, "\r\033[K")
}
