package plots

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// DropsChart is a grouped bar chart of dropped copies by reason: one group
// per reason (in order of first appearance across the profiles), one bar
// per profile.
func DropsChart(in Input) Chart {
	p := newBarePlot("", "drop reason", "dropped copies")
	p.Add(newGrid(false))
	reasons, counts := dropTable(in.Profiles)
	if len(reasons) == 0 {
		reasons = []string{"no drops"}
	}
	n := len(in.Profiles)
	width := vg.Points(min(40, 360/float64(max(1, n*len(reasons)))))
	var top float64
	for i, pr := range in.Profiles {
		values := make(plotter.Values, len(reasons))
		copy(values, counts[i])
		for _, v := range values {
			top = max(top, v)
		}
		bars, err := plotter.NewBarChart(values, width)
		if err != nil { // NaN or infinite counts: nothing sensible to draw
			continue
		}
		bars.Color = profileColor(i)
		bars.LineStyle.Width = 0
		bars.Offset = width * (vg.Length(i) - vg.Length(n-1)/2)
		p.Add(bars)
		p.Legend.Add(pr.Name, bars)
		if labels := barLabels(values, bars.Offset); labels != nil {
			p.Add(labels)
		}
	}
	p.NominalX(reasons...)
	// One unit slot per reason: the bars are offset around each reason's
	// tick, so without the margin the outer ones would run past the data
	// area into the legend.
	p.X.Min, p.X.Max = -0.5, float64(len(reasons))-0.5
	setLinear(&p.Y, span{0, top}, top > 0, 1.05)
	return Chart{
		Name:   "drops",
		Title:  title("Dropped copies by reason", in.Subtitle),
		Panels: []*plot.Plot{p},
		Width:  chartWidth, Height: 5 * vg.Inch,
	}
}

// dropTable returns the reasons in order of first appearance and, per
// profile, the count of each reason (summed if a reason repeats).
func dropTable(profiles []Profile) ([]string, [][]float64) {
	var reasons []string
	index := map[string]int{} // lookups only: order comes from reasons
	for _, pr := range profiles {
		for _, c := range pr.Drops {
			if _, ok := index[c.Label]; !ok {
				index[c.Label] = len(reasons)
				reasons = append(reasons, c.Label)
			}
		}
	}
	counts := make([][]float64, len(profiles))
	for i, pr := range profiles {
		counts[i] = make([]float64, len(reasons))
		for _, c := range pr.Drops {
			counts[i][index[c.Label]] += c.N
		}
	}
	return reasons, counts
}

// barLabels writes each value above its bar (offset horizontally by
// offset), so that bars too short to see still read as numbers.
func barLabels(values plotter.Values, offset vg.Length) *plotter.Labels {
	xys := make(plotter.XYs, len(values))
	texts := make([]string, len(values))
	for i, v := range values {
		xys[i] = plotter.XY{X: float64(i), Y: v}
		texts[i] = plainNumber(v)
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil { // NaN or infinite values: the bars are missing too
		return nil
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(8)
		labels.TextStyle[i].XAlign = draw.XCenter
	}
	labels.Offset = vg.Point{X: offset, Y: vg.Points(2)}
	return labels
}
