package sim

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/rng"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// disk is the simulated store of a broker that can crash (scenario crash
// events, or the crashes_per_day knob). The core then runs with
// Config.Durable, and the runner follows the core's rule: a step's outputs
// are performed only once its durable changes are on disk.
//
// The disk commits in groups, like serve --data: a step with changes (or
// any step while earlier ones wait, so that no output overtakes another)
// is held; if no commit is in flight, one starts and covers every held
// step; it completes after a sync latency, drawn per commit from the run's
// mean (itself drawn from the seed); steps held meanwhile wait for the next
// commit. When a commit completes, its steps' changes join the image (what
// survives a crash), and the steps are observed and performed in order.
//
// Crashes strike at their drawn instant, or (half of them, drawn) at a
// drawn instant inside the next commit. A crash loses every held step, the commit in flight among them: those
// steps' outputs were never performed, so no client saw them. A torn last
// write is one such lost commit: a real store detects it by its checksum
// and discards it whole (serve --data's pebble batches are atomic, and its
// crash tests tear writes on pebble's strict in-memory filesystem). The
// broker restarts after the downtime, rebuilt by broker.Recover from the
// image at the restart time.
type disk struct {
	on      bool
	image   *broker.Image
	held    []heldStep // steps waiting for a commit, in order
	syncing int        // held[:syncing] are covered by the commit in flight
	gen     uint16     // bumped by each crash: a stale commit event is ignored
	down    bool       // crashed and not yet restarted
	// aimed is the downtime of a crash put off until the next commit, to
	// strike while that commit is in flight (0: none).
	aimed time.Duration
	mean  time.Duration
	rand  rng.Stream
	cfg   broker.Config
}

// heldStep is a step waiting to be durable, with its payload id.
type heldStep struct {
	rec broker.Record
	uid uint64
}

// Sync latency bounds: the run's mean is drawn log-uniformly between them
// (an fsync on NVMe to one on a busy network disk).
const (
	minSync = 100 * time.Microsecond
	maxSync = 20 * time.Millisecond
)

// crashing reports whether the run can crash the broker.
func crashing(r *runner) bool { return canCrash(r.sc, r.knobs) }

// CanCrash reports whether a run of sc with seed can crash the broker: a
// scripted crash, or crashes_per_day in the knobs (drawn, when swarm).
func CanCrash(sc scenario.Scenario, seed uint64) bool { return canCrash(sc, Knobs(sc, seed)) }

func canCrash(sc scenario.Scenario, k netsim.Knobs) bool {
	if k.CrashesPerDay > 0 {
		return true
	}
	for _, ev := range sc.Events {
		if ev.Kind == scenario.Crash {
			return true
		}
	}
	return false
}

// initDisk turns the disk on when the run can crash; the draws come from
// their own stream, so runs without crashes are unchanged.
func (r *runner) initDisk(seed uint64, cfg broker.Config) {
	r.disk = disk{on: true, image: broker.NewImage(), cfg: cfg, rand: rng.New(seed, "sim/disk", 0)}
	r.disk.mean = time.Duration(logUniform(&r.disk.rand, float64(minSync), float64(maxSync)))
	r.m.SyncMean = r.disk.mean.Seconds()
}

// hold keeps a step until its changes are durable, and starts a commit
// when none is in flight.
func (r *runner) hold(rec *broker.Record, uid uint64) {
	r.disk.held = append(r.disk.held, heldStep{rec: rec.Clone(), uid: uid})
	if r.disk.syncing == 0 {
		r.startCommit()
	}
}

// startCommit starts a commit covering every held step.
func (r *runner) startCommit() {
	r.disk.syncing = len(r.disk.held)
	lat := time.Duration(float64(r.disk.mean) * (0.5 + r.disk.rand.Float64()))
	r.m.Commits++
	r.at(r.now+lat, event{kind: evCommit, dev: -1, arg: r.disk.gen})
	if d := r.disk.aimed; d > 0 {
		r.disk.aimed = 0
		r.addCrash(r.now+time.Duration(float64(lat)*r.disk.rand.Float64()), d)
	}
}

