package probe

import (
	"container/heap"
	"fmt"
	"sort"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/client"
	"github.com/sessionlab/sessionlab/sim/rng"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// RunOptions configures Run.
type RunOptions struct {
	Target   Target
	Scenario scenario.Scenario // already scaled to its devices
	Policy   broker.Policy     // the profile the broker is held to
	Seed     uint64
	// Duration is the wall-clock length of the scenario's faulty phase
	// (default 10 s); the scenario's times are scaled by Duration /
	// Scenario.Duration when that is below 1.
	Duration time.Duration
	// Heal is the wall-clock length of the healed phase, in which every
	// device is online and nothing is published (default: the scenario's
	// heal, scaled, at least 2 s).
	Heal time.Duration
	// Tolerance is added to every timing rule (default: derived from the
	// broker's measured round trip, at least 25 ms).
	Tolerance    time.Duration
	KeepSessions bool
}

// device is one client of the run: the simulator's client state machine
// driven by a real socket and the wall clock.
type device struct {
	id, topic string
	group     *scenario.Group
	sess      *client.Session
	work      rng.Stream
	backoff   rng.Stream
	conn      *Conn
	gen       int // increments with every transport, so stale news is ignored
	off       bool
	pubGen    int
	window    int
	shift     time.Duration
	windows   bool
	faults    netsim.Knobs // resets and failed dials, emulated by the probe
	resetGen  int
}

// news is something that happened on a device's transport.
type news struct {
	dev  int
	gen  int
	conn *Conn // dialed: the new transport, nil when the dial failed
	kind int   // newsDialed, newsPacket, newsLost
	r    Recv
}

const (
	newsDialed = iota
	newsPacket
	newsLost
)

// timed is a scheduled event of the run.
type timed struct {
	at   time.Duration
	seq  int
	kind int // evOn, evOff, evPublish, evHeal
	dev  int
	gen  int
}

const (
	evOn = iota
	evOff
	evPublish
	evHeal
	evReset
)

type timedHeap []timed

func (h timedHeap) Len() int { return len(h) }
func (h timedHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h timedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timedHeap) Push(x any)   { *h = append(*h, x.(timed)) }
func (h *timedHeap) Pop() any     { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }
func (h timedHeap) peek() timed   { return h[0] }
func (h *timedHeap) add(t timed)  { heap.Push(h, t) }
func (h *timedHeap) pop() timed   { return heap.Pop(h).(timed) }

// runner drives one Run.
type runner struct {
	o       RunOptions
	log     *Log
	tag     string
	prefix  string
	scale   float64
	devs    []device
	targets []int
	events  timedHeap
	seq     int
	inbox   chan news
	done    chan struct{} // closed when the run is over: transport goroutines stop posting
	healed  bool
	nextUID uint64
	skipped []string // parts of the scenario a real broker run cannot apply
}

// scaled converts a scenario time to wall-clock time.
func (r *runner) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * r.scale) }

func (r *runner) at(t timed) {
	r.seq++
	t.seq = r.seq
	r.events.add(t)
}

