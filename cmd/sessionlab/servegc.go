package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The collector's setting for serve when the environment sets neither GOGC
// nor GOMEMLIMIT: the heap may grow past the live heap by serveGCPercent of
// it, but by no less than serveGCFloor.
const (
	serveGCPercent = 25
	serveGCFloor   = 2 << 20
)

// serveGC keeps serve's heap close to its live data. A broker's live heap is
// mostly idle sessions and connections, and at Go's default (GOGC=100) the
// heap, and the resident memory that the runtime keeps after a collection,
// may reach twice that: about 0.15 KiB per idle persistent connection more
// than at 25 % (1,050 against 1,180 B at 19,000 connections). A small live
// heap (a few busy clients) would then be collected after every few hundred
// KiB allocated, so the headroom never falls below 2 MiB, which gives a
// live heap of 2 MiB Go's own minimum heap goal of 4 MiB: after every
// collection, GOGC is set to max(25, 100 * 2 MiB / live). GOGC or
// GOMEMLIMIT in the environment wins.
func serveGC() {
	if gcFromEnv() {
		return
	}
	t := &gcTuner{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.tune()
	runtime.SetFinalizer(t, (*gcTuner).collected)
}

// gcTuner sets GOGC from the live heap after each collection: it is only
// reachable from its own finalizer, which runs once per collection and
// arms itself again.
type gcTuner struct {
	sample  []metrics.Sample
	percent int
}

// collected runs after a collection (as the tuner's finalizer).
func (t *gcTuner) collected() {
	t.tune()
	runtime.SetFinalizer(t, (*gcTuner).collected)
}

// tune sets GOGC for the live heap of the last collection.
func (t *gcTuner) tune() {
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	if p := gcPercent(live); p != t.percent {
		t.percent = p
		debug.SetGCPercent(p)
	}
}

// gcPercent is the GOGC that gives a live heap of live bytes a headroom of
// max(serveGCPercent %, serveGCFloor), rounded up to a multiple of 5 so that
// it changes only when the live heap does.
func gcPercent(live uint64) int {
	p := serveGCPercent
	if live == 0 {
		return 100
	}
	if floor := (serveGCFloor*100 + live - 1) / live; floor > uint64(p) {
		p = int(min(floor, 1000))
	}
	return (p + 4) / 5 * 5
}
