package sim

import (
	"fmt"
	"time"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/client"
	"github.com/sessionlab/sessionlab/sim/rng"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// device is one simulated device: its client session, its workload's
// random stream and where it is in its offline schedule. Devices live in
// one slice indexed by device number; nothing points into it from maps.
type device struct {
	sess       *client.Session
	work       rng.Stream // publish times, offline jitter, command targets
	backoff    rng.Stream // the client's reconnect jitter
	id         string
	topic      string // telemetry: where it publishes; command: its command topic
	group      int16
	conn       netsim.ConnID // the client's current transport, 0 when none
	timerAt    time.Duration // the armed client timer (in runner.timers), -1 when none
	off        bool          // powered off by the offline schedule
	window     int32         // index of the next offline window
	shift      time.Duration // this device's offline jitter
	hasWindows bool          // follows the group's offline schedule
	pubGen     uint16        // publish chain generation; older chains are stale
}

// The status workload (scenario.Group.Status): a device's Will and its
// retained status go to statusPrefix + client id with payload
// statusOffline or statusOnline; backends watch statusFilter. The payloads
// carry no message id (see uidOf): the ledger follows these messages by
// packet id instead. They must not be modified: the broker keeps them.
var (
	statusOnline  = []byte("online")
	statusOffline = []byte("offline")
)

// The status topics.
const (
	statusPrefix = "status/"
	statusFilter = "status/#"
)

// setup builds the fleet and schedules the run's first events.
func (r *runner) setup(seed uint64) {
	r.groups = r.sc.Groups
	ids := make([]string, 0, r.sc.Devices())
	r.devs = make([]device, r.sc.Devices()) // never reallocated: sessions hold &backoff
	r.timers = newTimers(len(r.devs))
	h := 0
	for gi, g := range r.groups {
		for i := 0; i < g.Count; i++ {
			r.initDevice(seed, h, gi, i)
			ids = append(ids, r.devs[h].id)
			if g.Kind == scenario.Command {
				r.targets = append(r.targets, int32(h))
			}
			h++
		}
	}
	w := &watch{ledger: newLedger(&r.m, ids, seed), fresh: newFreshness(&r.m, r.groups, len(r.devs)), m: &r.m, ids: ids,
		obs: r.opts.Observer}
	w.phases, _ = r.opts.Observer.(PhaseObserver)
	w.devObs, _ = r.opts.Observer.(DeviceObserver)
	w.crashes, _ = r.opts.Observer.(CrashObserver)
	r.w = w
	if r.opts.Concurrent {
		r.w = newPipe(w)
	}
	for i := range r.devs {
		r.scheduleDevice(int32(i))
	}
	for i, ev := range r.sc.Events {
		r.scheduleEvent(seed, i, ev)
	}
	r.scheduleRandomOutages(seed)
	r.scheduleRandomCrashes(seed)
	r.at(0, event{kind: evSample, dev: -1})
	r.at(r.sc.Duration, event{kind: evHeal, dev: -1})
	r.at(r.end, event{kind: evEnd, dev: -1})
}

func (r *runner) initDevice(seed uint64, h, gi, i int) {
	g := r.groups[gi]
	d := &r.devs[h]
	d.id = fmt.Sprintf("%s-%d", g.Name, i)
	d.work = rng.New(seed, "sim/work/"+g.Name, i)
	d.backoff = rng.New(seed, "sim/backoff/"+g.Name, i)
	d.group, d.timerAt = int16(gi), -1
	link := rng.New(seed, "netsim/"+g.Name, i)
	r.net.SetHostStream(h, &link)
	if g.Latency != nil || g.Kind == scenario.Backend {
		r.net.SetHostLatency(h, g.LinkLatency(r.sc.Network))
	}
	switch {
	case g.Reliable || g.Kind == scenario.Backend:
		r.net.SetHostKnobs(h, netsim.Knobs{})
	case g.Faults != nil:
		r.net.SetHostKnobs(h, *g.Faults)
	}
	cfg := client.Config{ClientID: d.id, Clean: g.Clean, KeepAlive: g.KeepAlive}
	switch g.Kind {
	case scenario.Telemetry:
		d.topic = "tele/" + d.id
	case scenario.Command:
		d.topic = "cmd/" + d.id
		cfg.Subscriptions = []packet.Subscription{{Filter: d.topic, QoS: packet.QoS(g.QoS)}}
	case scenario.Backend:
		cfg.Subscriptions = []packet.Subscription{{Filter: "tele/+", QoS: packet.QoS(g.QoS)}}
		if g.Status {
			// One SUBSCRIBE with both filters: retained statuses are
			// replayed per filter, in packet order [MQTT-3.8.4-4].
			cfg.Subscriptions = append(cfg.Subscriptions, packet.Subscription{Filter: statusFilter, QoS: packet.QoS(g.QoS)})
		}
		// A backend is a server application, not a modem: a wide window and
		// room to buffer commands while it reconnects.
		cfg.Inflight = 100
		cfg.OutboxCap = 100000
	}
	if g.Status && g.Kind != scenario.Backend {
		topic := statusPrefix + d.id
		cfg.Will = &packet.Publish{Topic: topic, Payload: statusOffline, QoS: 1, Retain: true}
		cfg.Birth = &packet.Publish{Topic: topic, Payload: statusOnline, QoS: 1, Retain: true}
		cfg.Farewell = cfg.Will // sent at QoS 0
	}
	d.sess = client.New(cfg, &d.backoff)
	if o := g.Offline; o != nil {
		d.hasWindows = o.Fraction == 0 || d.work.Bool(o.Fraction)
		d.shift = d.work.Uniform(0, o.Jitter)
	}
}

// scheduleDevice schedules a device's power-on, first publish, first
// offline window and first random partition.
func (r *runner) scheduleDevice(dev int32) {
	d := &r.devs[dev]
	g := &r.groups[d.group]
	on := d.work.Uniform(0, InitialSpread)
	r.at(on, event{kind: evPowerOn, dev: dev})
	if every := r.publishEvery(g); every > 0 {
		if t, ok := g.PublishWindow.After(on, d.work.Uniform(0, every)); ok {
			r.at(t, event{kind: evPublish, dev: dev})
		}
	}
	r.scheduleWindow(dev)
	r.schedulePartition(dev)
}

// publishEvery returns the mean time between one device's publishes: for
// a backend, its share of one command per command device per PublishEvery.
func (r *runner) publishEvery(g *scenario.Group) time.Duration {
	switch g.Kind {
	case scenario.Telemetry:
		return g.PublishEvery
	case scenario.Backend:
		if len(r.targets) == 0 {
			return 0
		}
		return max(time.Duration(int64(g.PublishEvery)*int64(g.Count)/int64(len(r.targets))), time.Microsecond)
	}
	return 0
}

// scheduleWindow schedules the device's next offline window if it starts
// within the faulty phase.
func (r *runner) scheduleWindow(dev int32) {
	d := &r.devs[dev]
	o := r.groups[d.group].Offline
	if !d.hasWindows || o == nil || (o.Every == 0 && d.window > 0) {
		return
	}
	start := o.Start + d.shift + time.Duration(d.window)*o.Every
	if start < r.sc.Duration {
		r.at(start, event{kind: evPowerOff, dev: dev})
	}
}

// publish is the device's application publishing, then scheduling its next
// publish after an exponential gap (a Poisson process per device), counted
// in the group's publish window time when it has one. A
// powered-off device stops its chain; power-on starts a new one (gen), and
// an event of an older chain is ignored.
func (r *runner) publish(dev int32, gen uint16) {
	d := &r.devs[dev]
	g := &r.groups[d.group] // a pointer: a Group is too large to copy per publish
	if d.off || gen != d.pubGen {
		return
	}
	if t, ok := g.PublishWindow.After(r.now, d.work.Exp(r.publishEvery(g))); ok {
		r.at(t, event{kind: evPublish, dev: dev, arg: gen})
	}
	topic := d.topic
	if g.Kind == scenario.Backend {
		topic = r.devs[r.targets[d.work.Intn(len(r.targets))]].topic
	}
	d.sess.Publish(r.now, &packet.Publish{QoS: packet.QoS(g.QoS), Topic: topic, Payload: r.payload()})
	r.clientActions(dev)
}

// payload returns a fresh 8-byte big-endian message id, carved from a
// shared arena so that a message costs no allocation of its own.
func (r *runner) payload() []byte {
	if len(r.arena) < 8 {
		r.arena = make([]byte, 4096)
	}
	r.nextUID++
	p := r.arena[:8:8]
	r.arena = r.arena[8:]
	u := r.nextUID
	for i := 7; i >= 0; i-- {
		p[i] = byte(u)
		u >>= 8
	}
	return p
}

// uidOf reads the message id back from a payload (0 when it has none).
func uidOf(p []byte) uint64 {
	if len(p) < 8 {
		return 0
	}
	var u uint64
	for _, b := range p[:8] {
		u = u<<8 | uint64(b)
	}
	return u
}

// powerOff starts the device's current offline window: the device stops
// (gracefully or not, as the group says) and powers on again after For.
func (r *runner) powerOff(dev int32) {
	d := &r.devs[dev]
	if r.healed || d.off {
		return
	}
	o := r.groups[d.group].Offline
	d.off = true
	d.sess.Stop(r.now, o.Graceful)
	r.clientActions(dev)
	r.at(r.now+o.For, event{kind: evPowerOn, dev: dev})
	d.window++
}

// powerOn starts the device (at the beginning of the run, after an offline
// window, or when the healed phase begins); after an offline window it
// restarts the publish chain and schedules the next window.
func (r *runner) powerOn(dev int32) {
	d := &r.devs[dev]
	wasOff := d.off
	d.off = false
	d.sess.Start(r.now)
	r.clientActions(dev)
	if !wasOff {
		return
	}
	if every := r.publishEvery(&r.groups[d.group]); every > 0 {
		d.pubGen++
		if t, ok := r.groups[d.group].PublishWindow.After(r.now, d.work.Exp(every)); ok {
			r.at(t, event{kind: evPublish, dev: dev, arg: d.pubGen})
		}
	}
	if !r.healed {
		r.scheduleWindow(dev)
	}
}