// Run drives the scenario's devices and backends against the broker and
// judges what they saw under the policy. The error is an UnusableError
// when the broker cannot be used at all.
func Run(o RunOptions) (*Result, error) {
	o.Duration = or(o.Duration, 10*time.Second)
	sc := o.Scenario
	r := &runner{o: o, log: NewLog(), tag: fmt.Sprintf("%08x", uint32(o.Seed^o.Seed>>32)), scale: 1, inbox: make(chan news, 4096), done: make(chan struct{})}
	defer close(r.done)
	r.prefix = "sessionlab-probe/" + r.tag + "/"
	if sc.Duration > o.Duration {
		r.scale = float64(o.Duration) / float64(sc.Duration)
	}
	if o.Heal <= 0 {
		o.Heal = max(r.scaled(sc.Heal), 2*time.Second)
		r.o.Heal = o.Heal
	}
	if len(sc.Events) > 0 {
		r.skipped = append(r.skipped, fmt.Sprintf("%d scripted events (outages, partitions): a probe cannot make a real broker or network fail", len(sc.Events)))
	}
	r.skipped = append(r.skipped, "latency, half-open links, partitions and outages: the probe uses the real network as it is; "+
		"connection resets and failed dials are emulated (the probe closes a socket without DISCONNECT, or fails a dial before it starts)")
	if sc.Network.Swarm {
		r.skipped = append(r.skipped, "swarm-drawn faults: only the scenario's fixed knobs are emulated")
	}
	if err := o.Target.Check(r.log, "slp"+r.tag+"chk"); err != nil {
		return nil, err
	}
	r.setup()
	tol := r.measureNoise()
	if o.Tolerance > 0 {
		tol.Tolerance = o.Tolerance
	}
	start := r.log.Now()
	end := start + r.faulty() + o.Heal
	r.at(timed{at: start + r.faulty(), kind: evHeal, dev: -1})
	for i := range r.devs {
		r.schedule(start, i)
	}
	r.loop(end)
	for i := range r.devs {
		d := &r.devs[i]
		d.sess.Stop(r.log.Now(), true)
		r.perform(i)
	}
	time.Sleep(100 * time.Millisecond) // let the last DISCONNECTs leave
	res := r.judge(tol)
	if err := o.Target.Check(r.log, "slp"+r.tag+"end"); err != nil {
		res.Lost = err.Error()
	}
	res.Cleanup = r.cleanup()
	return res, nil
}

// faulty is the wall-clock length of the faulty phase.
func (r *runner) faulty() time.Duration {
	return min(r.o.Duration, r.scaled(r.o.Scenario.Duration))
}

// setup builds the devices as the simulator does (sim/fleet.go): client
// ids "<group>-<i>" behind the run's tag, command topics, backends
// subscribed to every telemetry topic and, with Status, the Will and the
// retained status.
func (r *runner) setup() {
	sc := r.o.Scenario
	for gi := range sc.Groups {
		g := &sc.Groups[gi]
		for i := 0; i < g.Count; i++ {
			d := device{id: fmt.Sprintf("slp%s-%s-%d", r.tag, g.Name, i), group: g}
			d.work = rng.New(r.o.Seed, "probe/work/"+g.Name, i)
			d.backoff = rng.New(r.o.Seed, "probe/backoff/"+g.Name, i)
			r.devs = append(r.devs, d)
		}
	}
	for h := range r.devs {
		d := &r.devs[h]
		g := d.group
		short := d.id[len("slp"+r.tag+"-"):]
		cfg := client.Config{ClientID: d.id, Clean: g.Clean, KeepAlive: g.KeepAlive, ConnectTimeout: r.o.Target.answerTimeout(),
			PingTimeout: r.o.Target.answerTimeout(), BackoffMin: 100 * time.Millisecond, BackoffMax: 2 * time.Second}
		switch g.Kind {
		case scenario.Telemetry:
			d.topic = r.prefix + "tele/" + short
		case scenario.Command:
			d.topic = r.prefix + "cmd/" + short
			cfg.Subscriptions = []packet.Subscription{{Filter: d.topic, QoS: packet.QoS(g.QoS)}}
			r.targets = append(r.targets, h)
		case scenario.Backend:
			cfg.Subscriptions = []packet.Subscription{{Filter: r.prefix + "tele/+", QoS: packet.QoS(g.QoS)}}
			if g.Status {
				cfg.Subscriptions = append(cfg.Subscriptions, packet.Subscription{Filter: r.prefix + "status/#", QoS: packet.QoS(g.QoS)})
			}
			cfg.Inflight, cfg.OutboxCap = 100, 100000
		}
		if g.Status && g.Kind != scenario.Backend {
			topic := r.prefix + "status/" + short
			cfg.Will = &packet.Publish{Topic: topic, Payload: []byte("offline"), QoS: 1, Retain: true}
			cfg.Birth = &packet.Publish{Topic: topic, Payload: []byte("online"), QoS: 1, Retain: true}
			cfg.Farewell = cfg.Will
		}
		d.sess = client.New(cfg, &d.backoff)
		switch {
		case g.Reliable || g.Kind == scenario.Backend:
		case g.Faults != nil:
			d.faults = *g.Faults
		default:
			d.faults = r.o.Scenario.Network.Faults
		}
		if o := g.Offline; o != nil {
			d.windows = o.Fraction == 0 || d.work.Bool(o.Fraction)
			d.shift = d.work.Uniform(0, o.Jitter)
		}
		// A clean slate: remove what an earlier run left under this id.
		if c, _, err := r.o.Target.Open(r.log, d.id, true, nil); err == nil {
			c.Disconnect()
		}
	}
}

