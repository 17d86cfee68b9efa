package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/netsim"
)

const (
	ms   = time.Millisecond
	sec  = time.Second
	min_ = time.Minute
	hour = time.Hour
)

// Latencies of typical links: a cellular modem (long lognormal tail) and a
// data-centre link for backends.
var (
	cellular = netsim.Latency{Base: 60 * ms, Jitter: 80 * ms, Tail: netsim.TailLogNormal, TailProb: 0.05, TailScale: 400 * ms, TailShape: 1}
	flaky    = netsim.Latency{Base: 80 * ms, Jitter: 150 * ms, Tail: netsim.TailPareto, TailProb: 0.1, TailScale: 300 * ms, TailShape: 1.2}
)

// churn is the fault mix of a poor cellular cell.
var churn = netsim.Knobs{ResetsPerHour: 2, HalfOpenPerHour: 1, ConnectFail: 0.1, PartitionsPerDay: 6, PartitionMean: 2 * min_}

// Typical device groups; each built-in tailors copies.
var (
	sensors    = Group{Name: "sensor", Kind: Telemetry, Count: 600, KeepAlive: 60 * sec, Clean: true, QoS: 1, PublishEvery: min_}
	actuators  = Group{Name: "actuator", Kind: Command, Count: 390, KeepAlive: 300 * sec, QoS: 1}
	backends   = Group{Name: "backend", Kind: Backend, Count: 1, KeepAlive: 60 * sec, QoS: 1, PublishEvery: 5 * min_, Reliable: true}
	nightly    = &Offline{Start: 4 * hour, Every: 24 * hour, For: 8 * hour, Jitter: hour}
	nightlyOff = &Offline{Start: 3 * hour, Every: 24 * hour, For: 9 * hour, Jitter: 2 * hour, Fraction: 0.8}
)

