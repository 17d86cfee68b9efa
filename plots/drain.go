package plots

import (
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// DrainChart plots, per profile, the time from a resume until its stored
// backlog was delivered against the backlog's size, one dot per resume,
// with the input's pacing rules as grey reference lines through the origin
// (one message per 500 ms is a slope of 0.5 s per message). The top panel
// is linear and zoomed on the bulk of the resumes, where the rules show as
// slopes; the bottom panel is log-log and shows every resume.
func DrainChart(in Input) Chart {
	var lists [][]Point
	for _, pr := range in.Profiles {
		lists = append(lists, pr.Drain)
	}
	return Chart{
		Name:   "replay_drain",
		Title:  title("Replay drain time after reconnect vs backlog", in.Subtitle),
		Panels: []*plot.Plot{drainLinear(in, lists), drainLogLog(in, lists)},
		Width:  chartWidth, Height: 8.5 * vg.Inch,
	}
}

// bulkQuantile chooses the zoom of the linear drain panel: it shows the
// resumes up to this quantile of backlog size.
const bulkQuantile = 0.99

// drainLinear is the linear panel, zoomed on backlogs up to bulkQuantile.
func drainLinear(in Input, lists [][]Point) *plot.Plot {
	p := newPlot("bulk of the resumes (backlog ≤ 99th percentile), linear",
		"backlog at reconnect (messages)", "drain time (s)")
	xcap := quantileOf(pickX, lists, bulkQuantile)
	inBulk := func(pt Point) bool { return pt.X <= xcap }
	xs, xok := spanOf(pickX, inBulk, lists...)
	ys, yok := spanOf(pickY, inBulk, lists...)
	setLinear(&p.X, xs, xok, 1.05)
	xmax := p.X.Max
	for i, r := range in.Rules {
		addLine(p, r.Label, []Point{{0, 0}, {xmax, xmax * r.SecondsPerMsg}}, validRule(r), lineStyle(grey, ruleDashes[i%len(ruleDashes)]))
	}
	for i, pr := range in.Profiles {
		addScatter(p, pr.Name, pr.Drain, inBulk, i)
	}
	// Plot.Add widened the ranges to the rules' ends: set them last.
	setLinear(&p.X, xs, xok, 1.05)
	setLinear(&p.Y, ys, yok, 1.05)
	return p
}

// drainLogLog is the log-log panel with every resume whose backlog and
// drain time are positive. Y holds log10 of the drain time (see toLog10Y).
func drainLogLog(in Input, lists [][]Point) *plot.Plot {
	p := newPlot("every resume, log-log", "backlog at reconnect (messages, log scale)", "drain time (s, log scale)")
	logs := make([][]Point, len(lists))
	for i, pts := range lists {
		logs[i] = toLog10Y(pts)
	}
	positiveX := func(pt Point) bool { return pt.X > 0 }
	xs, xok := spanOf(pickX, positiveX, logs...)
	ys, yok := spanOf(pickY, positiveX, logs...)
	setLog(&p.X, xs, xok, 1, 10, plainNumber)
	xmin, xmax := p.X.Min, p.X.Max
	for i, r := range in.Rules {
		line := toLog10Y([]Point{{xmin, xmin * r.SecondsPerMsg}, {xmax, xmax * r.SecondsPerMsg}})
		addLine(p, r.Label, line, validRule(r), lineStyle(grey, ruleDashes[i%len(ruleDashes)]))
	}
	for i, pr := range in.Profiles {
		addScatter(p, pr.Name, logs[i], positiveX, i)
	}
	setLog(&p.X, xs, xok, 1, 10, plainNumber)
	setLog10Y(&p.Y, ys, yok, -1, 2, secondsLabel)
	return p
}

// validRule returns a filter that keeps the points of r's line only when
// r is a usable rule (a positive, finite slope).
func validRule(r Rule) func(Point) bool {
	ok := r.SecondsPerMsg > 0 && !math.IsInf(r.SecondsPerMsg, 0)
	return func(Point) bool { return ok }
}

// quantileOf returns the q-quantile (the smallest value with at least a
// fraction q of the values at or below it) of the values picked from every
// point of lists, ignoring NaN and infinities; +Inf when there are none.
func quantileOf(pick func(Point) float64, lists [][]Point, q float64) float64 {
	var vs []float64
	for _, pts := range lists {
		for _, pt := range pts {
			if v := pick(pt); !math.IsNaN(v) && !math.IsInf(v, 0) {
				vs = append(vs, v)
			}
		}
	}
	if len(vs) == 0 {
		return math.Inf(1)
	}
	slices.Sort(vs)
	i := 0
	if q > 0 { // false for NaN too
		i = int(math.Ceil(min(q, 1)*float64(len(vs)))) - 1
	}
	return vs[max(0, i)]
}

// ruleDashes tell reference lines apart.
var ruleDashes = [][]vg.Length{dashed, dotted, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}

// addScatter adds the points of pts that keep accepts as small dots in the
// i-th profile colour and shape. It adds a legend entry even when no point
// is left, so both drain panels list every profile.
func addScatter(p *plot.Plot, label string, pts []Point, keep func(Point) bool, i int) {
	s := &plotter.Scatter{XYs: clean(pts, keep), GlyphStyle: draw.GlyphStyle{
		Color: profileColor(i), Radius: vg.Points(2), Shape: scatterShapes[i%len(scatterShapes)],
	}}
	if len(s.XYs) > 0 {
		p.Add(s)
	}
	p.Legend.Add(label, s)
}

// scatterShapes tell profiles apart without colour.
var scatterShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.CrossGlyph{},
}
