package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sessionlab/sessionlab/sim"
)

// table is the comparison of runs: one column per profile, one row per
// measure.
type table struct {
	header []string   // "", then the profile names
	rows   [][]string // measure name, then one cell per profile
}

// comparison builds the table of runs: deliveries, drops by reason,
// duplicates, latency, queue depth, replay drain, expiries and digests.
func comparison(runs []runRecord) table {
	t := table{header: []string{""}}
	for _, r := range runs {
		t.header = append(t.header, r.Profile)
	}
	row := func(name string, cell func(m *sim.Metrics) string) {
		cells := []string{name}
		for i := range runs {
			cells = append(cells, cell(&runs[i].Metrics))
		}
		t.rows = append(t.rows, cells)
	}
	count := func(f func(m *sim.Metrics) int64) func(*sim.Metrics) string {
		return func(m *sim.Metrics) string { return fmt.Sprint(f(m)) }
	}
	row("published", count(func(m *sim.Metrics) int64 { return m.Published }))
	row("copies owed", count(func(m *sim.Metrics) int64 { return m.Copies }))
	row("delivered", count(func(m *sim.Metrics) int64 { return m.Delivered }))
	row("dropped", count(func(m *sim.Metrics) int64 { return m.DroppedTotal }))
	for _, reason := range dropReasons(runs) {
		row("  "+reason, count(func(m *sim.Metrics) int64 { return m.Dropped[reason] }))
	}
	row("pending at end", count(func(m *sim.Metrics) int64 { return m.Pending }))
	row("duplicates", count(func(m *sim.Metrics) int64 { return m.Duplicates }))
	latencyRows(row, "latency live", func(m *sim.Metrics) *sim.Histogram { return &m.LatencyLive })
	latencyRows(row, "latency stored", func(m *sim.Metrics) *sim.Histogram { return &m.LatencyStored })
	row("max queue depth", func(m *sim.Metrics) string { return fmt.Sprint(m.MaxQueueDepth) })
	row("replays", count(func(m *sim.Metrics) int64 { return m.ReplaysTotal }))
	row("replay drain p50", func(m *sim.Metrics) string { return counted(&m.ReplayDrain, m.ReplayDrain.P50) })
	row("replay drain p99", func(m *sim.Metrics) string { return quantile(&m.ReplayDrain, m.ReplayDrain.P99) })
	row("replay rate p50", replayRate)
	row("sessions expired", count(func(m *sim.Metrics) int64 { return m.Expired }))
	if slices.ContainsFunc(runs, func(r runRecord) bool { return r.Metrics.Crashes > 0 }) {
		row("broker crashes", count(func(m *sim.Metrics) int64 { return m.Crashes }))
		row("  downtime", func(m *sim.Metrics) string { return seconds(m.Downtime) })
		row("  steps lost unsynced", count(func(m *sim.Metrics) int64 { return m.CrashLostSteps }))
		row("  copies re-owed", count(func(m *sim.Metrics) int64 { return m.CrashReowed }))
		row("publisher re-sends", count(func(m *sim.Metrics) int64 { return m.PublisherResends }))
		latencyRows(row, "latency across crash", func(m *sim.Metrics) *sim.Histogram { return &m.LatencyCrash })
		row("disk commits", count(func(m *sim.Metrics) int64 { return m.Commits }))
		row("  sync mean", func(m *sim.Metrics) string { return seconds(m.SyncMean) })
	}
	if slices.ContainsFunc(runs, func(r runRecord) bool { return r.Metrics.WillsPublished+r.Metrics.RetainedSet > 0 }) {
		row("wills published", count(func(m *sim.Metrics) int64 { return m.WillsPublished }))
		row("retained replayed", count(func(m *sim.Metrics) int64 { return m.RetainedReplayed }))
		row("  delivered", count(func(m *sim.Metrics) int64 { return m.RetainedDelivered }))
		row("status wrong p50", func(m *sim.Metrics) string { return counted(&m.StatusWrong, m.StatusWrong.P50) })
		row("status wrong p99", func(m *sim.Metrics) string { return quantile(&m.StatusWrong, m.StatusWrong.P99) })
		row("status wrong at end", count(func(m *sim.Metrics) int64 { return m.StatusWrongAtEnd }))
	}
	row("invariants", func(m *sim.Metrics) string { return "" }) // filled below
	for i, r := range runs {
		t.rows[len(t.rows)-1][i+1] = checkCell(r)
	}
	digests := []string{"digest"}
	for _, r := range runs {
		digests = append(digests, r.Digest)
	}
	t.rows = append(t.rows, digests)
	return t
}

