package check

import (
	"sync/atomic"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// RunConcurrent is Run with the checker on a goroutine of its own: the run
// hands its step records (and receipts, the heal and the devices' view) to
// it in batches, so that checking takes a second core instead of adding to
// the run's time. Its verdict is Run's: the checker sees the same stream in
// the same order, and a run it finds failing (or stalled) is run again with
// Run, so that a failure is reported exactly as Run reports it (the same
// truncated digest, the same violation) whatever the goroutines' timing.
// Use it when a core is idle; with every core busy (a sweep), Run costs
// less.
func RunConcurrent(sc scenario.Scenario, pol broker.Policy, seed uint64, opts sim.Options) (*sim.Result, *Violation, error) {
	k := New(Config{Policy: pol, HealAt: sc.Duration, Bound: Bound(sc, pol), Next: opts.Observer})
	f := newFeeder(k)
	opts.Observer = f
	stop := opts.Stop
	opts.Stop = func() bool { return f.failed.Load() || stop != nil && stop() }
	res, err := sim.Run(sc, pol, seed, opts)
	f.close()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case f.failed.Load(): // the run went on past the failure for a while: run it as Run does
		opts.Observer, opts.Stop = k.cfg.Next, stop
		return Run(sc, pol, seed, opts)
	case res.Stalled:
		return res, Stall(res), nil
	case res.Truncated:
		return res, nil, nil // cut short: liveness and conservation cannot be judged
	}
	return res, k.Finish(sc.End()), nil
}

// itemKind says what one item of a batch carries.
type itemKind uint8

const (
	itemStep itemKind = iota + 1
	itemReceived
	itemHealed
	itemUp
	itemDown
)

// item is one observation in a batch: a step record (its outputs are
// batch.outs[lo:hi]), a receipt, the heal, or a device going up or down.
type item struct {
	kind   itemKind
	sp     bool
	at     broker.Time
	in     broker.Input
	lo, hi int32
	client string
	pub    *packet.Publish
}

// batch is a run of items and the outputs of their steps, copied out of the
// core's reused buffers.
type batch struct {
	items []item
	outs  []broker.Output
}

// batchItems is how many items a batch holds before it is handed over, and
// batchesInFlight how many full batches may wait for the checker.
const (
	batchItems      = 1024
	batchesInFlight = 8
)

// feeder is the sim.Observer of RunConcurrent: it copies what it is shown
// into batches for the checker's goroutine.
type feeder struct {
	k      *Checker
	cur    *batch
	full   chan *batch
	free   chan *batch
	done   chan struct{}
	failed atomic.Bool
}

func newFeeder(k *Checker) *feeder {
	f := &feeder{k: k, full: make(chan *batch, batchesInFlight), free: make(chan *batch, batchesInFlight+2),
		done: make(chan struct{})}
	for range batchesInFlight + 2 {
		f.free <- &batch{items: make([]item, 0, batchItems)}
	}
	f.cur = <-f.free
	go f.check()
	return f
}

// check is the checker's goroutine: it replays every batch to the checker
// in order. Once the checker has failed it only drains.
func (f *feeder) check() {
	defer close(f.done)
	defer func() {
		if recover() != nil {
			f.failed.Store(true) // Run repeats it where the panic is reported
			for b := range f.full {
				f.free <- b
			}
		}
	}()
	k := f.k
	var rec broker.Record
	for b := range f.full {
		for i := range b.items {
			if f.failed.Load() {
				break
			}
			it := &b.items[i]
			switch it.kind {
			case itemStep:
				rec = broker.Record{At: it.at, Input: it.in, Outputs: b.outs[it.lo:it.hi]}
				k.Step(&rec)
			case itemReceived:
				k.Received(it.at, it.client, it.pub)
			case itemHealed:
				k.Healed(it.at)
			case itemUp:
				k.DeviceUp(it.at, it.client, it.sp)
			case itemDown:
				k.DeviceDown(it.at, it.client)
			}
			if k.first != nil {
				f.failed.Store(true)
			}
		}
		clear(b.items)
		b.items = b.items[:0]
		clear(b.outs)
		b.outs = b.outs[:0]
		f.free <- b
	}
}

// add appends it to the current batch, handing the batch over when full.
func (f *feeder) add(it item) {
	f.cur.items = append(f.cur.items, it)
	if len(f.cur.items) == batchItems {
		f.full <- f.cur
		f.cur = <-f.free
	}
}

// close hands over the last batch and waits for the checker to finish.
func (f *feeder) close() {
	f.full <- f.cur
	f.cur = nil
	close(f.full)
	<-f.done
}

// Step implements sim.Observer.
func (f *feeder) Step(rec *broker.Record) {
	b := f.cur
	lo := int32(len(b.outs))
	b.outs = append(b.outs, rec.Outputs...)
	f.add(item{kind: itemStep, at: rec.At, in: rec.Input, lo: lo, hi: int32(len(b.outs))})
}

// Received implements sim.Observer.
func (f *feeder) Received(now broker.Time, clientID string, p *packet.Publish) {
	f.add(item{kind: itemReceived, at: now, client: clientID, pub: p})
}

// Healed implements sim.PhaseObserver.
func (f *feeder) Healed(now broker.Time) { f.add(item{kind: itemHealed, at: now}) }

// DeviceUp implements sim.DeviceObserver.
func (f *feeder) DeviceUp(now broker.Time, clientID string, sessionPresent bool) {
	f.add(item{kind: itemUp, at: now, client: clientID, sp: sessionPresent})
}

// DeviceDown implements sim.DeviceObserver.
func (f *feeder) DeviceDown(now broker.Time, clientID string) {
	f.add(item{kind: itemDown, at: now, client: clientID})
}

var (
	_ sim.Observer       = (*feeder)(nil)
	_ sim.PhaseObserver  = (*feeder)(nil)
	_ sim.DeviceObserver = (*feeder)(nil)
)
