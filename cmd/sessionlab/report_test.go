package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/sim"
)

// testRuns are two hand-made runs with different drop reasons.
func testRuns() []runRecord {
	return []runRecord{
		{Profile: "tencent", Digest: "00000000000000aa", Metrics: sim.Metrics{
			Published: 10, Copies: 12, Delivered: 9, DroppedTotal: 3,
			Dropped:     map[string]int64{"ttl": 1, "queue_full": 2},
			LatencyLive: sim.Histogram{Count: 9, P50: 0.085, P99: 2.5, Max: 90},
			Expired:     4, MaxQueueDepth: 150,
		}},
		{Profile: "aws", Digest: "00000000000000bb", Metrics: sim.Metrics{
			Published: 10, Copies: 12, Delivered: 11, DroppedTotal: 1,
			Dropped:     map[string]int64{"session_expired": 1},
			ReplayDrain: sim.Histogram{Count: 2, P50: 7200, P99: 30},
			Replays: []sim.Replay{{Backlog: 1, Drain: 0}, {Backlog: 20, Drain: 1.9},
				{Backlog: 5, Drain: 0.25}, {Backlog: 100, Drain: 9.9}},
			LatencyLive: sim.Histogram{Count: 3, P50: 0, P99: 0.0004, Max: 0.002},
		}},
	}
}

func TestComparisonTable(t *testing.T) {
	tab := comparison(testRuns())
	if got, want := tab.header, []string{"", "tencent", "aws"}; !reflect.DeepEqual(got, want) {
		t.Errorf("header = %q, want %q", got, want)
	}
	rows := map[string][]string{}
	var order []string
	for _, r := range tab.rows {
		rows[r[0]] = r[1:]
		order = append(order, r[0])
	}
	wantRows := map[string][]string{
		"delivered":          {"9", "11"},
		"dropped":            {"3", "1"},
		"  queue_full":       {"2", "0"},
		"  session_expired":  {"0", "1"},
		"  ttl":              {"1", "0"},
		"latency live p50":   {"85ms n=9", "<1ms n=3"},
		"latency live p99":   {"2.50s", "<1ms"},
		"latency live max":   {"1.5min", "2ms"},
		"max queue depth":    {"150", "0"},
		"replay drain p50":   {"-", "2.0h n=2"},
		"replay drain p99":   {"-", "30.00s"},
		"replay rate p50":    {"-", "10 msg/s n=3"},
		"sessions expired":   {"4", "0"},
		"digest":             {"00000000000000aa", "00000000000000bb"},
		"duplicates":         {"0", "0"},
		"latency stored p99": {"-", "-"},
	}
	for name, want := range wantRows {
		if got := rows[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("row %q = %q, want %q", name, got, want)
		}
	}
	// Drop reasons come sorted, right after "dropped".
	i := indexOf(order, "dropped")
	if got, want := order[i+1:i+4], []string{"  queue_full", "  session_expired", "  ttl"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows after dropped = %q, want %q", got, want)
	}
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

func TestTableRendering(t *testing.T) {
	tab := comparison(testRuns())
	var text, md bytes.Buffer
	if err := tab.writeText(&text); err != nil {
		t.Fatal(err)
	}
	tab.writeMarkdown(&md)
	textLines := strings.Split(strings.TrimRight(text.String(), "\n"), "\n")
	mdLines := strings.Split(strings.TrimRight(md.String(), "\n"), "\n")
	if got, want := len(textLines), 1+len(tab.rows); got != want {
		t.Errorf("text table has %d lines, want %d", got, want)
	}
	if got, want := len(mdLines), 2+len(tab.rows); got != want {
		t.Errorf("markdown table has %d lines, want %d", got, want)
	}
	for i, line := range mdLines {
		if got, want := strings.Count(line, "|"), 4; got != want {
			t.Errorf("markdown line %d %q has %d pipes, want %d", i, line, got, want)
		}
	}
	if !strings.HasPrefix(textLines[1], "published") {
		t.Errorf("text row names are not left-aligned: %q", textLines[1])
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "<1ms"}, {0.0004, "<1ms"}, {0.0006, "1ms"}, {0.085, "85ms"}, {1, "1.00s"}, {59.5, "59.50s"},
		{90, "1.5min"}, {3599, "60.0min"}, {3600, "1.0h"}, {26 * 3600, "26.0h"},
	}
	for _, tt := range tests {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%g) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCombinedDigestDependsOnEveryRunAndOrder(t *testing.T) {
	runs := testRuns()
	base := combinedDigest(runs)
	if len(base) != 16 {
		t.Errorf("digest %q is not 16 hex digits", base)
	}
	swapped := []runRecord{runs[1], runs[0]}
	changed := testRuns()
	changed[1].Digest = "00000000000000bc"
	for name, other := range map[string][]runRecord{"swapped": swapped, "changed": changed} {
		if got := combinedDigest(other); got == base {
			t.Errorf("%s runs: digest %s unchanged", name, got)
		}
	}
	if got := combinedDigest(testRuns()); got != base {
		t.Errorf("same runs: digest %s, then %s", base, got)
	}
}

func TestViolationsAreReportedWithTheReproduceCommand(t *testing.T) {
	a := simulateArgs{scenario: "mixed", profiles: []string{"tencent", "aws"}, seed: 9, check: true}
	runs := testRuns()
	runs[0].Checked, runs[1].Checked = true, true
	tests := []struct {
		name      string
		violation string
		kind      string
		wantCode  int
		wantCell  string
	}{
		{"clean", "", "", exitOK, "ok"},
		{"violated", "safety violation at 1m0s: client c1: invariant 5 redelivery", failSafety, exitFailed, "VIOLATED"},
		{"not live", "liveness violation at 1h0m0s: client c1: invariant 16 liveness", failLiveness, exitFailed, "VIOLATED"},
	}
	for _, tt := range tests {
		runs[1].Violation, runs[1].failure = tt.violation, tt.kind
		var stderr bytes.Buffer
		if got := violations(&stderr, &metricsFile{Runs: runs}, a); got != tt.wantCode {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.wantCode)
		}
		if tt.violation != "" {
			for _, want := range []string{"profile aws: " + tt.violation, "reproduce: sessionlab simulate --scenario mixed --profile tencent,aws --seed 9",
				"FAILED: 1 " + tt.kind + " (exit 1)"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("%s: stderr %q lacks %q", tt.name, stderr.String(), want)
				}
			}
		} else if stderr.Len() != 0 {
			t.Errorf("%s: stderr %q, want nothing", tt.name, stderr.String())
		}
		if got := checkCell(runs[1]); got != tt.wantCell {
			t.Errorf("%s: invariants cell %q, want %q", tt.name, got, tt.wantCell)
		}
	}
	if got := checkCell(testRuns()[0]); got != "unchecked" {
		t.Errorf("unchecked run: cell %q, want unchecked", got)
	}
}

// TestEveryRowIsDefined: summary.md defines every row the comparison table
// can have, the status rows and drop reasons included.
func TestEveryRowIsDefined(t *testing.T) {
	runs := []runRecord{{Profile: "tencent", Metrics: sim.Metrics{WillsPublished: 1,
		Dropped: map[string]int64{"queue-full": 1, "ttl": 2}}}}
	for _, row := range comparison(runs).rows {
		if rowMeaning(row[0]) == "" {
			t.Errorf("row %q has no definition in rowMeanings", row[0])
		}
	}
}
