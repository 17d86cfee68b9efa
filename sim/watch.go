package sim

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// watcher is everything that watches a run without steering it: the ledger
// (the metrics), the status-freshness tracker and Options.Observer (a
// checker). The runner tells it what happens, in order, through these
// methods; it runs in line (watch) or on a goroutine of its own (pipe,
// Options.Concurrent), and sees the same stream either way.
type watcher interface {
	step(rec *broker.Record, uid uint64)
	up(now time.Duration, dev int32, sessionPresent bool)
	down(now time.Duration, dev int32)
	received(now time.Duration, dev int32, p *packet.Publish)
	healed(now time.Duration)
	crashed(now time.Duration)
	acked(now time.Duration, dev int32, p *packet.Publish)
	sample(now time.Duration)
	// close records the state at the end (a last sample when the last one
	// is older than now) and closes the books; the metrics are final after
	// it returns.
	close(now time.Duration)
}

// watch is the watcher itself, called in line.
type watch struct {
	ledger  *ledger
	fresh   *freshness // nil without the status workload
	obs     Observer
	phases  PhaseObserver
	devObs  DeviceObserver
	crashes CrashObserver
	m       *Metrics
	ids     []string // client id per device
	byDepth []int    // scratch for queue-depth quantiles
}

func (w *watch) step(rec *broker.Record, uid uint64) {
	w.ledger.step(rec, uid)
	if w.obs != nil {
		w.obs.Step(rec)
	}
}

func (w *watch) up(now time.Duration, dev int32, sp bool) {
	if w.fresh != nil {
		w.fresh.device(now, dev, true)
	}
	if w.devObs != nil {
		w.devObs.DeviceUp(now, w.ids[dev], sp)
	}
}

func (w *watch) down(now time.Duration, dev int32) {
	if w.fresh != nil {
		w.fresh.device(now, dev, false)
	}
	if w.devObs != nil {
		w.devObs.DeviceDown(now, w.ids[dev])
	}
}

func (w *watch) received(now time.Duration, dev int32, p *packet.Publish) {
	if w.obs != nil {
		w.obs.Received(now, w.ids[dev], p)
	}
	w.ledger.received(now, dev, p)
	if w.fresh != nil {
		w.fresh.received(now, dev, p.Topic, p.Payload, w.ledger.ids)
	}
}

func (w *watch) healed(now time.Duration) {
	if w.phases != nil {
		w.phases.Healed(now)
	}
}

func (w *watch) crashed(now time.Duration) {
	w.ledger.crashed(now)
	if w.crashes != nil {
		w.crashes.Crashed(now)
	}
}

func (w *watch) acked(now time.Duration, dev int32, p *packet.Publish) {
	if w.crashes != nil {
		w.crashes.Acked(now, w.ids[dev], p)
	}
}

func (w *watch) sample(now time.Duration) { w.byDepth = w.ledger.sample(now, w.byDepth) }

func (w *watch) close(now time.Duration) {
	if n := len(w.m.Samples); n == 0 || w.m.Samples[n-1].T < now.Seconds() {
		w.sample(now) // the state at the end
	}
	w.ledger.close()
	if w.fresh != nil {
		w.fresh.close(now)
	}
}

// pipe is the watcher of Options.Concurrent: it copies what it is told into
// batches (a step's outputs out of the core's reused buffer) and hands them
// to a goroutine that tells a watch, in the same order.
type pipe struct {
	w     *watch
	cur   *batch // nil once closed
	full  chan *batch
	free  chan *batch
	done  chan struct{}
	panic any // what the watching goroutine panicked with, re-raised by close
}

// item is one call to the watcher; a step's outputs are batch.outs[lo:hi].
type item struct {
	kind   itemKind
	sp     bool
	dev    int32
	lo, hi int32
	uid    uint64
	at     time.Duration
	in     broker.Input
	pub    *packet.Publish
}

type itemKind uint8

const (
	itemStep itemKind = iota + 1
	itemUp
	itemDown
	itemReceived
	itemHealed
	itemSample
	itemCrashed
	itemAcked
)