// publishEvery is a device's mean wall-clock time between publishes.
func (r *runner) publishEvery(d *device) time.Duration {
	g := d.group
	switch g.Kind {
	case scenario.Telemetry:
		return max(r.scaled(g.PublishEvery), time.Millisecond)
	case scenario.Backend:
		if len(r.targets) == 0 || g.PublishEvery == 0 {
			return 0
		}
		return max(r.scaled(time.Duration(int64(g.PublishEvery)*int64(g.Count)/int64(len(r.targets)))), time.Millisecond)
	}
	return 0
}

// schedule draws a device's power-on, first publish and first offline window.
func (r *runner) schedule(start time.Duration, h int) {
	d := &r.devs[h]
	on := start + d.work.Uniform(0, min(r.scaled(30*time.Second), r.faulty()/10))
	r.at(timed{at: on, kind: evOn, dev: h})
	if every := r.publishEvery(d); every > 0 && d.group.PublishEvery > 0 {
		r.at(timed{at: on + d.work.Uniform(0, every), kind: evPublish, dev: h})
	}
	r.scheduleWindow(start, h)
	r.scheduleReset(on, h)
}

// scheduleReset draws the device's next connection reset (a Poisson
// process at the scenario's ResetsPerHour, on the scaled clock).
func (r *runner) scheduleReset(from time.Duration, h int) {
	d := &r.devs[h]
	if d.faults.ResetsPerHour <= 0 {
		return
	}
	mean := time.Duration(float64(time.Hour) / d.faults.ResetsPerHour)
	r.at(timed{at: from + r.scaled(d.work.Exp(mean)), kind: evReset, dev: h})
}

// reset closes the device's connection without DISCONNECT, as a network
// reset would: the broker sees it lost (the Will fires [MQTT-3.1.2-8]) and
// the client reconnects after its backoff.
func (r *runner) reset(h int) {
	d := &r.devs[h]
	if !r.healed {
		r.scheduleReset(r.log.Now(), h)
	}
	if d.conn == nil || d.off || r.healed {
		return
	}
	c := d.conn
	r.log.add(Entry{At: r.log.Now(), Client: d.id, Conn: c.id, Note: "reset by the probe (scenario fault)"})
	d.conn = nil
	d.gen++
	go c.Abort()
	d.sess.Lost(r.log.Now())
	r.perform(h)
}

func (r *runner) scheduleWindow(start time.Duration, h int) {
	d := &r.devs[h]
	o := d.group.Offline
	if !d.windows || o == nil || (o.Every == 0 && d.window > 0) {
		return
	}
	t := o.Start + d.shift + time.Duration(d.window)*o.Every
	if t < r.o.Scenario.Duration {
		r.at(timed{at: start + r.scaled(t), kind: evOff, dev: h})
	}
}

