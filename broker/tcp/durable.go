package tcp

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Store keeps the core's durable state for a durable server (NewDurable):
// the owner goroutine hands it every step's Record.Changes with Write, and
// a committer goroutine calls Commit to make everything written before the
// call durable. Write and Commit may run at the same time; Commit calls do
// not overlap. (package store implements it on pebble.)
type Store interface {
	Write(changes []broker.Change) error
	Commit() error
}

// Durable configures NewDurable.
type Durable struct {
	// Store receives the changes (required).
	Store Store
	// Image is the durable state the store held at boot (nil: none, a new
	// broker).
	Image *broker.Image
	// Boot is the broker's clock at boot: the server's clock goes on from
	// it, so that it continues the previous run's and downtime counts
	// toward expiry. It must not be earlier than any time in Image.
	Boot broker.Time
	// Metrics, if set, receives the commits' latency and sizes.
	Metrics *StoreMetrics
}

// NewDurable returns a server whose core keeps its durable state in
// d.Store (broker.Config.Durable): the core is recovered from d.Image at
// d.Boot (broker.Recover), the changes of the recovery are committed, then
// the server runs like one from New, except that the outputs of every step
// are held until the step's changes, and those of all steps before it,
// are durable.
//
// Commits are grouped: once the owner has stepped every input that has
// arrived, it starts a commit of what was written unless one is running;
// while it runs the owner goes on stepping (writing into the next batch and
// holding the outputs), and when it ends starts the next and performs the
// outputs the finished one covered, in order. So one
// sync covers every step that arrived during the previous one, across all
// connections. Close commits what was written before it returns. A
// failed Write or Commit stops the server (its outputs are never
// performed): Serve returns, and the error is logged.
func NewDurable(cfg Config, d Durable) (*Server, error) {
	if d.Store == nil {
		return nil, errors.New("tcp: Durable.Store is nil")
	}
	if cfg.Broker.ReusePackets {
		return nil, errors.New("tcp: a durable server holds outputs: Config.Broker.ReusePackets must be off")
	}
	if _, err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	cfg.Broker.Durable = true
	img := d.Image
	if img == nil {
		img = broker.NewImage()
	}
	core, rec, err := broker.Recover(cfg.Broker, img, d.Boot)
	if err != nil {
		return nil, err
	}
	if err := d.Store.Write(rec.Changes); err != nil {
		return nil, fmt.Errorf("tcp: writing the recovery's changes: %w", err)
	}
	if err := d.Store.Commit(); err != nil {
		return nil, fmt.Errorf("tcp: committing the recovery's changes: %w", err)
	}
	if m := cfg.Metrics; m != nil {
		m.restored(img)
	}
	return newServer(cfg, core, d.Boot, &durable{store: d.Store, metrics: d.Metrics,
		done: make(chan commitResult, 1), barrier: -1, heldOn: map[broker.ConnID]int32{}})
}

// restored counts the sessions of a recovered broker, all offline (no
// event announces them). Their queued copies are not counted in
// queued_messages: the gauge follows the copies queued since boot.
func (m *Metrics) restored(img *broker.Image) {
	for id := range img.Sessions {
		m.setOnline(id, false, true)
	}
	m.offlineGauge.Set(float64(len(m.online) - m.nOnline))
}

// durable is a durable server's group commit state. Owner goroutine only,
// but for the commit goroutine's result on done.
type durable struct {
	store   Store
	metrics *StoreMetrics

	held    []broker.Output         // sends and closes of steps not yet known durable, in order
	heldOn  map[broker.ConnID]int32 // outputs in held, per connection
	barrier int                     // index in held of the first step written after the running commit began; -1: none

	steps, changes int // steps (with changes) and changes written since the running commit began

	committing bool
	done       chan commitResult // the running commit's result
	failed     bool              // a Write or Commit failed: perform nothing more
}

// commitResult is what a commit goroutine reports.
type commitResult struct {
	err            error
	took           time.Duration
	steps, changes int
}

// output performs rec's outputs, or holds them when the server is durable.
func (s *Server) output(rec *broker.Record) {
	d := s.dur
	if d == nil {
		for _, out := range rec.Outputs {
			s.perform(out)
		}
		return
	}
	if d.failed {
		return
	}
	if len(rec.Changes) > 0 {
		if err := d.store.Write(rec.Changes); err != nil {
			s.storeFailed(err)
			return
		}
		if d.committing && d.barrier < 0 {
			d.barrier = len(d.held)
		}
		d.steps++
		d.changes += len(rec.Changes)
	}
	if len(d.held) == 0 && d.steps == 0 && !d.committing {
		for _, out := range rec.Outputs { // nothing to wait for
			s.perform(out)
		}
		return
	}
	for _, out := range rec.Outputs {
		switch {
		case out.Kind == broker.OutEvent:
		case d.heldOn[out.Conn] == 0 && mayPrecedeSync(out):
			s.perform(out)
		default:
			d.held = append(d.held, out)
			d.heldOn[out.Conn]++
		}
	}
}

