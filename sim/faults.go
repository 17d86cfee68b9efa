package sim

import (
	"time"

	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/rng"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// day is the unit of partition and outage rates.
const day = 24 * time.Hour

// scheduleEvent schedules scripted event i of the scenario.
func (r *runner) scheduleEvent(seed uint64, i int, ev scenario.Event) {
	if ev.At >= r.sc.Duration {
		return // the healed phase has no faults
	}
	switch ev.Kind {
	case scenario.Outage:
		r.addOutage(ev.At, ev.For)
	case scenario.Crash:
		r.addCrash(ev.At, ev.For)
	case scenario.Partition:
		for dev := range r.devs {
			g := r.groups[r.devs[dev].group]
			if g.Reliable || g.Kind == scenario.Backend || (ev.Group != "" && g.Name != ev.Group) {
				continue
			}
			// Each device's draw is its own: adding devices changes no other's.
			pick := rng.New(seed, "sim/event/"+r.devs[dev].id, i)
			if ev.Fraction == 0 || pick.Bool(ev.Fraction) {
				r.at(ev.At, event{kind: evPartition, dev: int32(dev), arg: uint16(i + 1)})
			}
		}
	}
}

// window is a time interval [at, until).
type window struct{ at, until time.Duration }

// addOutage schedules a broker-wide outage from at for d, cut short by the
// healed phase.
func (r *runner) addOutage(at, d time.Duration) {
	r.outages = append(r.outages, window{at, min(at+d, r.sc.Duration)})
	r.at(at, event{kind: evOutageStart, dev: -1, arg: uint16(len(r.outages) - 1)})
}

// addCrash schedules a crash at at, restarting after d.
func (r *runner) addCrash(at, d time.Duration) {
	if len(r.crashes) >= 1<<16-1 {
		return
	}
	r.crashes = append(r.crashes, d)
	r.at(at, event{kind: evCrash, dev: -1, arg: uint16(len(r.crashes) - 1)})
}

// scheduleRandomCrashes draws broker crashes from the knobs, as a Poisson
// process over the faulty phase; each lasts at least a second.
func (r *runner) scheduleRandomCrashes(seed uint64) {
	r.poisson(seed, "sim/crashes", r.knobs.CrashesPerDay, r.knobs.CrashDowntime, func(t, d time.Duration) {
		r.addCrash(t, max(d, time.Second))
	})
}

// scheduleRandomOutages draws broker-wide outages from the knobs (swarm),
// as a Poisson process over the faulty phase.
func (r *runner) scheduleRandomOutages(seed uint64) {
	r.poisson(seed, "sim/outages", r.knobs.OutagesPerDay, r.knobs.OutageMean, r.addOutage)
}

// poisson draws up to 1000 spells, perDay on average, of mean length mean
// over the faulty phase from stream name, and hands each to add; a spell
// starts after the previous one ends.
func (r *runner) poisson(seed uint64, name string, perDay float64, mean time.Duration, add func(at, d time.Duration)) {
	if perDay <= 0 {
		return
	}
	s := rng.New(seed, name, 0)
	gap := time.Duration(float64(day) / perDay)
	for t, n := s.Exp(gap), 0; t < r.sc.Duration && n < 1000; t, n = t+s.Exp(gap), n+1 {
		d := s.Exp(mean)
		add(t, d)
		t += d
	}
}

// outage starts outage i: the broker refuses connections and resets every
// existing one; its sessions survive (see package netsim).
func (r *runner) outage(i int) {
	r.notices(r.net.Outage(r.now, r.outages[i].until))
}

// partition cuts dev off: scripted event arg-1, or a random partition
// drawn from the host's knobs when arg is 0.
func (r *runner) partition(dev int32, arg int) {
	if r.healed {
		return
	}
	if arg > 0 {
		ev := r.sc.Events[arg-1]
		r.net.Partition(r.now, int(dev), min(r.now+ev.For, r.sc.Duration))
		return
	}
	k := r.hostKnobs(dev)
	d := &r.devs[dev]
	r.net.Partition(r.now, int(dev), min(r.now+d.work.Exp(k.PartitionMean), r.sc.Duration))
	r.schedulePartition(dev)
}

// schedulePartition draws the device's next random partition.
func (r *runner) schedulePartition(dev int32) {
	k := r.hostKnobs(dev)
	if k.PartitionsPerDay <= 0 {
		return
	}
	d := &r.devs[dev]
	next := r.now + d.work.Exp(time.Duration(float64(day)/k.PartitionsPerDay))
	if next < r.sc.Duration {
		r.at(next, event{kind: evPartition, dev: dev})
	}
}

// hostKnobs returns the fault knobs in force for dev.
func (r *runner) hostKnobs(dev int32) netsim.Knobs {
	g := &r.groups[r.devs[dev].group]
	switch {
	case g.Reliable || g.Kind == scenario.Backend:
		return netsim.Knobs{}
	case g.Faults != nil:
		return *g.Faults
	}
	return r.knobs
}

// heal starts the healed phase: no more faults, every device powers on.
func (r *runner) heal() {
	r.healed = true
	r.net.Heal(r.now)
	r.w.healed(r.now)
	for dev := range r.devs {
		if r.devs[dev].off {
			r.powerOn(int32(dev))
		}
	}
}