// loop runs events, client timers and transport news until end.
func (r *runner) loop(end time.Duration) {
	start := end - r.faulty() - r.o.Heal
	for {
		now := r.log.Now()
		if now >= end {
			return
		}
		next := end
		if len(r.events) > 0 {
			next = min(next, r.events.peek().at)
		}
		for i := range r.devs {
			if t, ok := r.devs[i].sess.NextDeadline(); ok {
				next = min(next, t)
			}
		}
		if next <= now {
			r.fire(start, now)
			continue
		}
		timer := time.NewTimer(next - now)
		select {
		case n := <-r.inbox:
			timer.Stop()
			r.handle(n)
		case <-timer.C:
		}
	}
}

// fire runs the events and client timers due at now.
func (r *runner) fire(start, now time.Duration) {
	for len(r.events) > 0 && r.events.peek().at <= now {
		e := r.events.pop()
		switch e.kind {
		case evHeal:
			r.healed = true
			for i := range r.devs {
				r.powerOn(start, i)
			}
		case evOn:
			r.powerOn(start, e.dev)
		case evOff:
			r.powerOff(e.dev)
		case evPublish:
			r.publish(e.dev, e.gen)
		case evReset:
			r.reset(e.dev)
		}
	}
	for i := range r.devs {
		if t, ok := r.devs[i].sess.NextDeadline(); ok && t <= now {
			r.devs[i].sess.Deadline(now)
			r.perform(i)
		}
	}
}

func (r *runner) powerOn(start time.Duration, h int) {
	d := &r.devs[h]
	wasOff := d.off
	d.off = false
	d.sess.Start(r.log.Now())
	r.perform(h)
	if wasOff && !r.healed {
		r.scheduleWindow(start, h)
		if every := r.publishEvery(d); every > 0 && d.group.PublishEvery > 0 {
			d.pubGen++
			r.at(timed{at: r.log.Now() + d.work.Exp(every), kind: evPublish, dev: h, gen: d.pubGen})
		}
	}
}

func (r *runner) powerOff(h int) {
	d := &r.devs[h]
	if r.healed || d.off {
		return
	}
	o := d.group.Offline
	d.off = true
	d.sess.Stop(r.log.Now(), o.Graceful)
	r.perform(h)
	r.at(timed{at: r.log.Now() + r.scaled(o.For), kind: evOn, dev: h})
	d.window++
}

// publish is the device's application publishing a fresh message number
// (telemetry on its topic, a backend to a random command device); nothing
// is published in the healed phase, so that the backlogs drain.
func (r *runner) publish(h, gen int) {
	d := &r.devs[h]
	if d.off || gen != d.pubGen || r.healed {
		return
	}
	every := r.publishEvery(d)
	r.at(timed{at: r.log.Now() + d.work.Exp(every), kind: evPublish, dev: h, gen: gen})
	topic := d.topic
	if d.group.Kind == scenario.Backend {
		topic = r.devs[r.targets[d.work.Intn(len(r.targets))]].topic
	}
	r.nextUID++
	d.sess.Publish(r.log.Now(), &packet.Publish{QoS: packet.QoS(d.group.QoS), Topic: topic, Payload: seq(r.nextUID)})
	r.perform(h)
}

// handle feeds transport news to its device.
func (r *runner) handle(n news) {
	d := &r.devs[n.dev]
	now := r.log.Now()
	if n.gen != d.gen {
		if n.kind == newsDialed && n.conn != nil {
			n.conn.Abort()
		}
		return
	}
	switch n.kind {
	case newsDialed:
		if n.conn == nil {
			d.sess.Dialed(now, false)
		} else {
			d.conn = n.conn
			go r.forward(n.dev, n.gen, n.conn)
			d.sess.Dialed(now, true)
		}
	case newsPacket:
		d.sess.Receive(now, n.r.P)
	case newsLost:
		d.conn = nil
		d.gen++
		d.sess.Lost(now)
	}
	r.perform(n.dev)
}

// post hands n to the loop; false when the run is over.
func (r *runner) post(n news) bool {
	select {
	case r.inbox <- n:
		return true
	case <-r.done:
		return false
	}
}