// batch is a run of items and the outputs of their steps.
type batch struct {
	items []item
	outs  []broker.Output
}

// batchItems is how many items a batch holds before it is handed over, and
// batchesInFlight how many full batches may wait for the watching goroutine.
const (
	batchItems      = 1024
	batchesInFlight = 8
)

func newPipe(w *watch) *pipe {
	p := &pipe{w: w, full: make(chan *batch, batchesInFlight), free: make(chan *batch, batchesInFlight+2),
		done: make(chan struct{})}
	for range batchesInFlight + 2 {
		p.free <- &batch{items: make([]item, 0, batchItems)}
	}
	p.cur = <-p.free
	go p.run()
	return p
}

// run is the watching goroutine.
func (p *pipe) run() {
	defer close(p.done)
	defer func() {
		if v := recover(); v != nil { // an Observer broke: close re-raises it in the run's goroutine
			p.panic = fmt.Sprintf("%v\n%s", v, debug.Stack())
			for b := range p.full {
				p.free <- b
			}
		}
	}()
	w := p.w
	var rec broker.Record
	for b := range p.full {
		for i := range b.items {
			it := &b.items[i]
			switch it.kind {
			case itemStep:
				rec = broker.Record{At: it.at, Input: it.in, Outputs: b.outs[it.lo:it.hi]}
				w.step(&rec, it.uid)
			case itemUp:
				w.up(it.at, it.dev, it.sp)
			case itemDown:
				w.down(it.at, it.dev)
			case itemReceived:
				w.received(it.at, it.dev, it.pub)
			case itemHealed:
				w.healed(it.at)
			case itemCrashed:
				w.crashed(it.at)
			case itemAcked:
				w.acked(it.at, it.dev, it.pub)
			case itemSample:
				w.sample(it.at)
			}
		}
		clear(b.items)
		b.items = b.items[:0]
		clear(b.outs)
		b.outs = b.outs[:0]
		p.free <- b
	}
}

// add appends it to the current batch, handing the batch over when full.
func (p *pipe) add(it item) {
	p.cur.items = append(p.cur.items, it)
	if len(p.cur.items) == batchItems {
		p.full <- p.cur
		p.cur = <-p.free
	}
}

func (p *pipe) step(rec *broker.Record, uid uint64) {
	b := p.cur
	lo := int32(len(b.outs))
	b.outs = append(b.outs, rec.Outputs...)
	p.add(item{kind: itemStep, at: rec.At, in: rec.Input, uid: uid, lo: lo, hi: int32(len(b.outs))})
}

func (p *pipe) up(now time.Duration, dev int32, sp bool) {
	p.add(item{kind: itemUp, at: now, dev: dev, sp: sp})
}

func (p *pipe) down(now time.Duration, dev int32) { p.add(item{kind: itemDown, at: now, dev: dev}) }

func (p *pipe) received(now time.Duration, dev int32, pub *packet.Publish) {
	p.add(item{kind: itemReceived, at: now, dev: dev, pub: pub})
}

func (p *pipe) healed(now time.Duration) { p.add(item{kind: itemHealed, at: now}) }

func (p *pipe) crashed(now time.Duration) { p.add(item{kind: itemCrashed, at: now}) }

func (p *pipe) acked(now time.Duration, dev int32, pub *packet.Publish) {
	p.add(item{kind: itemAcked, at: now, dev: dev, pub: pub})
}

func (p *pipe) sample(now time.Duration) { p.add(item{kind: itemSample, at: now}) }

// close hands over the last batch, waits for the watching goroutine to
// drain, then closes the books in line. A panic of the watching goroutine
// is raised again here.
func (p *pipe) close(now time.Duration) {
	p.full <- p.cur
	p.cur = nil
	close(p.full)
	<-p.done
	if p.panic != nil {
		panic(p.panic)
	}
	p.w.close(now)
}

// abandon lets the watching goroutine end when the run panicked before
// close (a no-op after close).
func (p *pipe) abandon() {
	if p.cur != nil {
		p.cur = nil
		close(p.full)
	}
}
