// Package scenario describes simulation workloads: device fleets, their
// offline habits, the network they live on and the events that strike them.
// Scenarios are named built-ins (Builtin) or files (Load, Parse: strict YAML,
// which also accepts JSON, with errors naming the file, line and field).
// testdata/fleet.yaml is an annotated example file. Durations are Go
// duration strings ("90s", "24h").
package scenario

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sessionlab/sessionlab/netsim"
	"gopkg.in/yaml.v3"
)

// Scenario is one workload. A run has a faulty phase of Duration, then a
// healed phase of Heal in which faults stop, partitions and outages end and
// every device comes online, so pending messages can converge.
type Scenario struct {
	Name        string        `yaml:"name" json:"name"`
	Description string        `yaml:"description" json:"description"`
	Duration    time.Duration `yaml:"duration" json:"duration"`
	Heal        time.Duration `yaml:"heal" json:"heal"`
	// Sample is the metrics sampling interval (default DefaultSample).
	Sample  time.Duration `yaml:"sample" json:"sample"`
	Groups  []Group       `yaml:"groups" json:"groups"`
	Network Network       `yaml:"network" json:"network"`
	Events  []Event       `yaml:"events" json:"events"`
	// Profiles are profiles written in the scenario file itself, each like a
	// profile file (base, name, overrides; see ParseProfile), which
	// --profile can name; Parse reads them from the raw "profiles" list.
	Profiles    []ProfileFile `yaml:"-" json:"-"`
	RawProfiles []yaml.Node   `yaml:"profiles,omitempty" json:"-"`
}

// Profile returns the profile called name written in the scenario, if any.
func (s Scenario) Profile(name string) (ProfileFile, bool) {
	for _, p := range s.Profiles {
		if p.Policy.Name == name {
			return p, true
		}
	}
	return ProfileFile{}, false
}

// DefaultSample is the metrics sampling interval when Scenario.Sample is 0.
const DefaultSample = time.Minute

// Kind is what a group of devices does.
type Kind string

// Device kinds.
const (
	// Telemetry devices publish readings on "tele/<client id>" every
	// PublishEvery on average, usually with clean sessions.
	Telemetry Kind = "telemetry"
	// Command devices keep a persistent session subscribed to their own
	// command topic "cmd/<client id>" and publish nothing.
	Command Kind = "command"
	// Backend applications subscribe to "tele/+" (and "status/#" with
	// Status) and send each command device a command every PublishEvery
	// on average (shared between the backends). They run in a data
	// centre: Reliable is implied.
	Backend Kind = "backend"
)

// Group is a set of identical devices. Client ids are "<name>-<index>".
type Group struct {
	Name      string        `yaml:"name" json:"name"`
	Kind      Kind          `yaml:"kind" json:"kind"`
	Count     int           `yaml:"count" json:"count"`
	KeepAlive time.Duration `yaml:"keepalive" json:"keepalive"` // whole seconds, 0 disables
	Clean     bool          `yaml:"clean" json:"clean"`
	// QoS is the publish QoS (telemetry, backend) and the subscription
	// QoS (command, backend).
	QoS int `yaml:"qos" json:"qos"`
	// PublishEvery is the mean interval between publishes (telemetry: per
	// device; backend: between commands to each command device).
	PublishEvery time.Duration `yaml:"publish_every" json:"publish_every"`
	// PublishWindow, when set, confines the group's publishing (telemetry
	// readings, backend commands) to its windows, e.g. commands sent only
	// in a nightly maintenance window or in one burst. Inside a window the
	// group publishes every PublishEvery on average, as without one; the
	// time between windows does not count (see Window.After), so nothing is
	// published then. Not for command groups, which publish nothing. Nil:
	// the group publishes all the time.
	PublishWindow *Window `yaml:"publish_window,omitempty" json:"publish_window,omitempty"`
	// Offline is the group's offline schedule, if any.
	Offline *Offline `yaml:"offline" json:"offline"`
	// Reliable exempts the group from drawn network faults and partitions.
	Reliable bool `yaml:"reliable" json:"reliable"`
	// Latency, when set, replaces the network's latency for this group's
	// links. Backends default to DataCentre.
	Latency *netsim.Latency `yaml:"latency" json:"latency,omitempty"`
	// Faults, when set, replaces the network's fault knobs (fixed or
	// swarm-drawn) for this group's connections, e.g. a flaky subset.
	Faults *netsim.Knobs `yaml:"faults" json:"faults,omitempty"`
	// Status turns on the online-status workload of a Last Will and a
	// retained status. Telemetry and command devices CONNECT with the Will
	// "offline" on "status/<client id>" (QoS 1, retained), publish a
	// retained "online" there after every accepted CONNACK (QoS 1), and,
	// when they leave gracefully, a retained "offline" (QoS 0) before the
	// DISCONNECT that discards the Will. Backends subscribe to "status/#"
	// at QoS in the same SUBSCRIBE as "tele/+", so each (re)subscription
	// replays every retained status (RETAIN=1).
	Status bool `yaml:"status" json:"status"`
}

