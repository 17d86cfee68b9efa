package main

import (
	"os"
	"runtime/debug"
)

// The collector's settings for the batch commands (simulate, sweep) when
// the environment sets neither GOGC nor GOMEMLIMIT: a heap goal of five
// times the live heap, and a soft limit above which the collector works
// harder again instead of letting the heap grow.
const (
	batchGCPercent   = 400
	batchMemoryLimit = 4 << 30
)

// batchGC lets the garbage collector of a batch run work less often: a run
// allocates many short-lived packets and records over a live heap that stays
// small, so at Go's default (GOGC=100) collection takes a good part of a
// checked run's time. GOGC=400 gives most of that back for about twice the
// peak memory, bounded by a soft limit of 4 GiB. GOGC or GOMEMLIMIT in the
// environment wins.
func batchGC() {
	if gcFromEnv() {
		return
	}
	debug.SetGCPercent(batchGCPercent)
	debug.SetMemoryLimit(batchMemoryLimit)
}

// gcFromEnv reports whether the environment sets GOGC or GOMEMLIMIT, which
// then win over a command's own collector settings.
func gcFromEnv() bool {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	return gogc || limit
}
