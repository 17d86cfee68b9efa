package plots

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette colours profiles by their index in Input.Profiles (Okabe-Ito,
// readable with colour-blindness), repeating after eight.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // green
	{0xCC, 0x79, 0xA7, 0xff}, // purple
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
}

// profileColor returns the colour of the i-th profile.
func profileColor(i int) color.Color { return palette[i%len(palette)] }

// Line dashes distinguish the curves of one profile or panel.
var (
	solid  []vg.Length
	dashed = []vg.Length{vg.Points(6), vg.Points(3)}
	dotted = []vg.Length{vg.Points(1.5), vg.Points(2)}
)

// grey draws reference lines and grids.
var grey = color.Gray{Y: 0x99}

// newPlot returns a plot with the title and axis labels set, a light grid
// and plain tick labels; Chart.draw puts its legend beside it.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := newBarePlot(title, xlabel, ylabel)
	p.Add(newGrid(true))
	return p
}

// newBarePlot is newPlot without the grid.
func newBarePlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	return p
}

// newGrid returns light grid lines at the ticks, horizontal only unless
// vertical.
func newGrid(vertical bool) *plotter.Grid {
	grid := plotter.NewGrid()
	grid.Horizontal.Color = color.Gray{Y: 0xe0}
	grid.Vertical.Color = nil
	if vertical {
		grid.Vertical.Color = color.Gray{Y: 0xe0}
	}
	return grid
}

// lineStyle returns a line style of colour c and dashes d.
func lineStyle(c color.Color, d []vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(1.5), Dashes: d}
}

// addLine adds pts to p as a line with style sty and a legend entry label,
// keeping only the points keep accepts. It adds nothing when no point is
// left, so an empty series never distorts the axes.
func addLine(p *plot.Plot, label string, pts []Point, keep func(Point) bool, sty draw.LineStyle) {
	xys := clean(pts, keep)
	if len(xys) == 0 {
		return
	}
	l := &plotter.Line{XYs: xys, LineStyle: sty}
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
}

// clean converts pts to plotter.XYs, leaving out NaN, infinite and
// rejected points; keep may be nil.
func clean(pts []Point, keep func(Point) bool) plotter.XYs {
	xys := make(plotter.XYs, 0, len(pts))
	for _, pt := range pts {
		if plotter.CheckFloats(pt.X, pt.Y) != nil || keep != nil && !keep(pt) {
			continue
		}
		xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
	}
	return xys
}

// positiveX accepts points that a log-scale X axis can show.
func positiveX(p Point) bool { return p.X > 0 }
