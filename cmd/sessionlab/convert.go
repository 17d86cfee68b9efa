package main

import (
	"fmt"

	"github.com/sessionlab/sessionlab/model"
	"github.com/sessionlab/sessionlab/plots"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// plotInput converts the runs of f into the plots package's input.
func plotInput(f *metricsFile) plots.Input {
	in := plots.Input{
		Subtitle: fmt.Sprintf("%s, seed %d", f.Scenario, f.Seed),
		Rules:    f.Rules,
	}
	if len(f.Runs) > 0 {
		in.SampleSeconds = f.Runs[0].Metrics.SampleSeconds
	}
	reasons := dropReasons(f.Runs)
	for _, r := range f.Runs {
		in.Profiles = append(in.Profiles, plotProfile(r.Profile, &r.Metrics, reasons))
	}
	return in
}

// plotProfile converts one run's metrics; drops are listed for every reason
// in reasons, in that order, so that all profiles share the bar groups.
func plotProfile(name string, m *sim.Metrics, reasons []string) plots.Profile {
	p := plots.Profile{
		Name:          name,
		LiveLatency:   histogramCDF(&m.LatencyLive),
		StoredLatency: histogramCDF(&m.LatencyStored),
	}
	for _, s := range m.Samples {
		p.QueueP50 = append(p.QueueP50, plots.Point{X: s.T, Y: float64(s.QueueP50)})
		p.QueueP99 = append(p.QueueP99, plots.Point{X: s.T, Y: float64(s.QueueP99)})
		p.QueueMax = append(p.QueueMax, plots.Point{X: s.T, Y: float64(max(s.QueuePeak, s.QueueMax))}) // files before queue_peak: the instant's
		p.Online = append(p.Online, plots.Point{X: s.T, Y: float64(s.Online)})
		p.Offline = append(p.Offline, plots.Point{X: s.T, Y: float64(s.Offline)})
		p.Expired = append(p.Expired, plots.Point{X: s.T, Y: float64(s.Expired)})
	}
	for _, c := range m.CrashLog {
		p.Crashes = append(p.Crashes, plots.Point{X: c.T, Y: c.Downtime})
	}
	for _, r := range m.Replays {
		p.Drain = append(p.Drain, plots.Point{X: float64(r.Backlog), Y: r.Drain})
	}
	for _, reason := range reasons {
		p.Drops = append(p.Drops, plots.Count{Label: reason, N: float64(m.Dropped[reason])})
	}
	return p
}

// histogramCDF returns the cumulative distribution of h, one point per
// non-empty bucket at its upper bound.
func histogramCDF(h *sim.Histogram) []plots.Point {
	bounds := make([]float64, len(h.Bins))
	counts := make([]uint64, len(h.Bins))
	for i, b := range h.Bins {
		bounds[i], counts[i] = b.Le, uint64(max(b.Count, 0))
	}
	return plots.CDFOfHistogram(bounds, counts)
}

// pacingRules returns the replay pacing rules of the named profiles, as
// reference lines whose slope is the model's pacing (model.ReplayDrain over
// a long backlog), labelled with the policy's own figure. Profiles whose
// policy cannot be had, or that do not pace, are skipped.
func pacingRules(names []string, sc ...scenario.Scenario) []plots.Rule {
	var rules []plots.Rule
	for _, name := range names {
		pol, err := resolveProfile(name, sc...)
		if err != nil || pol.ReplayInterval == 0 && pol.ReplayRate == 0 {
			continue
		}
		label := fmt.Sprintf("%s: %d msg/s", name, pol.ReplayRate)
		if pol.ReplayInterval > 0 {
			label = fmt.Sprintf("%s: 1 msg / %v", name, pol.ReplayInterval)
		}
		const n = 1000
		rules = append(rules, plots.Rule{Label: label, SecondsPerMsg: model.ReplayDrain(pol, n+1).Seconds() / n})
	}
	return rules
}
