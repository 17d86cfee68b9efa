package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// dpi is the resolution of the PNG files.
const dpi = 110

// Chart is one figure: a grid of panels (one row each) under a title.
type Chart struct {
	// Name is the file name stem, e.g. "latency_cdf".
	Name string
	// Title is drawn above the panels.
	Title string
	// Panels are stacked top to bottom and share the figure's width.
	Panels []*plot.Plot
	// Width and Height are the figure's size.
	Width, Height vg.Length
}

// Formats are the file formats Write produces, as file extensions.
var Formats = []string{"png", "svg"}

// Charts builds the five charts of in, in the order of the package doc:
// latency CDF, queue depth, fleet state, replay drain, drops.
func Charts(in Input) []Chart {
	return []Chart{
		LatencyChart(in),
		QueueChart(in),
		FleetChart(in),
		DrainChart(in),
		DropsChart(in),
	}
}

// Write draws every chart of in into dir as NAME.png and NAME.svg, creating
// dir if needed, and returns the paths written in order.
func Write(dir string, in Input) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, c := range Charts(in) {
		for _, format := range Formats {
			path := filepath.Join(dir, c.Name+"."+format)
			if err := writeFile(path, c, format); err != nil {
				return paths, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

// writeFile encodes c in format into a new file at path.
func writeFile(path string, c Chart, format string) error {
	var buf bytes.Buffer
	if err := c.Encode(&buf, format); err != nil {
		return fmt.Errorf("plots: %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Encode draws c and writes it to w as "png" or "svg".
func (c Chart) Encode(w io.Writer, format string) error {
	var canvas vg.CanvasWriterTo
	switch format {
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(c.Width, c.Height), vgimg.UseDPI(dpi))}
	case "svg":
		canvas = vgsvg.New(c.Width, c.Height)
	default:
		return fmt.Errorf("plots: unknown format %q (want png or svg)", format)
	}
	c.draw(draw.New(canvas))
	_, err := canvas.WriteTo(w)
	return err
}

// draw paints a white background, the title and the panels on dc.
func (c Chart) draw(dc draw.Canvas) {
	dc.FillPolygon(color.White, []vg.Point{
		{X: dc.Min.X, Y: dc.Min.Y}, {X: dc.Max.X, Y: dc.Min.Y},
		{X: dc.Max.X, Y: dc.Max.Y}, {X: dc.Min.X, Y: dc.Max.Y},
	})
	title := titleStyle()
	top := title.Height(c.Title) + vg.Points(10)
	dc.FillText(title, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(6)}, c.Title)
	body := draw.Crop(dc, vg.Points(4), -vg.Points(8), vg.Points(4), -top)
	if len(c.Panels) == 0 {
		return
	}
	rows := make([][]*plot.Plot, len(c.Panels))
	for i, p := range c.Panels {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadY: vg.Points(8)}
	plotArea := draw.Crop(body, 0, -legendWidth, 0, 0)
	for i, cells := range plot.Align(rows, tiles, plotArea) {
		drawPanel(c.Panels[i], cells[0], body.Max.X)
	}
}

// chartWidth is the width of every chart, legends included.
const chartWidth = 9.5 * vg.Inch

// legendWidth is the margin right of the panels that holds their legends,
// so that a legend never covers data.
const legendWidth = 2 * vg.Inch

// drawPanel draws p into cell and its legend to the right of p's data
// area, up to right, level with the data area's top.
func drawPanel(p *plot.Plot, cell draw.Canvas, right vg.Length) {
	q := *p // a shallow copy: the panel itself is left as it was
	q.Legend = plot.NewLegend()
	data := q.DataCanvas(cell)
	q.Draw(cell)
	legend := p.Legend
	legend.Left, legend.Top = true, true
	legend.XOffs, legend.YOffs = 0, 0
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Draw(draw.Canvas{Canvas: cell.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: data.Max.X + vg.Points(12), Y: data.Min.Y},
		Max: vg.Point{X: right, Y: data.Max.Y},
	}})
}

// titleStyle is the style of a chart's title: larger than a panel's,
// centred, hanging from the top.
func titleStyle() text.Style {
	sty := plot.New().Title.TextStyle
	sty.Font.Size = vg.Points(14)
	sty.Font.Weight = font.WeightBold
	sty.XAlign = draw.XCenter
	sty.YAlign = draw.YTop
	return sty
}
