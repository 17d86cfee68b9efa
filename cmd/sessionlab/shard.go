package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/check"
)

// Outcomes of one sweep run, as a record says them.
const (
	outcomeOK       = "ok"
	outcomeSafety   = "safety"
	outcomeLiveness = "liveness"
	outcomeCrash    = "crash"
	outcomeError    = "error"
)

// sweepRecord is one run of a sweep as sweep --json writes it, one JSON
// line each, and as sweep merge reads it back: everything the summary adds
// up, so that shards merge into the summary one sweep would print.
type sweepRecord struct {
	Seed      uint64 `json:"seed,string"`
	Scenario  string `json:"scenario"`
	Profile   string `json:"profile"`
	Outcome   string `json:"outcome"`
	Invariant int    `json:"invariant,omitempty"`
	Detail    string `json:"detail,omitempty"` // the violation's report, the crash or the error

	Ran          bool             `json:"ran"` // the run produced a result (not an error before it)
	Digest       string           `json:"digest,omitempty"`
	Events       int64            `json:"events"`
	Copies       int64            `json:"copies"`
	Delivered    int64            `json:"delivered"`
	DroppedTotal int64            `json:"dropped_total"`
	Dropped      map[string]int64 `json:"dropped,omitempty"`
	Pending      int64            `json:"pending"`
	StoredP99    float64          `json:"stored_latency_p99_s"`
	MaxDepth     int              `json:"max_queue_depth"`
}

// record turns a run's result into its record.
func (r *sweepResult) record() sweepRecord {
	rec := sweepRecord{Seed: r.job.seed, Scenario: r.job.sc.Name, Profile: r.job.profile, Outcome: outcomeOK}
	if r.res != nil {
		m := &r.res.Metrics
		rec.Ran, rec.Digest, rec.Events = true, r.res.DigestHex(), r.res.Events
		rec.Copies, rec.Delivered, rec.DroppedTotal, rec.Dropped = m.Copies, m.Delivered, m.DroppedTotal, m.Dropped
		rec.Pending, rec.StoredP99, rec.MaxDepth = m.Pending, m.LatencyStored.P99, m.MaxQueueDepth
	}
	switch {
	case r.panicked != "": // the panic, not its stack: a stack differs from run to run
		rec.Outcome = outcomeCrash
		rec.Detail, _, _ = strings.Cut(r.panicked, "\n")
	case r.err != nil:
		rec.Outcome, rec.Detail = outcomeError, r.err.Error()
	case r.violation != nil:
		rec.Outcome, rec.Invariant, rec.Detail = outcomeSafety, int(r.violation.Inv), r.violation.Report()
		if r.violation.Kind == check.Liveness {
			rec.Outcome = outcomeLiveness
		}
	}
	return rec
}

// parseShard reads --shard "I/N": this process runs the jobs whose index in
// the sweep is I modulo N (0 <= I < N).
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("want I/N with 0 <= I < N, not %q", s)
	}
	return i, n, nil
}

// shardJobs keeps the jobs of shard i of n: every n-th job from the i-th,
// so that the shards are disjoint and together the whole sweep.
func shardJobs(jobs []sweepJob, i, n int) []sweepJob {
	var out []sweepJob
	for k := i; k < len(jobs); k += n {
		out = append(out, jobs[k])
	}
	return out
}

const sweepMergeHelp = `
usage: sessionlab sweep merge FILE...

Reads the JSON lines that "sweep --json FILE" wrote (one file per shard of
a sweep run with --shard I/N) and prints the summary and exit code that one
sweep over all of them would have: runs, failures by kind and invariant,
events, and what each profile's runs did.

examples:
  sessionlab sweep --seeds 1000 --shard 0/4 --json shard-0.jsonl
  sessionlab sweep merge shard-*.jsonl
`

// runSweepMerge is "sweep merge".
func runSweepMerge(args []string, stdout, stderr io.Writer) int {
	c := newCLI("sweep merge", sweepMergeHelp, stdout, stderr)
	if code, ok := c.parse(args); !ok {
		return code
	}
	if c.flags.NArg() == 0 {
		return c.usageError("name at least one file that sweep --json wrote")
	}
	tally := sweepTally{byInv: map[broker.Invariant]int{}}
	for _, path := range c.flags.Args() {
		if err := mergeFile(path, &tally); err != nil {
			return c.inputError(err)
		}
	}
	tally.print(stdout)
	return tally.code(stderr)
}

// mergeFile adds the records of one file to tally.
func mergeFile(path string, tally *sweepTally) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20) // a violation's report can be long
	for line := 1; sc.Scan(); line++ {
		var rec sweepRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s:%d: %v", path, line, err)
		}
		tally.add(rec)
	}
	return sc.Err()
}