// minRateBacklog is the smallest backlog whose drain counts toward the
// replay rate: a backlog of one or two drains at once under any pacing.
const minRateBacklog = 5

// replayRate is the median of (backlog-1)/drain over the sampled resumes
// with a backlog of at least minRateBacklog messages, with how many resumes
// it rests on: the pacing rule as a rate, the first stored message going at
// once (2 msg/s under tencent's 1 per 500 ms, 10 msg/s under aws), e.g.
// "2 msg/s n=1711", or "-" when no resume had such a backlog.
func replayRate(m *sim.Metrics) string {
	var rates []float64
	for _, r := range m.Replays {
		if r.Backlog >= minRateBacklog && r.Drain > 0 {
			rates = append(rates, float64(r.Backlog-1)/r.Drain)
		}
	}
	if len(rates) == 0 {
		return "-"
	}
	slices.Sort(rates)
	return fmt.Sprintf("%.3g msg/s n=%d", rates[(len(rates)-1)/2], len(rates))
}

// latencyRows adds the p50, p99 and max rows of a latency histogram.
func latencyRows(row func(string, func(*sim.Metrics) string), name string, h func(*sim.Metrics) *sim.Histogram) {
	row(name+" p50", func(m *sim.Metrics) string { return counted(h(m), h(m).P50) })
	row(name+" p99", func(m *sim.Metrics) string { return quantile(h(m), h(m).P99) })
	row(name+" max", func(m *sim.Metrics) string { return quantile(h(m), h(m).Max) })
}

// quantile formats v, a quantile of h in seconds, or "-" when h is empty.
func quantile(h *sim.Histogram, v float64) string {
	if h.Count == 0 {
		return "-"
	}
	return seconds(v)
}

// counted formats a median of h with how many values it rests on, e.g.
// "2.62s n=2179": the p50 row says it for the rows of its histogram below.
func counted(h *sim.Histogram, v float64) string {
	if h.Count == 0 {
		return "-"
	}
	return seconds(v) + " n=" + strconv.FormatInt(h.Count, 10)
}

// dropReasons returns every drop reason any run recorded, sorted.
func dropReasons(runs []runRecord) []string {
	var reasons []string
	for _, r := range runs {
		for reason := range r.Metrics.Dropped {
			if !slices.Contains(reasons, reason) {
				reasons = append(reasons, reason)
			}
		}
	}
	slices.Sort(reasons) // map order must not reach the output
	return reasons
}

// seconds formats a duration given in seconds with a unit that keeps it
// short: "<1ms" (zero included: one rule for every run), "85ms", "2.50s",
// "12.0min", "3.2h".
func seconds(s float64) string {
	switch {
	case s < 0.0005:
		return "<1ms"
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	case s < 60:
		return fmt.Sprintf("%.2fs", s)
	case s < 3600:
		return fmt.Sprintf("%.1fmin", s/60)
	default:
		return fmt.Sprintf("%.1fh", s/3600)
	}
}

