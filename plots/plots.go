// Package plots draws the simulator's charts with gonum.org/v1/plot, each as
// a PNG and an SVG file. It knows nothing of the simulator: callers convert
// their metrics into the small input types below (Input, Profile, Series,
// Count, Rule), so the charts can be redrawn from saved metrics and tested
// with synthetic data.
//
// Output is deterministic: the same Input gives byte-identical files. Nothing
// here reads the clock or iterates over a map, and the encoders used (vgimg's
// PNG and vgsvg's SVG without embedded fonts) write no timestamps.
package plots

import "fmt"

// Point is one sample. The unit of X and Y is given by the field that holds
// the point.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// String formats the point as "(x, y)".
func (p Point) String() string { return fmt.Sprintf("(%g, %g)", p.X, p.Y) }

// Series is a labelled polyline whose points are in increasing X order.
type Series struct {
	Label  string  `json:"label"`
	Points []Point `json:"points"`
}

// Count is a labelled quantity, one bar of a bar chart.
type Count struct {
	Label string  `json:"label"`
	N     float64 `json:"n"`
}

// Rule is a reference line through the origin of the replay drain chart: a
// vendor's pacing rule drains a backlog of n messages in n×SecondsPerMsg.
type Rule struct {
	Label         string  `json:"label"`
	SecondsPerMsg float64 `json:"seconds_per_msg"`
}

// String describes the rule in one line.
func (r Rule) String() string { return fmt.Sprintf("%s: %g s/msg", r.Label, r.SecondsPerMsg) }

// Profile is what the charts show of one run under one vendor profile.
type Profile struct {
	// Name labels the profile's curves and panels, e.g. "tencent".
	Name string `json:"name"`

	// LiveLatency and StoredLatency are cumulative distributions of the
	// delivery latency of copies sent live and from the offline queue: X is
	// the latency in seconds, Y the fraction of deliveries at or below it.
	LiveLatency   []Point `json:"live_latency"`
	StoredLatency []Point `json:"stored_latency"`

	// QueueP50 and QueueP99 are quantiles across sessions of the queue depth
	// at each sample, QueueMax the deepest queue of any session within each
	// sampling interval (Input.SampleSeconds): X in seconds since the start,
	// Y in messages.
	QueueP50 []Point `json:"queue_p50"`
	QueueP99 []Point `json:"queue_p99"`
	QueueMax []Point `json:"queue_max"`

	// Online, Offline and Expired count sessions over time: X in seconds
	// since the start, Y in sessions.
	Online  []Point `json:"online"`
	Offline []Point `json:"offline"`
	Expired []Point `json:"expired"`

	// Drain has one point per resume with a backlog: X is the backlog in
	// messages, Y the seconds from reconnect until it was delivered.
	Drain []Point `json:"drain"`

	// Drops counts dropped copies by reason.
	Drops []Count `json:"drops"`

	// Crashes are the broker's crashes: X when it crashed, Y how long it
	// stayed down, both in seconds (the fleet-state chart marks them).
	Crashes []Point `json:"crashes,omitempty"`
}

// Input is everything the charts draw: one run per profile, side by side.
type Input struct {
	// Subtitle is appended to every chart title, e.g. "mixed, seed 42".
	Subtitle string `json:"subtitle"`
	// Profiles are drawn in this order, each in its own colour.
	Profiles []Profile `json:"profiles"`
	// Rules are reference lines on the replay drain chart.
	Rules []Rule `json:"rules"`
	// SampleSeconds is the interval between the samples of the time charts,
	// stated on the queue-depth chart (0: not stated).
	SampleSeconds float64 `json:"sample_s"`
}
