package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/plots"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func init() {
	commands["simulate"] = command{"run a fleet scenario under several vendor profiles and compare them", runSimulate}
}

const simulateHelp = `
usage: sessionlab simulate [--scenario NAME|FILE] [--profile P1,P2,...] [--devices N]
                           [--duration D] [--seed N] [--out DIR] [--wire] [--check=false] [--history FILE]

Runs a fleet scenario in virtual time once per vendor profile, side by side
(one goroutine per profile; each run is deterministic given the seed). It
prints the seed and every knob first, then a comparison table and the
combined digest of the runs, and writes into --out: the charts (PNG and SVG),
metrics.json (redraw with "sessionlab plot") and summary.md.

Every run is watched by the in-simulation invariant checker (the invariants
the profile promises, numbered as in the README); a safety violation, a liveness failure or
a crash is reported on stderr, by kind, with the command that reproduces it,
and simulate exits with 1.

Without --seed a random seed is drawn and printed; pass it back with --seed
to reproduce the run exactly (same digest). A progress bar is drawn on
stderr when stderr is a terminal.

examples:
  sessionlab simulate
  sessionlab simulate --scenario outage-storm --profile tencent,aws,hivemq,mosquitto,emqx
  sessionlab simulate --scenario ./my-fleet.yaml --seed 42 --out results
  sessionlab simulate --devices 200 --duration 2h --seed 7 --wire
`

// simulateArgs are the parsed flags of simulate.
type simulateArgs struct {
	scenario string
	profiles []string
	devices  int
	duration time.Duration
	seed     uint64
	seedSet  bool
	out      string
	wire     bool
	check    bool
	history  string
}

// parseSimulate parses and validates simulate's flags; ok=false means stop
// with the returned code.
func parseSimulate(c *cli, args []string) (a simulateArgs, code int, ok bool) {
	fs := c.flags
	fs.StringVar(&a.scenario, "scenario", "mixed", "a built-in scenario `name` (see \"sessionlab scenarios\") or the path of a YAML/JSON scenario file")
	profiles := fs.String("profile", "tencent,aws,hivemq", "comma-separated vendor `profiles` to compare (see \"sessionlab profiles\")")
	fs.IntVar(&a.devices, "devices", 0, "scale the fleet to about `N` devices (0: the scenario's size)")
	fs.DurationVar(&a.duration, "duration", 0, "length `D` of the faulty phase, e.g. 2h (0: the scenario's)")
	fs.Uint64Var(&a.seed, "seed", 0, "random `seed` (default: drawn at random and printed)")
	fs.StringVar(&a.out, "out", "out", "output `directory` for plots, metrics.json and summary.md")
	fs.BoolVar(&a.wire, "wire", false, "pass every packet through the byte codec")
	fs.BoolVar(&a.check, "check", true, "check every run with the in-simulation invariant checker (sim/check); -check=false skips it")
	fs.StringVar(&a.history, "history", "", "also record each run's history into `FILE` (FILE-PROFILE.jsonl for several profiles) for \"sessionlab check\"; fleets over 200 devices record one command group")
	if code, ok := c.parse(args); !ok {
		return a, code, false
	}
	if fs.NArg() > 0 {
		return a, c.usageError("unexpected argument %q", fs.Arg(0)), false
	}
	fs.Visit(func(f *flag.Flag) { a.seedSet = a.seedSet || f.Name == "seed" })
	var err error
	switch {
	case a.devices < 0:
		return a, c.usageError("flag -devices: must be >= 0, not %d", a.devices), false
	case a.duration < 0:
		return a, c.usageError("flag -duration: must be >= 0, not %v", a.duration), false
	case a.out == "":
		return a, c.usageError("flag -out: must not be empty"), false
	}
	var written []scenario.Scenario // the profiles a scenario file writes; its errors are reported later
	if sc, err := loadScenario(a.scenario); err == nil {
		written = append(written, sc)
		profileSet := false
		fs.Visit(func(f *flag.Flag) { profileSet = profileSet || f.Name == "profile" })
		if !profileSet && len(sc.Profiles) > 0 { // the scenario's own profiles by default
			names := make([]string, len(sc.Profiles))
			for i, p := range sc.Profiles {
				names[i] = p.Policy.Name
			}
			*profiles = strings.Join(names, ",")
		}
	}
	if a.profiles, err = parseProfiles(*profiles, written...); err != nil {
		return a, c.usageError("flag -profile: %v", err), false
	}
	return a, exitOK, true
}