// writeText writes t aligned in columns: names left-aligned, values
// right-aligned, two spaces apart.
func (t table) writeText(w io.Writer) error {
	all := append([][]string{t.header}, t.rows...)
	widths := make([]int, len(t.header))
	for _, cells := range all {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, cells := range all {
		fmt.Fprintf(&b, "%-*s", widths[0], cells[0])
		for i, c := range cells[1:] {
			fmt.Fprintf(&b, "  %*s", widths[i+1], c)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdown writes t as a GitHub-flavoured Markdown table.
func (t table) writeMarkdown(w io.Writer) {
	header := append([]string{"measure"}, t.header[1:]...)
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|---%s|\n", strings.Repeat("|--:", len(header)-1))
	for _, cells := range t.rows {
		name := strings.Replace(cells[0], "  ", "&nbsp;&nbsp;", 1)
		fmt.Fprintf(w, "| %s | %s |\n", name, strings.Join(cells[1:], " | "))
	}
}

// checkCell summarises the checker's verdict on run r.
func checkCell(r runRecord) string {
	switch {
	case !r.Checked:
		return "unchecked"
	case r.Violation != "":
		return "VIOLATED"
	}
	return "ok"
}

// rowMeanings defines every row of the comparison table, for summary.md.
// Drop-reason rows (indented under "dropped") are defined by dropMeaning.
var rowMeanings = map[string]string{
	"published":                "messages the broker accepted: PUBLISHes from devices and backends, Wills, and retained messages replayed on SUBSCRIBE (each replay is a message of its own)",
	"copies owed":              "subscriber copies those messages owed: one per matching session when the broker accepted them",
	"delivered":                "copies that reached their end at the broker: QoS 0 sent, QoS 1 acknowledged with PUBACK, QoS 2 with PUBREC",
	"dropped":                  "copies the broker dropped, by the reason below; copies owed = delivered + dropped + pending",
	"pending at end":           "copies neither delivered nor dropped when the run ended (queued or in flight)",
	"duplicates":               "PUBLISHes a device application received again after its first receipt of the same copy (QoS 1 at least once)",
	"latency live p50":         "median time from the broker accepting a message to the application receiving it, for copies sent while the session was online; n= is how many receipts the three latency rows rest on",
	"latency live p99":         "99th percentile of the same",
	"latency live max":         "the largest",
	"latency stored p50":       "median of the same for copies that waited in the session's queue while it was offline (or were re-sent on resume)",
	"latency stored p99":       "99th percentile of the same",
	"latency stored max":       "the largest",
	"max queue depth":          "the most copies queued for one session at any instant (the queue-depth chart's largest 'max in each interval')",
	"replays":                  "resumes that found a backlog queued, whose drain time is measured",
	"replay drain p50":         "median time from such a resume until its backlog was delivered; n= is how many resumes the drain rows rest on",
	"replay drain p99":         "99th percentile of the same",
	"replay rate p50":          "median of (backlog - 1) / drain time over resumes of 5 or more messages (the first stored message goes at once): the pacing as a client measures it; n= is how many resumes it rests on",
	"sessions expired":         "persistent sessions the broker expired",
	"wills published":          "Wills the broker published after a connection ended without DISCONNECT",
	"retained replayed":        "retained messages sent to subscribers because of a SUBSCRIBE",
	"  delivered":              "of those, copies delivered",
	"status wrong p50":         "median length of the episodes in which a backend's last status of a device (online/offline) disagreed with whether the device had a session up; n= is how many episodes",
	"status wrong p99":         "99th percentile of the same",
	"status wrong at end":      "devices whose status was still wrong at a backend when the run ended",
	"broker crashes":           "times the broker process crashed (scenario crash events, the crashes_per_day knob); it lost what its simulated disk had not synced and restarted from the rest",
	"  downtime":               "total time the broker was down across its crashes",
	"  steps lost unsynced":    "core steps whose changes were not yet synced when a crash struck: their outputs (PUBACKs among them) never left the broker, so no client saw them",
	"  copies re-owed":         "copies a recovery restored that the broker had finished before the crash: with changes synced before outputs, always 0",
	"publisher re-sends":       "PUBLISHes devices sent again with DUP=1 after losing a connection before the broker's PUBACK (crashes are one cause)",
	"latency across crash p50": "median latency of the copies a crash found pending and a recovery restored; n= is how many receipts the three rows rest on",
	"latency across crash p99": "99th percentile of the same",
	"latency across crash max": "the largest",
	"disk commits":             "group commits of the simulated disk: steps with durable changes are held until one completes",
	"  sync mean":              "the run's mean sync latency, drawn from the seed (100µs to 20ms); each commit takes 0.5 to 1.5 times it",
	"invariants":               "the in-simulation checker's verdict: ok, or the first violation (safety, liveness) or crash",
	"digest":                   "the run's trace hash: the same seed and scenario give the same digest",
}

// dropMeaning defines a drop-reason row.
func dropMeaning(reason string) string {
	if reason == "crash" {
		return "copies a broker crash lost: owed to clean sessions (they end with their connections), which nothing keeps"
	}
	return "copies dropped with reason " + reason
}

// rowMeaning returns the definition of a table row, or "" for none.
func rowMeaning(name string) string {
	if m, ok := rowMeanings[name]; ok {
		return m
	}
	if strings.HasPrefix(name, "  ") {
		return dropMeaning(strings.TrimSpace(name))
	}
	return ""
}
