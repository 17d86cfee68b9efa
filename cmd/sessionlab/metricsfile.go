package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"

	"github.com/sessionlab/sessionlab/netsim"
	"github.com/sessionlab/sessionlab/plots"
	"github.com/sessionlab/sessionlab/sim"
)

// metricsFile is the content of metrics.json: one simulate invocation, every
// profile's run side by side. "sessionlab plot" redraws the charts from it
// alone.
type metricsFile struct {
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed,string"` // a string: JSON tools read a 64-bit number as a float and lose digits
	// Digest combines the runs' digests in order (see combinedDigest).
	Digest string `json:"digest"`
	// Rules are the replay pacing rules of the profiles, drawn as reference
	// lines on the replay drain chart.
	Rules []plots.Rule `json:"rules"`
	Runs  []runRecord  `json:"runs"`
}

// runRecord is one profile's run.
type runRecord struct {
	Profile   string       `json:"profile"`
	Digest    string       `json:"digest"`
	Events    int64        `json:"events"`
	Knobs     netsim.Knobs `json:"knobs"`
	Truncated bool         `json:"truncated,omitempty"`
	// Checked says the in-simulation invariant checker watched the run;
	// Violation is its report of the first broken invariant, if any.
	Checked   bool        `json:"checked"`
	Violation string      `json:"violation,omitempty"`
	Metrics   sim.Metrics `json:"metrics"`
	// failure is the kind of Violation (failSafety or failLiveness), for
	// the exit message; not saved.
	failure string
}

// String describes the record in one line.
func (r runRecord) String() string {
	return fmt.Sprintf("%s: %d events, digest %s", r.Profile, r.Events, r.Digest)
}

// combinedDigest hashes the profile names and run digests, in order, with
// 64-bit FNV-1a: the same seed, scenario and profiles give the same digest.
func combinedDigest(runs []runRecord) string {
	h := fnv.New64a()
	for _, r := range runs {
		fmt.Fprintf(h, "%s=%s\n", r.Profile, r.Digest)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// writeMetrics writes f as indented JSON to path.
func writeMetrics(path string, f *metricsFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// readMetrics reads a metrics.json written by simulate.
func readMetrics(path string) (*metricsFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f metricsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Runs) == 0 {
		return nil, fmt.Errorf("%s: no runs: not a metrics file written by sessionlab simulate", path)
	}
	return &f, nil
}