// commit completes the commit in flight: its changes join the image, then
// its steps are observed and their outputs performed, in order.
func (r *runner) commit(gen uint16) {
	d := &r.disk
	if gen != d.gen || d.syncing == 0 {
		return // the commit died with a crash
	}
	done := d.held[:d.syncing]
	for i := range done {
		for j := range done[i].rec.Changes {
			if err := d.image.Apply(&done[i].rec.Changes[j]); err != nil {
				panic(fmt.Sprintf("sim: the core's durable changes do not apply: %v", err))
			}
		}
	}
	for i := range done {
		h := &done[i]
		r.w.step(&h.rec, h.uid)
		r.perform(&h.rec)
		*h = heldStep{}
	}
	d.held = append(d.held[:0], d.held[d.syncing:]...)
	d.syncing = 0
	if len(d.held) > 0 {
		r.startCommit()
	}
}

// crash kills the broker at now for downtime: held steps are lost, every
// connection is reset, dials are refused until the restart.
func (r *runner) crash(downtime time.Duration) {
	d := &r.disk
	if d.down || r.healed {
		return
	}
	if d.syncing == 0 && d.rand.Bool(0.5) {
		// Half the crashes are aimed at the next commit: they strike while
		// its writes are in flight, the instant that tells a store that
		// syncs before it acknowledges from one that does not.
		d.aimed = downtime
		return
	}
	r.m.Crashes++
	r.m.CrashLostSteps += int64(len(d.held))
	r.m.Downtime += downtime.Seconds()
	r.m.CrashLog = append(r.m.CrashLog, CrashRec{T: r.now.Seconds(), Downtime: downtime.Seconds()})
	clear(d.held)
	d.held, d.syncing = d.held[:0], 0
	d.gen++
	d.down = true
	r.core, r.brokerAt = nil, -1
	r.w.crashed(r.now)
	r.notices(r.net.Outage(r.now, r.now+downtime))
	r.at(r.now+downtime, event{kind: evRestart, dev: -1})
}

// restart rebuilds the broker from the image at now. The recovery's own
// changes are durable before the broker takes its first input.
func (r *runner) restart() {
	d := &r.disk
	core, rec, err := r.recoverCore(d.cfg, d.image, r.now)
	if err != nil {
		panic(fmt.Sprintf("sim: recovery failed: %v", err))
	}
	for i := range rec.Changes {
		if err := d.image.Apply(&rec.Changes[i]); err != nil {
			panic(fmt.Sprintf("sim: recovery's changes do not apply: %v", err))
		}
	}
	r.core, d.down = core, false
	if r.trace != nil {
		fmt.Fprintf(r.trace, "%v   broker restarted: %d sessions, %d copies\n", r.now, len(d.image.Sessions), d.image.Copies())
	}
	r.w.step(&rec, 0)
	r.armBroker()
}

// recoverCore is Options.Recover, or broker.Recover.
func (r *runner) recoverCore(cfg broker.Config, img *broker.Image, now time.Duration) (Core, broker.Record, error) {
	if r.opts.Recover != nil {
		return r.opts.Recover(cfg, img, now)
	}
	if r.opts.NewCore != nil { // a substitute core keeps no durable state: it restarts empty
		c, err := r.opts.NewCore(cfg)
		return c, broker.Record{At: now, Input: broker.Input{Kind: broker.InRecover}}, err
	}
	b, rec, err := broker.Recover(cfg, img, now)
	return b, rec, err
}

// acked tells a crash observer that device dev received the acknowledgement
// of its PUBLISH with packet id pid (PUBACK, or PUBREC for QoS 2).
func (r *runner) acked(dev int32, p packet.Packet) {
	var pid uint16
	switch p := p.(type) {
	case *packet.Puback:
		pid = p.PacketID
	case *packet.Pubrec:
		pid = p.PacketID
	default:
		return
	}
	if pub := r.devs[dev].sess.InFlight(pid); pub != nil {
		r.w.acked(r.now, dev, pub)
	}
}
