package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func init() {
	commands["sweep"] = command{"run many seeds under the invariant checker, in parallel, and report failures", runSweep}
}

const sweepHelp = `
usage: sessionlab sweep [--seeds N | --from A --to B] [--scenario S1,S2,...]
                        [--profile P1,P2,...] [--devices N] [--duration D]
                        [--all] [--twice] [--parallel N] [--verbose] [--wire]
                        [--shard I/N] [--json FILE]
       sessionlab sweep merge FILE...

A large sweep can run as N independent jobs: --shard I/N runs every N-th run
from the I-th, --json FILE writes one JSON line per run (seed, scenario,
profile, outcome, digest, metrics), and "sweep merge" reads the shards' files
and prints the summary and exit code the whole sweep would have.

Runs a range of seeds under the in-simulation invariant checker (package
sim/check), one run per goroutine on --parallel workers. Each run is
deterministic given its seed, scenario and profile, and results are printed
in seed order whatever the scheduling. By default seed N runs one
combination of the selected scenarios and profiles, the (N mod K)-th of the
K combinations in scenario-major order, so a range of seeds covers them all
evenly; --all runs every combination for every seed. --twice runs each
seed a second time without the checker and fails it (invariant 17,
determinism) unless both runs have the same trace digest.

For every failing run it prints the violation (virtual time, client,
invariant, MQTT spec ID or vendor source, the client's last events) and one
line "reproduce: sessionlab simulate ..." that repeats the run exactly (the
digest printed with the failure is the one simulate's table shows). It
ends with a summary: runs, passed, failures by kind and invariant, wall
time, simulated events and events per second. When stderr is a terminal,
a progress line is kept there.

It exits 0 when every run passed and 1 when any failed, whatever the kind:
a safety violation, a liveness failure (messages still pending after the
healed phase) or a crash (the panic and its stack are printed); the summary
and a last line on stderr count the failures by kind. The printed
reproduce command fails the same way and exits with the same code. A usage
error exits 2 without running anything.

examples:
  sessionlab sweep --seeds 1000
  sessionlab sweep --from 5000 --to 5999 --scenario overflow,expiry-cliff --profile tencent,aws
  sessionlab sweep --seeds 200 --all --devices 30 --parallel 2
  sessionlab sweep --seeds 50 --scenario ./my-fleet.yaml --devices 0 --verbose
`

// sweepArgs are the parsed flags of sweep.
type sweepArgs struct {
	from, to  uint64
	scenarios []string
	profiles  []string
	devices   int
	duration  time.Duration
	all       bool
	twice     bool
	parallel  int
	verbose   bool
	wire      bool
	shardI    int    // --shard I/N: this shard ...
	shardN    int    // ... of N (0: the whole sweep)
	json      string // --json FILE
}

// sweepJob is one run of a sweep.
type sweepJob struct {
	seed     uint64
	scenario string // as given on the command line: a name or a file
	sc       scenario.Scenario
	profile  string
}

// sweepResult is what one run produced.
type sweepResult struct {
	job       sweepJob
	res       *sim.Result
	violation *check.Violation
	panicked  string // the panic value and stack, when the run crashed
	err       error
	wall      time.Duration
}

// runSweep is the sweep subcommand.
func runSweep(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return runSweepMerge(args[1:], stdout, stderr)
	}
	c := newCLI("sweep", sweepHelp, stdout, stderr)
	a, code, ok := parseSweep(c, args)
	if !ok {
		return code
	}
	batchGC()
	jobs, err := sweepJobs(a)
	if err != nil {
		return c.usageError("%v", err)
	}
	if a.shardN > 0 {
		jobs = shardJobs(jobs, a.shardI, a.shardN)
		fmt.Fprintf(stdout, "shard %d/%d: ", a.shardI, a.shardN)
	}
	fmt.Fprintf(stdout, "sweep: seeds %d..%d, %d runs on %d workers; scenarios %s; profiles %s; devices %d\n",
		a.from, a.to, len(jobs), a.parallel, strings.Join(a.scenarios, ","), strings.Join(a.profiles, ","), a.devices)
	start := time.Now()
	tally := sweepTally{byInv: map[broker.Invariant]int{}}
	progress := isTerminal(stderr)
	var records *json.Encoder
	if a.json != "" {
		f, err := os.Create(a.json)
		if err != nil {
			return c.inputError(fmt.Errorf("--json: %w", err))
		}
		defer f.Close()
		records = json.NewEncoder(f)
	}
	sweepRun(jobs, a, func(r *sweepResult) {
		rec := r.record()
		tally.add(rec)
		if records != nil {
			records.Encode(rec)
		}
		if progress {
			fmt.Fprintf(stderr, "\r%d/%d runs, %d failed ", tally.runs, len(jobs), tally.runs-tally.passed)
		}
		printSweepResult(stdout, r, a)
	})
	if progress {
		fmt.Fprintln(stderr)
	}
	tally.wall = time.Since(start)
	tally.print(stdout)
	return tally.code(stderr)
}

