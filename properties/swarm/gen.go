package swarm

import (
	"fmt"
	"time"

	"pgregory.net/rapid"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// Case is one drawn simulation: a scenario, a profile and a seed.
type Case struct {
	Scenario scenario.Scenario
	Profile  string
	Seed     uint64
}

// String describes the case in one line.
func (c Case) String() string {
	return fmt.Sprintf("%v under %s, seed %d", c.Scenario, c.Profile, c.Seed)
}

// durations the generators pick from: whole values keep shrunk scenarios
// readable. The last values reach the policies' limits: one message a
// second fills any queue cap within 17 minutes offline, and 3 hours offline
// outlast the AWS and EMQX session expiry with their tolerance.
var (
	faultyPhases = []time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
	keepalives   = []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second}
	publishEvery = []time.Duration{5 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, time.Second}
	offFor       = []time.Duration{time.Minute, 10 * time.Minute, 30 * time.Minute, 90 * time.Minute, 3 * time.Hour}
)

// Gen draws a Case. Everything shrinks towards a quiet, fault-free fleet of
// one command device and one backend under the first profile.
func Gen() *rapid.Generator[Case] {
	return rapid.Custom(func(t *rapid.T) Case {
		sc := scenario.Scenario{Name: "swarm", Description: "drawn by properties/swarm"}
		sc.Duration = rapid.SampledFrom(faultyPhases).Draw(t, "duration")
		sc.Heal = 30 * time.Minute // longer than the liveness bound of any profile with these keepalives
		sc.Sample = 5 * time.Minute
		sc.Groups = genGroups(t, sc.Duration)
		sc.Network = genNetwork(t)
		sc.Events = genEvents(t, sc.Duration)
		return Case{
			Scenario: sc,
			Profile:  rapid.SampledFrom(broker.ProfileNames()).Draw(t, "profile"),
			Seed:     rapid.Uint64Range(1, 1<<20).Draw(t, "seed"),
		}
	})
}

// genGroups draws one to three device groups and one backend.
func genGroups(t *rapid.T, faulty time.Duration) []scenario.Group {
	var gs []scenario.Group
	n := rapid.IntRange(1, 3).Draw(t, "groups")
	for i := 0; i < n; i++ {
		g := scenario.Group{
			Name:      fmt.Sprintf("g%d", i),
			Kind:      rapid.SampledFrom([]scenario.Kind{scenario.Command, scenario.Telemetry}).Draw(t, "kind"),
			Count:     rapid.IntRange(1, 4).Draw(t, "count"),
			KeepAlive: rapid.SampledFrom(keepalives).Draw(t, "keepalive"),
			QoS:       rapid.IntRange(0, 2).Draw(t, "qos"),
		}
		if g.Kind == scenario.Telemetry {
			g.PublishEvery = rapid.SampledFrom(publishEvery).Draw(t, "publish_every")
			g.Clean = rapid.Bool().Draw(t, "clean")
		}
		if rapid.Bool().Draw(t, "offline") {
			g.Offline = genOffline(t, faulty)
		}
		gs = append(gs, g)
	}
	gs = append(gs, scenario.Group{Name: "backend", Kind: scenario.Backend, Count: 1, KeepAlive: 60 * time.Second,
		QoS: rapid.IntRange(0, 2).Draw(t, "backend_qos"), Reliable: true,
		PublishEvery: rapid.SampledFrom(publishEvery).Draw(t, "command_every")})
	return gs
}

// genOffline draws an offline schedule inside the faulty phase.
func genOffline(t *rapid.T, faulty time.Duration) *scenario.Offline {
	o := &scenario.Offline{
		Start:    time.Duration(rapid.IntRange(0, int(faulty/time.Minute)-1).Draw(t, "off_start_min")) * time.Minute,
		For:      rapid.SampledFrom(offFor).Draw(t, "off_for"),
		Graceful: rapid.Bool().Draw(t, "graceful"),
		Fraction: float64(rapid.IntRange(0, 10).Draw(t, "off_fraction_tenths")) / 10,
	}
	if rapid.Bool().Draw(t, "jitter") {
		o.Jitter = time.Duration(rapid.IntRange(1, 10).Draw(t, "jitter_min")) * time.Minute
	}
	if rapid.Bool().Draw(t, "recurring") {
		o.Every = o.For + o.Jitter + time.Duration(rapid.IntRange(1, 60).Draw(t, "off_gap_min"))*time.Minute
	}
	return o
}

// genNetwork draws the latency and either fixed fault knobs or swarm ones.
func genNetwork(t *rapid.T) scenario.Network {
	n := scenario.Network{Latency: netsim.Latency{
		Base:   time.Duration(rapid.IntRange(1, 200).Draw(t, "latency_ms")) * time.Millisecond,
		Jitter: time.Duration(rapid.IntRange(0, 100).Draw(t, "jitter_ms")) * time.Millisecond,
	}}
	switch rapid.IntRange(0, 2).Draw(t, "faults") {
	case 1:
		n.Faults = netsim.Knobs{
			ResetsPerHour:   float64(rapid.IntRange(0, 6).Draw(t, "resets_per_hour")),
			HalfOpenPerHour: float64(rapid.IntRange(0, 3).Draw(t, "half_open_per_hour")),
			ConnectFail:     float64(rapid.IntRange(0, 30).Draw(t, "connect_fail_pct")) / 100,
		}
		if p := rapid.IntRange(0, 24).Draw(t, "partitions_per_day"); p > 0 {
			n.Faults.PartitionsPerDay = float64(p)
			n.Faults.PartitionMean = time.Duration(rapid.IntRange(1, 30).Draw(t, "partition_mean_min")) * time.Minute
		}
	case 2:
		n.Swarm = true
	}
	return n
}

// genEvents draws up to two scripted outages or partitions.
func genEvents(t *rapid.T, faulty time.Duration) []scenario.Event {
	var es []scenario.Event
	for i := rapid.IntRange(0, 2).Draw(t, "events"); i > 0; i-- {
		e := scenario.Event{
			Kind: rapid.SampledFrom([]scenario.EventKind{scenario.Outage, scenario.Partition}).Draw(t, "event_kind"),
			At:   time.Duration(rapid.IntRange(0, int(faulty/time.Minute)-1).Draw(t, "event_at_min")) * time.Minute,
			For:  time.Duration(rapid.IntRange(1, 30).Draw(t, "event_for_min")) * time.Minute,
		}
		if e.Kind == scenario.Partition {
			e.Fraction = float64(rapid.IntRange(1, 10).Draw(t, "fraction_tenths")) / 10
		}
		es = append(es, e)
	}
	return es
}
