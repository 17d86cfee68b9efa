package plots

import (
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// curve is one line of a time panel.
type curve struct {
	label  string
	points []Point
	color  color.Color
	dashes []vg.Length
}

// timePanels returns one panel per profile, titled with the profile's name,
// showing the curves of curves(i, profile) against time since the start. All
// panels share the time axis (ending at the last sample of any profile) and
// the Y range, so profiles compare at a glance; the Y range has headroom for
// the legend.
func timePanels(in Input, ylabel string, curves func(i int, p Profile) []curve) []*plot.Plot {
	all := make([][]curve, len(in.Profiles))
	var lists [][]Point
	for i, pr := range in.Profiles {
		all[i] = curves(i, pr)
		for _, c := range all[i] {
			lists = append(lists, c.points)
		}
	}
	xs, _ := spanOf(pickX, nil, lists...)
	ys, yok := spanOf(pickY, nil, lists...)
	u := unitFor(xs.max)
	panels := make([]*plot.Plot, 0, len(in.Profiles))
	for i, pr := range in.Profiles {
		p := newPlot(pr.Name, "time since start ("+u.name+")", ylabel)
		for _, c := range all[i] {
			addLine(p, c.label, inUnit(c.points, u), nil, lineStyle(c.color, c.dashes))
		}
		setTime(&p.X, u, xs.max/u.seconds)
		setLinear(&p.Y, ys, yok, 1.05)
		if i < len(in.Profiles)-1 {
			p.X.Label.Text = "" // the bottom panel's label serves all
		}
		panels = append(panels, p)
	}
	return panels
}

// panelHeight is the height of one profile's panel in a time chart.
const panelHeight = 2.4 * vg.Inch

// timeChart wraps panels into a chart of one row per panel.
func timeChart(name, t string, in Input, panels []*plot.Plot) Chart {
	return Chart{
		Name: name, Title: title(t, in.Subtitle), Panels: panels,
		Width: chartWidth, Height: vg.Inch/2 + panelHeight*vg.Length(max(1, len(panels))),
	}
}

// QueueChart shows, per profile, the queue depth across sessions over time:
// the median, the 99th percentile and the maximum.
func QueueChart(in Input) Chart {
	panels := timePanels(in, "queue depth (messages)", func(i int, p Profile) []curve {
		c := profileColor(i)
		return []curve{
			{maxLabel(in.SampleSeconds), p.QueueMax, c, dotted},
			{"p99", p.QueueP99, c, dashed},
			{"p50", p.QueueP50, c, solid},
		}
	})
	return timeChart("queue_depth", "Queue depth across sessions", in, panels)
}

// maxLabel names the queue chart's maximum curve: the deepest queue within
// each sampling interval, e.g. "max in each 5m0s".
func maxLabel(sampleSeconds float64) string {
	if sampleSeconds <= 0 {
		return "max"
	}
	return "max in each " + time.Duration(sampleSeconds*float64(time.Second)).String()
}

// Colours of the fleet states, the same in every profile's panel.
var (
	onlineColor  = color.RGBA{0x00, 0x9E, 0x73, 0xff}
	offlineColor = color.RGBA{0xE6, 0x9F, 0x00, 0xff}
	expiredColor = color.RGBA{0xD5, 0x5E, 0x00, 0xff}
)

// crashColor marks the broker's crashes on the fleet-state chart.
var crashColor = color.RGBA{0xCC, 0x33, 0x33, 0xff}

// crashBars draws each crash as a bar as tall as the panel's highest
// curve and as wide as the downtime, joined along the axis.
func crashBars(p Profile) []Point {
	top := 0.0
	for _, l := range [][]Point{p.Online, p.Offline, p.Expired} {
		for _, pt := range l {
			top = max(top, pt.Y)
		}
	}
	var pts []Point
	for _, c := range p.Crashes {
		pts = append(pts, Point{c.X, 0}, Point{c.X, top}, Point{c.X + c.Y, top}, Point{c.X + c.Y, 0})
	}
	return pts
}

// FleetChart shows, per profile, how many persistent sessions are online,
// offline (kept by the broker) and expired over time, and when the broker
// was down after a crash.
func FleetChart(in Input) Chart {
	panels := timePanels(in, "sessions", func(_ int, p Profile) []curve {
		cs := []curve{
			{"online", p.Online, onlineColor, solid},
			{"offline", p.Offline, offlineColor, dashed},
			{"expired", p.Expired, expiredColor, dotted},
		}
		if len(p.Crashes) > 0 {
			cs = append(cs, curve{"broker down (crash)", crashBars(p), crashColor, solid})
		}
		return cs
	})
	return timeChart("fleet_state", "Fleet state: sessions online, offline and expired", in, panels)
}
