package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/properties/history"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// printPreamble prints, before anything runs, the seed, the command that
// reproduces the run, and every knob: the scenario's groups, network,
// fault rates (drawn from the seed for swarm scenarios) and events.
func printPreamble(w io.Writer, a simulateArgs, sc scenario.Scenario) {
	fmt.Fprintf(w, "seed: %d\n", a.seed)
	fmt.Fprintf(w, "reproduce: %s\n", reproduce(a))
	fmt.Fprintf(w, "scenario: %v\n", sc)
	if sc.Description != "" {
		fmt.Fprintf(w, "  %s\n", sc.Description)
	}
	for _, g := range sc.Groups {
		fmt.Fprintf(w, "  group %v", g)
		if g.Offline != nil {
			o := g.Offline
			fmt.Fprintf(w, " offline: from %v every %v for %v jitter %v fraction %g graceful=%v",
				o.Start, o.Every, o.For, o.Jitter, o.Fraction, o.Graceful)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  network latency: %v\n", sc.Network.Latency)
	source := "fixed"
	if sc.Network.Swarm {
		source = "drawn from the seed (swarm)"
	}
	fmt.Fprintf(w, "  network faults (%s): %v\n", source, sim.Knobs(sc, a.seed))
	for _, e := range sc.Events {
		fmt.Fprintf(w, "  event %v\n", e)
	}
	fmt.Fprintf(w, "  sample every %v, wire codec %v, invariant checker %v\n", sc.SampleEvery(), a.wire, a.check)
	described := make([]string, len(a.profiles))
	for i, p := range a.profiles {
		described[i] = describeProfile(p, sc)
	}
	fmt.Fprintf(w, "profiles: %s\n", strings.Join(described, ", "))
}

// coreForTest, when set, builds the core of every run instead of
// broker.New; tests use it to inject a failing core.
var coreForTest func(broker.Config) (sim.Core, error)

// simulateAll runs sc under every profile of a, one goroutine each, and
// collects the runs in profile order. Progress goes to stderr as a bar
// when stderr is a terminal.
func simulateAll(sc scenario.Scenario, a simulateArgs, stderr io.Writer) (*metricsFile, error) {
	var bar *progressBar
	if isTerminal(stderr) {
		bar = newProgressBar(stderr, a.profiles)
		defer bar.done()
	}
	runs := make([]runRecord, len(a.profiles))
	errs := make([]error, len(a.profiles))
	// With a core to spare per run, what watches each run (the checker and
	// the ledger) takes a goroutine of its own (sim.Options.Concurrent,
	// check.RunConcurrent: same metrics and verdict, off the run's critical
	// path); otherwise watching in line costs less.
	// A recorded history must see each run once: in line, since a failing
	// concurrent run is run twice (check.RunConcurrent).
	concurrent := 2*len(a.profiles) <= runtime.GOMAXPROCS(0) && a.history == ""
	var wg sync.WaitGroup
	for i, name := range a.profiles {
		opts := sim.Options{Wire: a.wire, NewCore: coreForTest}
		if bar != nil {
			opts.Progress = bar.update(i)
		}
		wg.Go(func() {
			defer func() { // a panicking core is a crash to report, not to die of
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("%s: %v\n%s", failCrash, r, debug.Stack())
				}
			}()
			runs[i], errs[i] = simulateOne(sc, name, a.seed, a.check, concurrent, historyPath(a, name), opts)
			if errs[i] != nil { // an error inside the run is a crash too
				errs[i] = fmt.Errorf("%s: %w", failCrash, errs[i])
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", a.profiles[i], err)
		}
	}
	f := &metricsFile{Scenario: sc.Name, Seed: a.seed, Rules: pacingRules(a.profiles, sc), Runs: runs}
	f.Digest = combinedDigest(runs)
	return f, nil
}

// historyPath is where simulate --history writes the history of the run
// under profile: history.jsonl in --out, or history-PROFILE.jsonl when
// several profiles run; "" without --history.
func historyPath(a simulateArgs, profile string) string {
	switch {
	case a.history == "":
		return ""
	case len(a.profiles) == 1:
		return a.history
	}
	if scenario.IsProfileFile(profile) { // a profile file is named after itself
		profile = strings.TrimSuffix(filepath.Base(profile), filepath.Ext(profile))
	}
	ext := filepath.Ext(a.history)
	return strings.TrimSuffix(a.history, ext) + "-" + profile + ext
}

// historyMaxDevices is the largest fleet whose whole history simulate
// --history records: porcupine's search grows fast with a partition's
// length, and a big fleet's history is mostly the same story many times.
const historyMaxDevices = 200

// historyGroup returns the one group whose sessions a history of sc
// records, or "" for the whole fleet: for a fleet over historyMaxDevices,
// the first command group (persistent sessions, what the check is about),
// else the first group.
func historyGroup(sc scenario.Scenario) string {
	if sc.Devices() <= historyMaxDevices || len(sc.Groups) == 0 {
		return ""
	}
	for _, g := range sc.Groups {
		if g.Kind == scenario.Command {
			return g.Name
		}
	}
	return sc.Groups[0].Name
}

// historyObserver records a run's step records as a history for
// "sessionlab check": every session's, or those of one group (prefix
// "GROUP-", the group's client ids).
type historyObserver struct {
	rec    *history.Recorder
	prefix string
	kept   broker.Record // scratch: the step's events about the group
}

func (h *historyObserver) Step(rec *broker.Record) {
	if h.prefix == "" {
		h.rec.Step(rec)
		return
	}
	h.kept.At, h.kept.Input, h.kept.Outputs = rec.At, rec.Input, h.kept.Outputs[:0]
	for _, o := range rec.Outputs {
		if o.Kind == broker.OutEvent && strings.HasPrefix(o.Event.ClientID, h.prefix) {
			h.kept.Outputs = append(h.kept.Outputs, o)
		}
	}
	h.rec.Step(&h.kept)
}
func (h *historyObserver) Received(broker.Time, string, *packet.Publish) {}

// simulateOne runs sc under one profile, checked by the in-simulation
// invariant checker (package sim/check) when checked is set, on a goroutine
// of its own when concurrent is set, and records its history into
// historyPath when that is not empty.
func simulateOne(sc scenario.Scenario, profile string, seed uint64, checked, concurrent bool, historyPath string, opts sim.Options) (r runRecord, err error) {
	pol, err := resolveProfile(profile, sc)
	if err != nil {
		return runRecord{}, err
	}
	if historyPath != "" {
		f, err := os.Create(historyPath)
		if err != nil {
			return runRecord{}, err
		}
		rec := history.NewRecorder(f, pol)
		h := &historyObserver{rec: rec}
		if g := historyGroup(sc); g != "" {
			h.prefix = g + "-"
		}
		opts.Observer = h
		defer func() {
			if cerr := errors.Join(rec.Flush(), f.Close()); err == nil && cerr != nil {
				err = fmt.Errorf("--history: %w", cerr)
			}
		}()
	}
	var res *sim.Result
	var v *check.Violation
	switch {
	case checked && concurrent:
		res, v, err = check.RunConcurrent(sc, pol, seed, opts)
	case checked:
		res, v, err = check.Run(sc, pol, seed, opts)
	default:
		opts.Concurrent = concurrent // the ledger off the run's goroutine
		res, err = sim.Run(sc, pol, seed, opts)
	}
	if err != nil {
		return runRecord{}, err
	}
	if want := sim.Knobs(sc, seed); res.Knobs != want {
		return runRecord{}, fmt.Errorf("the run drew knobs %v, but %v were printed: the CLI's copy of the draw is stale", res.Knobs, want)
	}
	r = runRecord{
		Profile: pol.Name, Digest: res.DigestHex(), Events: res.Events,
		Knobs: res.Knobs, Truncated: res.Truncated, Metrics: res.Metrics, Checked: checked,
	}
	if v == nil && res.Stalled {
		v = check.Stall(res) // --check=false: a stalled run still fails
	}
	if v != nil {
		r.Violation, r.failure = v.Report(), failureKind(v)
	}
	return r, nil
}

// failureKind names the kind of v for the exit message.
func failureKind(v *check.Violation) string {
	if v.Kind == check.Liveness {
		return failLiveness
	}
	return failSafety
}