// builtins are the named scenarios, in the order Names lists them.
var builtins = []Scenario{
	{
		Name:        "steady",
		Description: "a quiet hour: telemetry every minute, commands every 5 minutes, rare resets",
		Duration:    hour, Heal: 10 * min_,
		Groups:  []Group{sensors, actuators, backends},
		Network: Network{Latency: cellular, Faults: netsim.Knobs{ResetsPerHour: 0.05}},
	},
	{
		Name:        "nightly-offline",
		Description: "a day in which most devices power off for about 8 hours every night",
		Duration:    24 * hour, Heal: 30 * min_, Sample: 5 * min_,
		Groups: []Group{
			with(sensors, func(g *Group) { g.Offline = nightly }),
			with(actuators, func(g *Group) { g.PublishEvery = 0; g.Offline = nightlyOff }),
			with(backends, func(g *Group) { g.PublishEvery = 10 * min_ }),
		},
		Network: Network{Latency: cellular, Faults: netsim.Knobs{ResetsPerHour: 0.05, ConnectFail: 0.01}},
	},
	{
		Name:        "outage-storm",
		Description: "a 30-minute broker outage, then the whole fleet reconnects at once",
		Duration:    2 * hour, Heal: 15 * min_,
		Groups:  []Group{sensors, actuators, with(backends, func(g *Group) { g.PublishEvery = 2 * min_ })},
		Network: Network{Latency: cellular},
		Events:  []Event{{Kind: Outage, At: 30 * min_, For: 30 * min_}},
	},
	{
		Name:        "flaky-cellular",
		Description: "high churn: frequent resets, half-open links, failed dials and short partitions; every device has a Will and a retained status the backend watches",
		Duration:    2 * hour, Heal: 15 * min_,
		Groups: []Group{withStatus(sensors), withStatus(actuators),
			with(backends, func(g *Group) { g.PublishEvery, g.Status = 2*min_, true })},
		Network: Network{Latency: flaky, Faults: churn},
	},
	{
		// Expiry after disconnect: Tencent 24 h (Tencent Cloud IoT Hub, "MQTT Persistent Session"),
		// AWS 1 h, up to 30 min late (AWS IoT Core, "MQTT persistent sessions"), EMQX 2 h.
		Name:        "expiry-cliff",
		Description: "devices away for 3 h and for 25 h, past the session expiry of most profiles",
		Duration:    26 * hour, Heal: 30 * min_, Sample: 10 * min_,
		Groups: []Group{
			with(actuators, func(g *Group) { g.Name, g.Count = "present", 100 }),
			with(actuators, func(g *Group) {
				g.Name, g.Count, g.Offline = "away-3h", 100, &Offline{Start: 30 * min_, For: 3 * hour, Jitter: 10 * min_}
			}),
			with(actuators, func(g *Group) {
				g.Name, g.Count, g.Offline = "away-25h", 100, &Offline{Start: 30 * min_, For: 25 * hour, Jitter: 10 * min_}
			}),
			with(backends, func(g *Group) { g.PublishEvery = 15 * min_ }),
		},
		Network: Network{Latency: cellular},
	},
	{
		// Caps: Tencent 150 (Tencent Cloud IoT Hub, "MQTT Persistent Session"), 1000 for
		// HiveMQ, Mosquitto and EMQX.
		Name:        "overflow",
		Description: "devices offline for 3 h while commands arrive every 8 s: more than any queue cap",
		Duration:    4 * hour, Heal: 30 * min_,
		Groups: []Group{
			with(actuators, func(g *Group) {
				g.Count, g.Offline = 200, &Offline{Start: 20 * min_, For: 3 * hour, Jitter: 5 * min_}
			}),
			with(backends, func(g *Group) { g.PublishEvery = 8 * sec }),
		},
		Network: Network{Latency: cellular},
	},
	{
		Name:        "exactly-once",
		Description: "QoS 2 commands over resetting links: duplicates must stop at the device (QoS 1 brokers show what they do with QoS 2)",
		Duration:    2 * hour, Heal: 15 * min_,
		Groups: []Group{
			with(actuators, func(g *Group) { g.Count, g.QoS = 200, 2 }),
			with(backends, func(g *Group) { g.QoS, g.PublishEvery = 2, min_ }),
		},
		Network: Network{Latency: cellular, Faults: netsim.Knobs{ResetsPerHour: 3, ConnectFail: 0.05}},
	},
	{
		// Crash-restart cycles while devices are offline and backlogs are
		// queued: the broker loses what its store had not synced and
		// restarts from the rest. Persistent actuators go away for 40
		// minutes at a time while the backend commands them every 20 s;
		// scripted crashes hit with backlogs queued and with replays under
		// way, and further crashes are drawn at 6 a day. Devices away for
		// most of the run reach the expiry of short-expiry profiles (aws,
		// emqx) across the crashes' downtime.
		Name:        "broker-crash",
		Description: "the broker process crashes and restarts while backlogs are queued and replays run; nothing acknowledged may be lost",
		Duration:    2 * hour, Heal: 20 * min_,
		Groups: []Group{
			with(sensors, func(g *Group) { g.Count = 100 }),
			with(actuators, func(g *Group) {
				g.Count, g.Offline = 200, &Offline{Start: 10 * min_, Every: 50 * min_, For: 40 * min_, Jitter: 5 * min_, Fraction: 0.7}
			}),
			with(actuators, func(g *Group) {
				g.Name, g.Count, g.Offline = "away", 40, &Offline{Start: 5 * min_, For: 110 * min_, Jitter: 5 * min_}
			}),
			with(backends, func(g *Group) { g.PublishEvery = 20 * sec }),
		},
		Network: Network{Latency: cellular, Faults: netsim.Knobs{ResetsPerHour: 0.2, CrashesPerDay: 6, CrashDowntime: time.Minute}},
		Events: []Event{
			{Kind: Crash, At: 30 * min_, For: 20 * sec},
			{Kind: Crash, At: 52 * min_, For: 5 * min_},
			{Kind: Crash, At: 61 * min_, For: 3 * sec},
			{Kind: Crash, At: 95 * min_, For: 2 * min_},
		},
	},
	{
		Name:        "swarm",
		Description: "the steady fleet on a network whose faults are drawn from the seed (swarm testing)",
		Duration:    2 * hour, Heal: 20 * min_,
		Groups:  []Group{sensors, actuators, with(backends, func(g *Group) { g.PublishEvery = 2 * min_ })},
		Network: Network{Latency: cellular, Swarm: true},
	},
	{
		// TTL at the resume: Tencent stores a message "for a maximum of 24
		// hours", expires a session 24 h after its disconnect and replays
		// one stored message per 500 ms (Tencent Cloud IoT Hub, "MQTT Persistent Session").
		// The devices leave at 5m (DISCONNECT, so expiry counts from there)
		// and are back 25 s before it; about 100 commands each were queued
		// 10 s to 15 s after they left, so their TTL passes 35 s to 40 s
		// into the replay, which has sent about 70 of them by then.
		Name:        "ttl-edge",
		Description: "a burst of commands just after the devices leave; they return 35 s before the burst's 24 h TTL, so stored copies reach their TTL during the replay",
		Duration:    24*hour + 15*min_, Heal: 15 * min_, Sample: 10 * min_,
		Groups: []Group{
			with(actuators, func(g *Group) {
				g.Count, g.Offline = 6, &Offline{Start: 5 * min_, For: 24*hour - 25*sec, Graceful: true}
			}),
			with(backends, func(g *Group) {
				g.PublishEvery, g.PublishWindow = 50*ms, &Window{Start: 5*min_ + 10*sec, For: 5 * sec}
			}),
		},
		Network: Network{Latency: cellular},
	},
	{
		Name:        "mixed",
		Description: "a day and a bit of a mixed fleet: nightly offline, one outage storm, a flaky subset, some devices away past 24 h; command devices have Wills and retained statuses, which the clean-session backend gets replayed after the outage",
		Duration:    26 * hour, Heal: 30 * min_, Sample: 5 * min_,
		Groups: []Group{
			with(sensors, func(g *Group) { g.Count, g.PublishEvery, g.Offline = 1500, 5*min_, nightly }),
			with(actuators, func(g *Group) { g.Count, g.Offline, g.Status = 1200, nightlyOff, true }),
			with(actuators, func(g *Group) { g.Name, g.Count, g.Faults, g.Status = "flaky", 250, &churn, true }),
			with(actuators, func(g *Group) {
				g.Name, g.Count, g.Offline = "away", 50, &Offline{Start: hour, For: 25 * hour, Jitter: 10 * min_}
			}),
			with(backends, func(g *Group) { g.PublishEvery, g.Clean, g.Status = 10*min_, true, true }),
		},
		Network: Network{Latency: cellular, Faults: netsim.Knobs{ResetsPerHour: 0.05, ConnectFail: 0.01}},
		Events: []Event{
			{Kind: Outage, At: 14 * hour, For: 30 * min_},
			{Kind: Partition, Group: "flaky", Fraction: 0.5, At: 2 * hour, For: 20 * min_},
			{Kind: Partition, Group: "flaky", Fraction: 0.5, At: 9 * hour, For: 45 * min_},
			{Kind: Partition, Group: "flaky", Fraction: 0.5, At: 19 * hour, For: 10 * min_},
		},
	},
}