// forward hands what arrives on c to the loop.
func (r *runner) forward(h, gen int, c *Conn) {
	for {
		rv, err := c.Next(time.Hour)
		if err == ErrTimeout {
			continue
		}
		if err != nil {
			r.post(news{dev: h, gen: gen, kind: newsLost})
			return
		}
		if !r.post(news{dev: h, gen: gen, kind: newsPacket, r: rv}) {
			c.Abort()
			return
		}
	}
}

// perform carries out the device's actions on the real transport.
func (r *runner) perform(h int) {
	d := &r.devs[h]
	for _, a := range d.sess.Actions() {
		switch a.Kind {
		case client.Dial:
			d.gen++
			gen, id := d.gen, d.id
			if f := d.faults.ConnectFail; f > 0 && !r.healed && d.work.Bool(f) {
				r.log.add(Entry{At: r.log.Now(), Client: id, Note: "dial failed by the probe (scenario fault)"})
				go r.post(news{dev: h, gen: gen, kind: newsDialed})
				continue
			}
			go func() {
				c, err := r.o.Target.Dial(r.log, id)
				if err != nil {
					c = nil
				}
				if !r.post(news{dev: h, gen: gen, kind: newsDialed, conn: c}) && c != nil {
					c.Abort()
				}
			}()
		case client.Send:
			if d.conn == nil {
				continue
			}
			p := a.Packet
			if c, ok := p.(*packet.Connect); ok && r.o.Target.Username != "" {
				cc := *c
				cc.UsernameFlag, cc.Username = true, r.o.Target.Username
				cc.PasswordFlag, cc.Password = true, []byte(r.o.Target.Password)
				p = &cc
			}
			if err := d.conn.Send(p); err != nil {
				r.log.add(Entry{At: r.log.Now(), Client: d.id, Conn: d.conn.id, Note: "write failed: " + err.Error()})
			}
		case client.Close, client.Abort:
			// A real socket cannot vanish silently: both close it, and the
			// broker sees the connection end (without DISCONNECT for Abort).
			if d.conn != nil {
				c := d.conn
				d.conn = nil
				d.gen++
				go c.Abort()
			}
		}
	}
}

// measureNoise times round trips (PINGREQ to PINGRESP) to the broker to
// state its timing noise and derive the tolerance of timing rules.
func (r *runner) measureNoise() Noise {
	var n Noise
	c, _, err := r.o.Target.Open(r.log, "slp"+r.tag+"rtt", true, nil)
	if err != nil {
		n.Tolerance = 100 * time.Millisecond
		return n
	}
	defer c.Disconnect()
	var rtts []time.Duration
	for range 20 {
		t0 := time.Now()
		c.Send(&packet.Pingreq{})
		if _, err := c.Next(r.o.Target.answerTimeout()); err != nil {
			break
		}
		rtts = append(rtts, time.Since(t0))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	if len(rtts) > 0 {
		n.RTTMedian, n.RTTMax = rtts[len(rtts)/2], rtts[len(rtts)-1]
	}
	n.Samples = len(rtts)
	n.Tolerance = max(25*time.Millisecond, 4*n.RTTMax)
	return n
}

// cleanup removes the sessions of the run's client ids [MQTT-3.1.2-6].
func (r *runner) cleanup() string {
	if r.o.KeepSessions {
		return fmt.Sprintf("kept the sessions of %d client ids (--keep-sessions)", len(r.devs))
	}
	failed := 0
	for i := range r.devs {
		c, _, err := r.o.Target.Open(r.log, r.devs[i].id, true, nil)
		if err != nil {
			failed++
			continue
		}
		c.Disconnect()
	}
	if failed > 0 {
		return fmt.Sprintf("removed %d sessions with a clean connect; %d client ids could not connect", len(r.devs)-failed, failed)
	}
	return fmt.Sprintf("removed the sessions of %d client ids with a clean connect each", len(r.devs))
}