// runSimulate is the simulate subcommand.
func runSimulate(args []string, stdout, stderr io.Writer) int {
	c := newCLI("simulate", simulateHelp, stdout, stderr)
	a, code, ok := parseSimulate(c, args)
	if !ok {
		return code
	}
	batchGC()
	sc, err := loadScenario(a.scenario)
	if err != nil {
		return c.usageError("flag -scenario: %v", err)
	}
	sc = sc.Scaled(a.devices).WithDuration(a.duration)
	if err := sc.Validate(); err != nil {
		return c.usageError("scenario %s after --devices/--duration: %v", sc.Name, err)
	}
	if !a.seedSet {
		a.seed = randomSeed()
	}
	printPreamble(stdout, a, sc)
	if a.history != "" {
		if err := os.MkdirAll(filepath.Dir(a.history), 0o755); err != nil {
			return c.inputError(fmt.Errorf("--history: %w", err))
		}
		if g := historyGroup(sc); g != "" {
			fmt.Fprintf(stdout, "history: the fleet has %d devices; recording group %q only\n", sc.Devices(), g)
		}
	}
	f, err := simulateAll(sc, a, stderr)
	if err != nil { // a run crashed: no table, no files
		fmt.Fprintf(stderr, "sessionlab simulate: %v\n  reproduce: %s\n", err, reproduce(a))
		return failures{crashes: 1}.report(stderr, "simulate")
	}
	if err := report(stdout, f, a); err != nil {
		return c.inputError(err)
	}
	return violations(stderr, f, a)
}

// violations prints every run's invariant violation to stderr with the
// command that reproduces it, and returns exitFailed if there was one.
func violations(stderr io.Writer, f *metricsFile, a simulateArgs) int {
	var fails failures
	for _, r := range f.Runs {
		if r.Violation == "" {
			continue
		}
		fmt.Fprintf(stderr, "sessionlab simulate: profile %s: %s\n  reproduce: %s\n", r.Profile, r.Violation, reproduce(a))
		fails.add(r.failure)
	}
	return fails.report(stderr, "simulate")
}

// randomSeed draws a seed from the operating system. It only chooses the
// seed; everything after depends on the seed alone.
func randomSeed() uint64 {
	var b [8]byte
	crand.Read(b[:]) // never fails (crypto/rand documents it)
	return binary.LittleEndian.Uint64(b[:])
}

// reproduce returns the command line that repeats the run exactly.
func reproduce(a simulateArgs) string {
	parts := []string{"sessionlab simulate", "--scenario " + a.scenario,
		"--profile " + strings.Join(a.profiles, ","), fmt.Sprintf("--seed %d", a.seed)}
	if a.devices > 0 {
		parts = append(parts, fmt.Sprintf("--devices %d", a.devices))
	}
	if a.duration > 0 {
		parts = append(parts, "--duration "+a.duration.String())
	}
	if a.wire {
		parts = append(parts, "--wire")
	}
	if !a.check {
		parts = append(parts, "--check=false")
	}
	return strings.Join(parts, " ")
}

// report prints the comparison table and writes the output files, then
// prints the digest as the last line.
func report(stdout io.Writer, f *metricsFile, a simulateArgs) error {
	t := comparison(f.Runs)
	fmt.Fprintln(stdout)
	if err := t.writeText(stdout); err != nil {
		return err
	}
	paths, err := writeOutputs(a.out, f, t, reproduce(a))
	if err != nil {
		return err
	}
	for _, p := range a.profiles {
		if h := historyPath(a, p); h != "" {
			paths = append(paths, h)
		}
	}
	fmt.Fprintf(stdout, "\nwrote %d files into %s: %s\n", len(paths), a.out, strings.Join(baseNames(paths), " "))
	fmt.Fprintf(stdout, "digest: %s\n", f.Digest)
	return nil
}

// writeOutputs writes metrics.json, the charts and summary.md into dir and
// returns the paths written.
func writeOutputs(dir string, f *metricsFile, t table, command string) ([]string, error) {
	paths, err := plots.Write(dir, plotInput(f))
	if err != nil {
		return paths, err
	}
	metrics := filepath.Join(dir, "metrics.json")
	if err := writeMetrics(metrics, f); err != nil {
		return paths, err
	}
	summary := filepath.Join(dir, "summary.md")
	if err := writeSummary(summary, f, t, command); err != nil {
		return paths, err
	}
	return append(paths, metrics, summary), nil
}

func baseNames(paths []string) []string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}