// withStatus returns a copy of g with the status workload on.
func withStatus(g Group) Group {
	g.Status = true
	return g
}

// with returns a copy of g changed by f.
func with(g Group, f func(*Group)) Group {
	f(&g)
	return g
}

// Names lists the built-in scenario names in a fixed order.
func Names() []string {
	names := make([]string, len(builtins))
	for i, s := range builtins {
		names[i] = s.Name
	}
	return names
}

// Builtin returns the named built-in scenario, or an error listing the names.
func Builtin(name string) (Scenario, error) {
	for _, s := range builtins {
		if s.Name == name {
			s.Groups = append([]Group(nil), s.Groups...)
			for i := range s.Groups { // deep-copy the pointers too
				if l := s.Groups[i].Latency; l != nil {
					c := *l
					s.Groups[i].Latency = &c
				}
				if o := s.Groups[i].Offline; o != nil {
					c := *o
					s.Groups[i].Offline = &c
				}
				if k := s.Groups[i].Faults; k != nil {
					c := *k
					s.Groups[i].Faults = &c
				}
				if w := s.Groups[i].PublishWindow; w != nil {
					c := *w
					s.Groups[i].PublishWindow = &c
				}
			}
			s.Events = append([]Event(nil), s.Events...)
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("scenario: unknown scenario %q (built-ins: %s)", name, strings.Join(Names(), ", "))
}