// mayPrecedeSync reports whether out may be performed before its step's
// changes are durable, when nothing is held before it on its connection:
// a PUBLISH at QoS 0 or 1 to a subscriber. If the broker crashes before the
// sync, its changes are lost with the step, and the copy comes again after
// the restart (restored from its queue, or re-published by a publisher that
// never got its PUBACK): at least once, as QoS 1 allows [MQTT-4.3.2-1]. A
// QoS 1 receiver keeps no packet ids, so the id may go to another message
// after the restart. Acknowledgements, QoS 2 PUBLISHes and PUBRELs wait:
// a QoS 2 receiver holds the id until PUBREL [MQTT-4.3.3-2].
func mayPrecedeSync(out broker.Output) bool {
	p, ok := out.Packet.(*packet.Publish)
	return ok && out.Kind == broker.OutSend && p.QoS < 2
}

// maxBatchSteps bounds the steps written before a commit starts while
// input keeps arriving.
const maxBatchSteps = 512

// maybeCommit starts a commit of what was written when none runs and the
// owner has stepped every input that has arrived (so that a burst, say a
// subscriber's PUBACKs, goes into one commit), or maxBatchSteps are
// waiting. Owner goroutine, after each event it handles.
func (s *Server) maybeCommit() {
	if d := s.dur; len(s.inputs) == 0 || d.steps >= maxBatchSteps {
		s.startCommit()
	}
}

// startCommit starts a commit of everything written, unless one is running
// or nothing was written.
func (s *Server) startCommit() {
	d := s.dur
	if d.committing || d.steps == 0 || d.failed {
		return
	}
	d.committing, d.barrier = true, -1
	steps, changes := d.steps, d.changes
	d.steps, d.changes = 0, 0
	go func() {
		start := time.Now()
		err := d.store.Commit()
		d.done <- commitResult{err: err, took: time.Since(start), steps: steps, changes: changes}
	}()
}

// committed performs the outputs a finished commit covered, and those held
// behind it that wait for nothing else, then starts the next commit.
func (s *Server) committed(r commitResult) {
	d := s.dur
	d.committing = false
	if r.err != nil {
		s.storeFailed(r.err)
		return
	}
	if m := d.metrics; m != nil {
		m.commitSeconds.Observe(r.took.Seconds())
		m.commitSteps.Observe(float64(r.steps))
		m.commitChanges.Observe(float64(r.changes))
	}
	n := len(d.held)
	if d.barrier >= 0 {
		n = d.barrier
	}
	d.barrier = -1
	// The next commit (of what was written meanwhile) starts first, so that
	// its sync overlaps with performing these outputs.
	s.maybeCommit()
	outs := d.held[:n]
	for i := range outs {
		if c := outs[i].Conn; d.heldOn[c] > 1 {
			d.heldOn[c]--
		} else {
			delete(d.heldOn, c)
		}
		s.perform(outs[i])
		outs[i] = broker.Output{}
	}
	d.held = append(d.held[:0], d.held[n:]...)
	o := &s.owner
	for i := 0; i < len(o.lost); i++ { // performing may overflow connections
		s.feed(broker.Input{Kind: broker.InLost, Conn: o.lost[i]})
	}
	o.lost = o.lost[:0]
}

// storeFailed stops a durable server whose store failed: nothing it holds
// may be performed, and nothing more can be made durable.
func (s *Server) storeFailed(err error) {
	d := s.dur
	if d.failed {
		return
	}
	d.failed = true
	d.held, d.heldOn = nil, nil
	s.cfg.Logger.Error("store failed: stopping the server, since nothing more can be made durable", "err", err)
	go s.Close()
}

// commitOnClose waits for the running commit and commits what was written
// after it began. Owner goroutine, when the server closes.
func (s *Server) commitOnClose() {
	d := s.dur
	if d.committing {
		r := <-d.done
		d.committing = false
		if r.err != nil {
			s.storeFailed(r.err)
		}
	}
	if d.failed || d.steps == 0 {
		return
	}
	if err := d.store.Commit(); err != nil {
		s.storeFailed(err)
	}
	d.steps, d.changes = 0, 0
}

// StoreMetrics exports a durable server's commit metrics: the latency of
// each commit (a synced write) and how many steps and changes it covered.
type StoreMetrics struct {
	commitSeconds prometheus.Histogram
	commitSteps   prometheus.Histogram
	commitChanges prometheus.Histogram
}

// NewStoreMetrics creates the commit metrics and registers them with reg.
func NewStoreMetrics(reg prometheus.Registerer) (*StoreMetrics, error) {
	const ns = "sessionlab"
	m := &StoreMetrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "store_commit_seconds",
			Help:    "Latency of each commit of the durable state (a synced write).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}),
		commitSteps: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "store_commit_steps",
			Help:    "Steps of the core (with changes) covered by each commit: the group commit's batch size.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		commitChanges: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "store_commit_changes",
			Help:    "Changes to the durable state covered by each commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10)}),
	}
	for _, c := range []prometheus.Collector{m.commitSeconds, m.commitSteps, m.commitChanges} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tcp: registering store metrics: %w", err)
		}
	}
	return m, nil
}