// Offline is a recurring absence: from Start, every Every (once when 0), a
// device goes away for For. Each device shifts its windows by its own
// uniform draw in [0, Jitter). Fraction of the group follows the schedule
// (0 means all of it).
type Offline struct {
	Start    time.Duration `yaml:"start" json:"start"`
	Every    time.Duration `yaml:"every" json:"every"`
	For      time.Duration `yaml:"for" json:"for"`
	Jitter   time.Duration `yaml:"jitter" json:"jitter"`
	Fraction float64       `yaml:"fraction" json:"fraction"`
	// Graceful devices send DISCONNECT before leaving; others just vanish
	// (power cut), and the broker notices by keepalive.
	Graceful bool `yaml:"graceful" json:"graceful"`
}

// Window is a recurring period of activity: from Start, every Every (once
// when 0), for For. Windows are absolute times of the run, faulty and
// healed phases alike.
type Window struct {
	Start time.Duration `yaml:"start" json:"start"`
	Every time.Duration `yaml:"every" json:"every"`
	For   time.Duration `yaml:"for" json:"for"`
}

// After returns the instant at which gap of window time has passed since
// from: only time inside w's windows counts, so a gap that runs past the
// end of a window goes on at the start of the next one, and a from
// between windows counts from the next window's start. A Poisson process
// whose gaps are placed with After is the same process confined to the
// windows. ok is false when there is no such instant (past the last
// window, or beyond the range of time.Duration). A nil w is always open:
// After returns from+gap. from and gap must be >= 0, and w valid.
func (w *Window) After(from, gap time.Duration) (at time.Duration, ok bool) {
	if w == nil {
		return from + gap, true
	}
	ws := w.Start // the window holding from, or the next one
	if w.Every > 0 && from > w.Start {
		ws += (from - w.Start) / w.Every * w.Every
	}
	end := satAdd(ws, w.For)
	if from >= end {
		if w.Every == 0 {
			return 0, false
		}
		ws = satAdd(ws, w.Every)
		end = satAdd(ws, w.For)
	}
	t := max(from, ws)
	if gap < end-t {
		return t + gap, true
	}
	if w.Every == 0 {
		return 0, false
	}
	gap -= end - t // what is left goes into whole windows, then a part of one
	n, rest := gap/w.For+1, gap%w.For
	if ws > math.MaxInt64-rest || n > (math.MaxInt64-rest-ws)/w.Every {
		return 0, false
	}
	return ws + n*w.Every + rest, true
}

// satAdd returns a+b for a, b >= 0, or the largest time.Duration when the
// sum overflows.
func satAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Network is the simulated network: a latency distribution, and fault knobs
// either fixed (Faults) or drawn from the seed (Swarm).
type Network struct {
	Latency netsim.Latency `yaml:"latency" json:"latency"`
	Swarm   bool           `yaml:"swarm" json:"swarm"`
	Faults  netsim.Knobs   `yaml:"faults" json:"faults"`
}

// EventKind names a scripted event.
type EventKind string

// Scripted events.
const (
	// Outage: the broker refuses connections and resets every existing one
	// from At for For (its sessions survive; see package netsim).
	Outage EventKind = "outage"
	// Partition: Fraction of Group (all groups when empty, except Reliable
	// ones) is cut off from At for For.
	Partition EventKind = "partition"
	// Crash: the broker process crashes at At, losing what its store had
	// not made durable, and restarts after For (an outage to the network).
	Crash EventKind = "crash"
)

