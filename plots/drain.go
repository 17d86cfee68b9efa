package plots

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// DrainChart plots, per profile, the time from a resume until its stored
// backlog was delivered against the backlog's size, one dot per resume, with
// the input's pacing rules as grey reference lines through the origin (a
// rule of one message per 500 ms is a slope of 0.5 s per message).
func DrainChart(in Input) Chart {
	p := newPlot("", "backlog at reconnect (messages)", "replay drain time (s)")
	var lists [][]Point
	for _, pr := range in.Profiles {
		lists = append(lists, pr.Drain)
	}
	xs, xok := spanOf(pickX, nil, lists...)
	ys, yok := spanOf(pickY, nil, lists...)
	setLinear(&p.X, xs, xok, 1.05)
	xmax := p.X.Max
	for i, r := range in.Rules {
		addRule(p, r, xmax, ruleDashes[i%len(ruleDashes)])
	}
	for i, pr := range in.Profiles {
		addScatter(p, pr.Name, pr.Drain, i)
	}
	// Plot.Add widened the ranges to the rules' ends: set them last.
	setLinear(&p.X, xs, xok, 1.05)
	setLinear(&p.Y, ys, yok, 1.05)
	return Chart{
		Name:   "replay_drain",
		Title:  title("Replay drain time after reconnect vs backlog", in.Subtitle),
		Panels: []*plot.Plot{p},
		Width:  chartWidth, Height: 5 * vg.Inch,
	}
}

// ruleDashes tell reference lines apart.
var ruleDashes = [][]vg.Length{dashed, dotted, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}

// addRule draws r from the origin to backlog xmax; the plot clips it to
// the Y range.
func addRule(p *plot.Plot, r Rule, xmax float64, dashes []vg.Length) {
	if !(r.SecondsPerMsg > 0) {
		return
	}
	addLine(p, r.Label, []Point{{0, 0}, {xmax, xmax * r.SecondsPerMsg}}, nil, lineStyle(grey, dashes))
}

// addScatter adds pts as small translucent dots in the i-th profile colour.
func addScatter(p *plot.Plot, label string, pts []Point, i int) {
	xys := clean(pts, nil)
	if len(xys) == 0 {
		return
	}
	s := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{
		Color: profileColor(i), Radius: vg.Points(2), Shape: scatterShapes[i%len(scatterShapes)],
	}}
	p.Add(s)
	p.Legend.Add(label, s)
}

// scatterShapes tell profiles apart without colour.
var scatterShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.CrossGlyph{},
}
