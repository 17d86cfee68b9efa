package sim

import (
	"bufio"
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/rng"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// InitialSpread is the window over which devices first power on, so that
// a run does not start with the whole fleet connecting in the same instant.
const InitialSpread = 30 * time.Second

// runner is the state of one run. It is used by one goroutine only.
type runner struct {
	sc     scenario.Scenario
	opts   Options
	core   Core
	rec    broker.Record // the last step's record
	net    *netsim.Network[packet.Packet]
	knobs  netsim.Knobs
	q      queue
	timers timers // one deadline per device, see timers
	now    time.Duration
	end    time.Duration
	healed bool

	devs      []device
	groups    []scenario.Group
	targets   []int32 // command devices, the backends' targets
	w         watcher // the ledger, freshness and Options.Observer, in line or on their own goroutine
	m         Metrics
	dg        digest
	outages   []window        // broker-wide outages, scripted and drawn
	crashes   []time.Duration // downtime of each crash, scripted and drawn
	disk      disk            // the broker's store, when it can crash
	brokerAt  time.Duration   // the armed broker timer, -1 when none
	events    int64
	truncated bool
	stalled   bool
	sameAt    int64             // events in a row at r.now
	trace     *bufio.Writer     // Options.Trace, buffered
	byKind    [evLast + 1]int64 // events processed, by kind

	curUID  uint64 // payload id of the PUBLISH being stepped, for EvPublished
	nextUID uint64
	arena   []byte // payload arena: 8-byte ids carved from 4 KiB chunks
	wireBuf []byte // scratch for Options.Wire
}

// Run simulates sc under the broker policy with the given seed. It
// returns an error only for an invalid scenario or policy; whatever the
// broker does is measured, not judged (checkers use Options.Observer).
func Run(sc scenario.Scenario, policy broker.Policy, seed uint64, opts Options) (*Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("sim: scenario %s: %w", sc.Name, err)
	}
	newCore := opts.NewCore
	if newCore == nil {
		newCore = func(c broker.Config) (Core, error) { return broker.New(c) }
	}
	r := &runner{sc: sc, opts: opts, end: sc.End(), brokerAt: -1, dg: fnvOffset}
	r.knobs = Knobs(sc, seed)
	cfg := broker.Config{Policy: policy}
	if crashing(r) {
		cfg.Durable, cfg.ReportRestored = true, true
		r.initDisk(seed, cfg)
	}
	core, err := newCore(cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: profile %s: %w", policy.Name, err)
	}
	r.core = core
	r.net = netsim.New[packet.Packet](netsim.Config{Latency: sc.Network.Latency, Knobs: r.knobs, HostRand: func(h int) netsim.Rand {
		s := rng.New(seed, "netsim/host", h)
		return &s
	}})
	r.m = Metrics{Scenario: sc.Name, Profile: policy.Name, Seed: seed, Devices: sc.Devices(),
		Duration: sc.Duration.Seconds(), Heal: sc.Heal.Seconds(), SampleSeconds: sc.SampleEvery().Seconds()}
	if opts.Trace != nil {
		r.trace = bufio.NewWriter(opts.Trace)
		defer r.trace.Flush()
		fmt.Fprintf(r.trace, "run %v profile=%s seed=%d knobs: %v\n", sc, policy.Name, seed, r.knobs)
	}
	r.setup(seed)
	if p, ok := r.w.(*pipe); ok {
		defer p.abandon()
	}
	r.loop()
	return r.finish(), nil
}

// Knobs returns the network fault knobs a run of sc with seed uses: the
// scenario's fixed knobs, or the swarm draw when sc.Network.Swarm. It is
// what Result.Knobs will hold, so a driver can print it before the run.
func Knobs(sc scenario.Scenario, seed uint64) netsim.Knobs {
	if !sc.Network.Swarm {
		return sc.Network.Faults
	}
	s := rng.New(seed, "netsim/swarm", 0)
	k := swarmKnobs(&s)
	c := rng.New(seed, "sim/swarm-crash", 0) // its own stream: the older draws are unchanged
	if c.Bool(0.25) {
		k.CrashesPerDay = logUniform(&c, 0.5, 12)
		k.CrashDowntime = time.Duration(logUniform(&c, 1, 600)) * time.Second
	}
	return k
}