// Event is a scripted fault.
type Event struct {
	Kind     EventKind     `yaml:"kind" json:"kind"`
	At       time.Duration `yaml:"at" json:"at"`
	For      time.Duration `yaml:"for" json:"for"`
	Group    string        `yaml:"group" json:"group"`
	Fraction float64       `yaml:"fraction" json:"fraction"`
}

// DataCentre is the default latency of backend links: a few hundred
// microseconds to a millisecond or two, no tail.
var DataCentre = netsim.Latency{Base: 500 * time.Microsecond, Jitter: time.Millisecond}

// LinkLatency returns the latency of the group's links on network n.
func (g Group) LinkLatency(n Network) netsim.Latency {
	switch {
	case g.Latency != nil:
		return *g.Latency
	case g.Kind == Backend:
		return DataCentre
	}
	return n.Latency
}

// Devices returns the total number of devices.
func (s Scenario) Devices() int {
	n := 0
	for _, g := range s.Groups {
		n += g.Count
	}
	return n
}

// End returns the length of the whole run, faulty and healed phases.
func (s Scenario) End() time.Duration { return s.Duration + s.Heal }

// SampleEvery returns the sampling interval, defaulted.
func (s Scenario) SampleEvery() time.Duration {
	if s.Sample > 0 {
		return s.Sample
	}
	return DefaultSample
}

// String describes the scenario in one line.
func (s Scenario) String() string {
	return fmt.Sprintf("%s: %d devices in %d groups, %v + %v healed, %d events",
		s.Name, s.Devices(), len(s.Groups), s.Duration, s.Heal, len(s.Events))
}

// String describes the group in one line.
func (g Group) String() string {
	st := ""
	if g.Status {
		st = " status"
	}
	if w := g.PublishWindow; w != nil {
		st += fmt.Sprintf(" publishing from %v for %v", w.Start, w.For)
		if w.Every > 0 {
			st += fmt.Sprintf(" every %v", w.Every)
		}
	}
	return fmt.Sprintf("%s: %d×%s qos%d ka=%v clean=%v every=%v%s", g.Name, g.Count, g.Kind, g.QoS, g.KeepAlive, g.Clean, g.PublishEvery, st)
}

// String describes the event in one line.
func (e Event) String() string {
	if e.Kind == Partition {
		return fmt.Sprintf("partition %q ×%g at %v for %v", e.Group, e.Fraction, e.At, e.For)
	}
	return fmt.Sprintf("%s at %v for %v", e.Kind, e.At, e.For)
}

// Scaled returns a copy of s whose non-backend groups are resized in
// proportion so that they total devices exactly (largest-remainder
// rounding; each group keeps at least one device, so a tiny total may be
// exceeded). Backend groups keep their count. devices <= 0 returns s.
func (s Scenario) Scaled(devices int) Scenario {
	fleet := 0
	for _, g := range s.Groups {
		if g.Kind != Backend {
			fleet += g.Count
		}
	}
	if devices <= 0 || fleet == 0 {
		return s
	}
	out := s
	out.Groups = append([]Group(nil), s.Groups...)
	type share struct{ i, rem int }
	var shares []share
	left := devices
	for i := range out.Groups {
		g := &out.Groups[i]
		if g.Kind == Backend {
			continue
		}
		exact := int64(g.Count) * int64(devices)
		g.Count = int(exact / int64(fleet))
		left -= g.Count
		shares = append(shares, share{i, int(exact % int64(fleet))})
	}
	sort.SliceStable(shares, func(a, b int) bool { return shares[a].rem > shares[b].rem })
	for k := 0; left > 0 && k < len(shares); k++ {
		out.Groups[shares[k].i].Count++
		left--
	}
	for i := range out.Groups {
		out.Groups[i].Count = max(out.Groups[i].Count, 1)
	}
	return out
}

// WithDuration returns a copy of s with a faulty phase of d; events,
// offline windows and publish windows keep their absolute times. d <= 0 returns s unchanged.
func (s Scenario) WithDuration(d time.Duration) Scenario {
	if d > 0 {
		s.Duration = d
	}
	return s
}
