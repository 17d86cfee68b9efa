package plots

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// LatencyChart is the cumulative distribution of delivery latency per
// profile on a log time axis: solid for copies delivered live, dashed for
// copies delivered from the offline queue after a resume.
func LatencyChart(in Input) Chart {
	p := newPlot("", "delivery latency (s, log scale)", "fraction of deliveries ≤ latency")
	var all [][]Point
	for i, pr := range in.Profiles {
		c := profileColor(i)
		addLine(p, pr.Name+" live", pr.LiveLatency, positiveX, lineStyle(c, solid))
		addLine(p, pr.Name+" stored", pr.StoredLatency, positiveX, lineStyle(c, dashed))
		all = append(all, pr.LiveLatency, pr.StoredLatency)
	}
	s, ok := spanOf(pickX, positiveX, all...)
	setLogSeconds(&p.X, s, ok)
	p.Y.Min, p.Y.Max = 0, 1.02
	return Chart{
		Name:   "latency_cdf",
		Title:  title("Delivery latency CDF, live and stored", in.Subtitle),
		Panels: []*plot.Plot{p},
		Width:  chartWidth, Height: 5 * vg.Inch,
	}
}

// title joins a chart's title and the input's subtitle.
func title(t, subtitle string) string {
	if subtitle == "" {
		return t
	}
	return t + " — " + subtitle
}