// next removes and returns the earliest of the queued events and the
// device timers (a timer is returned as an evDeviceTimer event).
func (r *runner) next() (event, bool) {
	tm, tok := r.timers.peek()
	e, eok := r.q.Peek()
	if tok && (!eok || tm.at < e.at || tm.at == e.at && tm.seq < e.seq) {
		r.timers.clear(tm.dev)
		r.devs[tm.dev].timerAt = -1
		return event{at: tm.at, seq: tm.seq, kind: evDeviceTimer, dev: tm.dev}, true
	}
	return r.q.Pop()
}

// loop pops and dispatches events until the end of the run.
func (r *runner) loop() {
	for {
		e, ok := r.next()
		if !ok || e.at > r.end || e.kind == evEnd {
			r.now = max(r.now, min(e.at, r.end))
			return
		}
		if r.opts.MaxEvents > 0 && r.events >= r.opts.MaxEvents || r.opts.Stop != nil && r.opts.Stop() {
			r.truncated = true
			return
		}
		if e.at == r.now {
			if r.sameAt++; r.sameAt >= StallEvents {
				r.stalled, r.truncated = true, true
				return
			}
		} else {
			r.sameAt = 0
		}
		r.now = e.at
		r.events++
		r.byKind[e.kind]++
		r.dg.engineEvent(&e)
		if r.trace != nil {
			fmt.Fprintln(r.trace, e)
		}
		r.dispatch(&e)
	}
}

// at schedules e at time t (never in the past).
func (r *runner) at(t time.Duration, e event) {
	e.at = max(t, r.now)
	r.q.Push(e)
}

func (r *runner) dispatch(e *event) {
	switch e.kind {
	case evArrive:
		r.arrive(e)
	case evNotice:
		r.notice(e)
	case evDialed:
		r.dialed(e)
	case evServerOpen:
		if _, ok := r.net.Host(netsim.ConnID(e.conn)); ok {
			r.step(broker.Input{Kind: broker.InOpen, Conn: broker.ConnID(e.conn)})
		}
	case evLinkFault:
		if !r.healed {
			r.notices(r.net.Fail(r.now, netsim.ConnID(e.conn), netsim.Fault(e.arg)))
		}
	case evDeviceTimer:
		r.devs[e.dev].sess.Deadline(r.now)
		r.clientActions(e.dev)
	case evBrokerTimer:
		if r.brokerAt == e.at {
			r.brokerAt = -1
			r.step(broker.Input{Kind: broker.InDeadline})
		}
	case evPublish:
		r.publish(e.dev, e.arg)
	case evPowerOff:
		r.powerOff(e.dev)
	case evPowerOn:
		r.powerOn(e.dev)
	case evOutageStart:
		r.outage(int(e.arg))
	case evCrash:
		r.crash(r.crashes[e.arg])
	case evRestart:
		r.restart()
	case evCommit:
		r.commit(e.arg)
	case evPartition:
		r.partition(e.dev, int(e.arg))
	case evSample:
		r.sample()
	case evHeal:
		r.heal()
	}
}

// finish closes the books and returns the result.
func (r *runner) finish() *Result {
	r.w.close(r.now)
	m := &r.m
	for i := range r.devs {
		st := r.devs[i].sess.Stats()
		m.PingTimeouts += int64(st.PingTimeouts)
		m.Dials += int64(st.Dials)
		m.PublisherResends += int64(st.Resends)
	}
	m.LatencyLive.finish()
	m.LatencyStored.finish()
	m.LatencyCrash.finish()
	m.ReplayDrain.finish()
	m.StatusWrong.finish()
	byKind := map[string]int64{}
	for k, n := range r.byKind {
		if n > 0 {
			byKind[eventKind(k).String()] = n
		}
	}
	var stalledAt time.Duration
	if r.stalled {
		stalledAt = r.now
	}
	return &Result{Metrics: r.m, Digest: r.dg.Sum(), Events: r.events, EventsByKind: byKind, Knobs: r.knobs,
		Truncated: r.truncated, Stalled: r.stalled, StalledAt: stalledAt}
}

// sample records the fleet series and reports progress.
func (r *runner) sample() {
	r.w.sample(r.now)
	if next := r.now + r.sc.SampleEvery(); next <= r.end {
		r.at(next, event{kind: evSample, dev: -1})
	}
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Now: r.now, End: r.end, Events: r.events})
	}
}
