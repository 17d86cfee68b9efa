package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// chartCaptions describe the charts of package plots, by file stem, in the
// order summary.md shows them.
var chartCaptions = []struct{ name, title, caption string }{
	{"latency_cdf", "Delivery latency", "Cumulative distribution of the time from the broker accepting a message to the subscriber's application receiving it, on a log time axis: solid lines for live deliveries, dashed for deliveries from the offline queue."},
	{"queue_depth", "Queue depth", "Messages queued per session over time, across the fleet: median and 99th percentile at each sample, and the deepest queue of any session within each sampling interval (the table's max queue depth is its largest value), one panel per profile."},
	{"fleet_state", "Fleet state", "Persistent sessions online, offline (kept by the broker) and expired over time, one panel per profile."},
	{"replay_drain", "Replay drain", "Time from a resume until its stored backlog was delivered, against the backlog's size, one dot per resume; grey lines are the profiles' pacing rules."},
	{"drops", "Drops by reason", "Dropped copies by reason and profile."},
}

// writeSummary writes summary.md: what was run, the comparison table, and
// every chart (PNG) with a caption and a link to its SVG.
func writeSummary(path string, f *metricsFile, t table, command string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# sessionlab simulate: %s\n\n", f.Scenario)
	fmt.Fprintf(&b, "- seed: %d\n", f.Seed)
	profiles := make([]string, len(f.Runs))
	for i, r := range f.Runs {
		profiles[i] = r.Profile
	}
	fmt.Fprintf(&b, "- profiles: %s\n", strings.Join(profiles, ", "))
	if len(f.Runs) > 0 {
		m := f.Runs[0].Metrics
		fmt.Fprintf(&b, "- devices: %d; faulty phase %s, healed phase %s, sampled every %s\n",
			m.Devices, seconds(m.Duration), seconds(m.Heal), seconds(m.SampleSeconds))
		fmt.Fprintf(&b, "- network faults: %v\n", f.Runs[0].Knobs)
	}
	fmt.Fprintf(&b, "- reproduce: `%s`\n", command)
	fmt.Fprintf(&b, "- digest: `%s`\n\n", f.Digest)
	b.WriteString("## Comparison\n\n")
	t.writeMarkdown(&b)
	b.WriteString("\nWhat the rows mean:\n\n")
	for _, row := range t.rows {
		fmt.Fprintf(&b, "- **%s**: %s\n", strings.TrimSpace(row[0]), rowMeaning(row[0]))
	}
	b.WriteString("\n## Charts\n")
	for _, c := range chartCaptions {
		fmt.Fprintf(&b, "\n### %s\n\n![%s](%s.png)\n\n%s ([SVG](%s.svg))\n", c.title, c.title, c.name, c.caption, c.name)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
