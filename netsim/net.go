package netsim

import "time"

// DefaultConnectTimeout is Config.ConnectTimeout when it is zero.
const DefaultConnectTimeout = 30 * time.Second

// conn flags.
const (
	clientOpen uint8 = 1 << iota // the client has not closed or noticed the end
	serverOpen                   // the server has not closed or noticed the end
	broken                       // reset or half-open: nothing more is carried
)

// conn is one connection slot. pipe[s] holds the messages travelling toward
// side s, oldest first; last[s] is the arrival time of the newest of them.
type conn[M any] struct {
	gen   uint32
	host  int32
	flags uint8
	pipe  [2]fifo[M]
	last  [2]time.Duration
}

// host is per-host state: its random stream, fault knobs and partition.
type host struct {
	rand      Rand
	knobs     *Knobs        // nil: the network's
	latency   *Latency      // nil: the network's
	partition time.Duration // partitioned until this time
}

// Network is a simulated network of hosts (devices, numbered from 0) and one
// broker. Methods take the current virtual time, which must never decrease.
// It is not safe for concurrent use; a simulation run owns one.
type Network[M any] struct {
	cfg    Config
	conns  []conn[M]
	free   []int // free slot indexes, reused last-in first-out
	hosts  []host
	outage time.Duration // dials refused until this time
	open   int           // connections with at least one side open
}

// New returns an empty network.
func New[M any](cfg Config) *Network[M] {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	return &Network[M]{cfg: cfg}
}

// SetHostStream gives host h its own random stream, so that a caller can
// key hosts by something stabler than their index (e.g. group and index
// within the group). By default host h's stream is Config.HostRand(h).
func (n *Network[M]) SetHostStream(h int, s Rand) { n.hostState(h).rand = s }

// SetHostKnobs gives host h its own fault knobs instead of the network's
// (e.g. a flaky subset, or a reliable data-centre host with none).
func (n *Network[M]) SetHostKnobs(h int, k Knobs) { n.hostState(h).knobs = &k }

// SetHostLatency gives host h's links their own latency (e.g. a backend in
// the broker's data centre).
func (n *Network[M]) SetHostLatency(h int, l Latency) { n.hostState(h).latency = &l }

// lat returns the latency of host hs's links.
func (n *Network[M]) lat(hs *host) *Latency {
	if hs.latency != nil {
		return hs.latency
	}
	return &n.cfg.Latency
}

// knobs returns the fault knobs in force for host hs.
func (n *Network[M]) knobs(hs *host) *Knobs {
	if hs.knobs != nil {
		return hs.knobs
	}
	return &n.cfg.Knobs
}

// Heal ends every fault at now: the outage and partitions end, and no
// host draws faults or failed dials from now on. Faults already drawn for
// existing connections are the caller's to cancel (it holds their events).
func (n *Network[M]) Heal(now time.Duration) {
	n.outage = min(n.outage, now)
	n.cfg.Knobs = Knobs{}
	for i := range n.hosts {
		n.hosts[i].knobs = nil
		n.hosts[i].partition = min(n.hosts[i].partition, now)
	}
}

// Host returns the host that dialled c, and false for a stale ID.
func (n *Network[M]) Host(c ConnID) (int, bool) {
	cn := n.lookup(c)
	if cn == nil {
		return 0, false
	}
	return int(cn.host), true
}

// Open returns the number of connections at least one side still holds.
func (n *Network[M]) Open() int { return n.open }

// hostState returns host h, growing the table; each host's stream is
// Config.HostRand's for h alone, so adding hosts changes nothing for the
// others.
func (n *Network[M]) hostState(h int) *host {
	for len(n.hosts) <= h {
		var hs host
		if n.cfg.HostRand != nil {
			hs.rand = n.cfg.HostRand(len(n.hosts))
		}
		n.hosts = append(n.hosts, hs)
	}
	return &n.hosts[h]
}

// lookup returns the live slot of c, or nil for a stale or invalid ID.
func (n *Network[M]) lookup(c ConnID) *conn[M] {
	i := c.slot()
	if i < 0 || i >= len(n.conns) || n.conns[i].gen != c.gen() || n.conns[i].flags&(clientOpen|serverOpen) == 0 {
		return nil
	}
	return &n.conns[i]
}