// parseSweep parses and validates sweep's flags; ok=false means stop with
// the returned code.
func parseSweep(c *cli, args []string) (a sweepArgs, code int, ok bool) {
	fs := c.flags
	seeds := fs.Uint64("seeds", 100, "run seeds 1..`N`")
	fs.Uint64Var(&a.from, "from", 0, "first `seed` of the range (with --to)")
	fs.Uint64Var(&a.to, "to", 0, "last `seed` of the range, inclusive (with --from)")
	scenarios := fs.String("scenario", strings.Join(scenario.Names(), ","), "comma-separated built-in scenario `names` or YAML/JSON files")
	profiles := fs.String("profile", strings.Join(broker.ProfileNames(), ","), "comma-separated vendor `profiles`")
	fs.IntVar(&a.devices, "devices", 10, "scale each fleet to about `N` devices (0: the scenario's size)")
	fs.DurationVar(&a.duration, "duration", 0, "length of the faulty phase, e.g. 2h (0: the scenario's)")
	fs.BoolVar(&a.all, "all", false, "run every scenario x profile combination for every seed")
	fs.BoolVar(&a.twice, "twice", false, "run every seed twice and compare the trace digests (determinism)")
	fs.IntVar(&a.parallel, "parallel", runtime.NumCPU(), "run `N` seeds at a time")
	fs.BoolVar(&a.verbose, "verbose", false, "print one line for every run, not only failures")
	fs.BoolVar(&a.wire, "wire", false, "pass every packet through the byte codec")
	shard := fs.String("shard", "", "run only shard `I/N` of the sweep: every N-th run from the I-th (0 <= I < N)")
	fs.StringVar(&a.json, "json", "", "also write one JSON line per run into `FILE` (for sweep merge)")
	if code, ok := c.parse(args); !ok {
		return a, code, false
	}
	if fs.NArg() > 0 {
		return a, c.usageError("unexpected argument %q", fs.Arg(0)), false
	}
	if *shard != "" {
		var err error
		if a.shardI, a.shardN, err = parseShard(*shard); err != nil {
			return a, c.usageError("flag -shard: %v", err), false
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if code, ok := sweepRange(c, &a, *seeds, set); !ok {
		return a, code, false
	}
	switch {
	case a.devices < 0:
		return a, c.usageError("flag -devices: must be >= 0, not %d", a.devices), false
	case a.duration < 0:
		return a, c.usageError("flag -duration: must be >= 0, not %v", a.duration), false
	case a.parallel < 1:
		return a, c.usageError("flag -parallel: must be >= 1, not %d", a.parallel), false
	}
	var err error
	a.scenarios = splitList(*scenarios)
	if len(a.scenarios) == 0 {
		return a, c.usageError("flag -scenario: must name at least one scenario"), false
	}
	var loaded []scenario.Scenario // for the profiles they write; errors are reported with the jobs
	for _, ref := range a.scenarios {
		if sc, err := loadScenario(ref); err == nil {
			loaded = append(loaded, sc)
		}
	}
	if a.profiles, err = parseProfiles(*profiles, loaded...); err != nil {
		return a, c.usageError("flag -profile: %v", err), false
	}
	return a, exitOK, true
}

// sweepRange sets the seed range from --seeds or --from/--to.
func sweepRange(c *cli, a *sweepArgs, seeds uint64, set map[string]bool) (int, bool) {
	switch {
	case set["seeds"] && (set["from"] || set["to"]):
		return c.usageError("flag -seeds: use either --seeds or --from/--to, not both"), false
	case set["from"] != set["to"]:
		return c.usageError("flag -from/-to: give both ends of the range"), false
	case set["from"] && a.from > a.to:
		return c.usageError("flag -from: %d is after -to %d", a.from, a.to), false
	case !set["from"]:
		if seeds == 0 {
			return c.usageError("flag -seeds: must be >= 1"), false
		}
		a.from, a.to = 1, seeds
	}
	if a.to-a.from >= 1<<20 {
		return c.usageError("flag -from/-to: at most %d seeds per sweep", 1<<20), false
	}
	return exitOK, true
}

// splitList splits a comma-separated list, dropping empty items and repeats.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// sweepJobs lists the runs of a sweep in seed order, loading and sizing
// each scenario once exactly as simulate does (Scaled, then WithDuration).
func sweepJobs(a sweepArgs) ([]sweepJob, error) {
	type combo struct {
		ref     string
		sc      scenario.Scenario
		profile string
	}
	var combos []combo
	for _, ref := range a.scenarios {
		sc, err := loadScenario(ref)
		if err != nil {
			return nil, fmt.Errorf("flag -scenario: %v", err)
		}
		sc = sc.Scaled(a.devices).WithDuration(a.duration)
		if err := sc.Validate(); err != nil {
			return nil, fmt.Errorf("scenario %s after --devices/--duration: %v", sc.Name, err)
		}
		for _, p := range a.profiles {
			combos = append(combos, combo{ref, sc, p})
		}
	}
	var jobs []sweepJob
	for seed := a.from; ; seed++ {
		if a.all {
			for _, cb := range combos {
				jobs = append(jobs, sweepJob{seed, cb.ref, cb.sc, cb.profile})
			}
		} else {
			cb := combos[seed%uint64(len(combos))]
			jobs = append(jobs, sweepJob{seed, cb.ref, cb.sc, cb.profile})
		}
		if seed == a.to {
			return jobs, nil
		}
	}
}

// sweepRun runs jobs on a.parallel workers and hands each result to report
// in job order, as soon as it and every earlier one are done.
func sweepRun(jobs []sweepJob, a sweepArgs, report func(*sweepResult)) {
	results := make([]*sweepResult, len(jobs))
	done := make(chan int, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(a.parallel, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = sweepOne(jobs[i], a.wire, a.twice)
				done <- i
			}
		}()
	}
	go func() {
		for i := range jobs {
			next <- i
		}
		close(next)
	}()
	ready := make([]bool, len(jobs))
	for printed := 0; printed < len(jobs); {
		ready[<-done] = true
		for printed < len(jobs) && ready[printed] {
			report(results[printed])
			results[printed] = nil // let the run's memory go
			printed++
		}
	}
	wg.Wait()
}

// sweepCheck runs one checked simulation; tests replace it to crash a run.
var sweepCheck = check.Run

// sweepOne runs one job under the checker, turning a panic into a result.
func sweepOne(j sweepJob, wire, twice bool) (r *sweepResult) {
	r = &sweepResult{job: j}
	start := time.Now()
	defer func() {
		r.wall = time.Since(start)
		if p := recover(); p != nil {
			r.panicked = fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	pol, err := resolveProfile(j.profile, j.sc)
	if err != nil {
		r.err = err
		return r
	}
	r.res, r.violation, r.err = sweepCheck(j.sc, pol, j.seed, sim.Options{Wire: wire, NewCore: coreForTest})
	if twice && r.err == nil && r.violation == nil {
		r.violation, r.err = sweepAgain(j, pol, wire, r.res)
	}
	return r
}

// sweepAgain runs j a second time without the checker and reports a
// violation of invariant 17 unless the trace digest is the same.
func sweepAgain(j sweepJob, pol broker.Policy, wire bool, first *sim.Result) (*check.Violation, error) {
	again, err := sim.Run(j.sc, pol, j.seed, sim.Options{Wire: wire, NewCore: coreForTest})
	if err != nil || again.Digest == first.Digest {
		return nil, err
	}
	return &check.Violation{Kind: check.Safety, At: j.sc.End(), Inv: broker.InvDeterminism, Source: "(invariant 17)",
		Detail: fmt.Sprintf("same seed and scenario, digests %s (%d events) and %s (%d events)",
			first.DigestHex(), first.Events, again.DigestHex(), again.Events)}, nil
}

// reproduceSweep returns the simulate command that repeats job j exactly.
func reproduceSweep(j sweepJob, a sweepArgs) string {
	s := fmt.Sprintf("sessionlab simulate --seed %d --scenario %s --profile %s --devices %d", j.seed, j.scenario, j.profile, a.devices)
	if a.duration > 0 {
		s += " --duration " + a.duration.String()
	}
	if a.wire {
		s += " --wire"
	}
	return s
}

// printSweepResult prints a failing run in full, a passing one only when
// verbose.
func printSweepResult(w io.Writer, r *sweepResult, a sweepArgs) {
	j := r.job
	head := fmt.Sprintf("seed %d %s/%s", j.seed, j.sc.Name, j.profile)
	switch {
	case r.panicked != "":
		fmt.Fprintf(w, "CRASH %s:\n%s\n", head, indent(r.panicked))
	case r.err != nil:
		fmt.Fprintf(w, "ERROR %s: %v\n", head, r.err)
		return
	case r.violation != nil:
		fmt.Fprintf(w, "FAIL %s digest=%s: %s\n", head, r.res.DigestHex(), indent(r.violation.Report()))
		fmt.Fprintf(w, "  network faults: %v\n", r.res.Knobs)
	default:
		if a.verbose {
			fmt.Fprintf(w, "ok   %s events=%d digest=%s %v\n", head, r.res.Events, r.res.DigestHex(), r.wall.Round(time.Millisecond))
		}
		return
	}
	fmt.Fprintf(w, "  reproduce: %s\n", reproduceSweep(j, a))
}

// indent indents every line after the first by two spaces.
func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// sweepTally counts a sweep's outcomes.
type sweepTally struct {
	failures
	runs, passed, errors int
	byInv                map[broker.Invariant]int
	events               int64
	wall                 time.Duration
	byProfile            map[string]*profileTally
}

// profileTally adds up what the runs of one profile did, beyond pass or
// fail: how many copies were owed, delivered, dropped (by reason) and left
// pending, the worst p99 of stored latency and the deepest queue of any run.
type profileTally struct {
	runs                                int
	copies, delivered, dropped, pending int64
	reasons                             map[string]int64
	storedP99                           float64
	maxDepth                            int
}

func (t *sweepTally) add(r sweepRecord) {
	t.runs++
	if r.Ran {
		t.events += r.Events
		if t.byProfile == nil {
			t.byProfile = map[string]*profileTally{}
		}
		p := t.byProfile[r.Profile]
		if p == nil {
			p = &profileTally{reasons: map[string]int64{}}
			t.byProfile[r.Profile] = p
		}
		p.runs++
		p.copies, p.delivered, p.dropped, p.pending = p.copies+r.Copies, p.delivered+r.Delivered, p.dropped+r.DroppedTotal, p.pending+r.Pending
		for reason, n := range r.Dropped { // sums: order does not matter
			p.reasons[reason] += n
		}
		p.storedP99 = max(p.storedP99, r.StoredP99)
		p.maxDepth = max(p.maxDepth, r.MaxDepth)
	}
	switch r.Outcome {
	case outcomeCrash:
		t.crashes++
	case outcomeError:
		t.errors++
	case outcomeOK:
		t.passed++
	case outcomeLiveness:
		t.liveness++
		t.byInv[broker.Invariant(r.Invariant)]++
	default:
		t.safety++
		t.byInv[broker.Invariant(r.Invariant)]++
	}
}

// print writes the summary.
func (t *sweepTally) print(w io.Writer) {
	fmt.Fprintf(w, "\nruns: %d  passed: %d  violations: %d  liveness: %d  crashes: %d  errors: %d\n",
		t.runs, t.passed, t.safety, t.liveness, t.crashes, t.errors)
	invs := make([]broker.Invariant, 0, len(t.byInv))
	for inv := range t.byInv {
		invs = append(invs, inv)
	}
	slices.Sort(invs)
	for _, inv := range invs {
		fmt.Fprintf(w, "  invariant %d %s: %d runs\n", inv, check.InvariantName(inv), t.byInv[inv])
	}
	if s := t.wall.Seconds(); s > 0 {
		fmt.Fprintf(w, "wall time: %v  events: %d  events/s: %.0f\n", t.wall.Round(time.Millisecond), t.events, float64(t.events)/s)
	} else { // merged shards: their wall times are the shards' own
		fmt.Fprintf(w, "events: %d\n", t.events)
	}
	t.printProfiles(w)
}

// printProfiles writes what each profile's runs did, in profile order.
func (t *sweepTally) printProfiles(w io.Writer) {
	names := slices.Sorted(maps.Keys(t.byProfile))
	for _, name := range names {
		p := t.byProfile[name]
		reasons := slices.Sorted(maps.Keys(p.reasons))
		var drops []string
		for _, r := range reasons {
			drops = append(drops, fmt.Sprintf("%s %d", r, p.reasons[r]))
		}
		fmt.Fprintf(w, "  %s: %d runs, copies %d, delivered %d, dropped %d", name, p.runs, p.copies, p.delivered, p.dropped)
		if len(drops) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(drops, ", "))
		}
		fmt.Fprintf(w, ", pending %d, worst stored latency p99 %s, deepest queue %d\n", p.pending, seconds(p.storedP99), p.maxDepth)
	}
}

// code reports the failures on stderr and returns the exit code; an error
// (an invalid scenario or policy, found only when running) is a crash too.
func (t *sweepTally) code(stderr io.Writer) int {
	f := t.failures
	f.crashes += t.errors
	return f.report(stderr, "sweep")
}