// Dial starts a connection from host h to the broker at now.
func (n *Network[M]) Dial(now time.Duration, h int) Dial {
	hs := n.hostState(h)
	r := hs.rand
	lat := n.lat(hs)
	switch {
	case now < n.outage: // refused: the RST comes back after a round trip
		return Dial{ClientAt: now + lat.Sample(r) + lat.Sample(r)}
	case now < hs.partition: // SYNs vanish until the client gives up
		return Dial{ClientAt: now + n.cfg.ConnectTimeout}
	case n.knobs(hs).ConnectFail > 0 && r.Bool(n.knobs(hs).ConnectFail):
		return Dial{ClientAt: now + r.Uniform(lat.Base, n.cfg.ConnectTimeout)}
	}
	slot := n.alloc()
	c := &n.conns[slot]
	c.host, c.flags = int32(h), clientOpen|serverOpen
	d := Dial{OK: true, Conn: makeConnID(slot, c.gen)}
	d.ServerAt = now + lat.Sample(r)
	d.ClientAt = d.ServerAt + lat.Sample(r)
	c.last = [2]time.Duration{d.ClientAt, d.ServerAt}
	d.Fault, d.FaultAt = drawFault(n.knobs(hs), r, d.ClientAt)
	n.open++
	return d
}

// alloc returns a free slot with a fresh generation.
func (n *Network[M]) alloc() int {
	if k := len(n.free); k > 0 {
		slot := n.free[k-1]
		n.free = n.free[:k-1]
		n.conns[slot].gen++
		return slot
	}
	n.conns = append(n.conns, conn[M]{gen: 1})
	return len(n.conns) - 1
}

// drawFault draws when the connection established at from dies, if ever:
// resets and half-open faults are independent Poisson processes, so the
// first comes after Exp(1/(r1+r2)) and is a reset with probability r1/(r1+r2).
func drawFault(k *Knobs, r Rand, from time.Duration) (Fault, time.Duration) {
	total := k.ResetsPerHour + k.HalfOpenPerHour
	if total <= 0 {
		return NoFault, 0
	}
	at := from + r.Exp(time.Duration(float64(time.Hour)/total))
	if r.Float64()*total < k.ResetsPerHour {
		return Reset, at
	}
	return HalfOpen, at
}

// Send puts m on c from side at now. It reports when m arrives at the
// peer, and false when m is lost at once (the connection is broken, or the
// sender has closed it); the caller then schedules nothing. A message sent
// toward a peer that has closed is carried and discarded by Arrive.
func (n *Network[M]) Send(now time.Duration, c ConnID, from Side, m M) (time.Duration, bool) {
	cn := n.lookup(c)
	if cn == nil || cn.flags&broken != 0 || cn.flags&sideFlag(from) == 0 {
		return 0, false
	}
	to := from.Peer()
	hs := n.hostState(int(cn.host))
	at := now + n.lat(hs).Sample(hs.rand)
	if now < hs.partition { // held until the partition heals, then retransmitted
		at = hs.partition + n.lat(hs).Sample(hs.rand)
	}
	at = max(at, cn.last[to]) // TCP: never overtake an earlier segment
	cn.last[to] = at
	cn.pipe[to].push(m)
	return at, true
}

// Arrive pops the oldest message travelling toward side to on c. The caller
// calls it once at each time Send returned. It reports false when the
// message was lost meanwhile (reset, half-open) or side to has closed.
func (n *Network[M]) Arrive(c ConnID, to Side) (M, bool) {
	var zero M
	cn := n.lookup(c)
	if cn == nil || cn.flags&broken != 0 {
		return zero, false
	}
	m, ok := cn.pipe[to].pop()
	if !ok || cn.flags&sideFlag(to) == 0 {
		return zero, false
	}
	return m, true
}

func sideFlag(s Side) uint8 {
	if s == Client {
		return clientOpen
	}
	return serverOpen
}
