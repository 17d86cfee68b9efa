package history

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/sessionlab/sessionlab/broker"
)

// Result is the verdict on a history.
type Result struct {
	OK        bool          // every partition is linearizable
	Unknown   bool          // the timeout expired before a verdict
	Ops       int           // operations checked
	Clients   int           // partitions (ClientIds)
	Elapsed   time.Duration // porcupine's time
	Violation string        // on failure: the first operation a call-order replay rejects, and why
	HTML      string        // on failure: the path of porcupine's visualisation, if written
	// Sequential says the verdict came from replaying the history's total
	// order, because porcupine timed out on a history without overlapping
	// operations (a Recorder's), where the two checks are equivalent.
	Sequential bool
}

// String summarises the result on one line.
func (r Result) String() string {
	switch {
	case r.OK:
		return fmt.Sprintf("ok: %d operations, %d clients, %v", r.Ops, r.Clients, r.Elapsed)
	case r.Unknown:
		return fmt.Sprintf("unknown: timed out after %v on %d operations", r.Elapsed, r.Ops)
	case r.Sequential:
		return fmt.Sprintf("violation: %s (%d operations, %d clients, %v, sequential replay)", r.Violation, r.Ops, r.Clients, r.Elapsed)
	}
	return fmt.Sprintf("violation: %s (%d operations, %d clients, %v)", r.Violation, r.Ops, r.Clients, r.Elapsed)
}

// Model returns the porcupine model of one broker running pol: histories
// are partitioned by ClientId and each partition is checked against the
// per-session specification (step).
func Model(pol broker.Policy) porcupine.Model {
	return porcupine.Model{
		Partition: partition,
		Init:      func() any { return session{} },
		Step: func(state, input, _ any) (bool, any) {
			next, why := step(pol, state.(session), input.(Op))
			return why == "", next
		},
		Equal: func(a, b any) bool { return a.(session).String() == b.(session).String() },
		Hash: func(s any) uint64 {
			h := fnv.New64a()
			h.Write([]byte(s.(session).String()))
			return h.Sum64()
		},
		DescribeOperation: func(input, _ any) string { return input.(Op).String() },
		DescribeState:     func(s any) string { return s.(session).String() },
	}
}

// partition splits a history by ClientId, in order of first appearance.
func partition(history []porcupine.Operation) [][]porcupine.Operation {
	var order []string
	parts := map[string][]porcupine.Operation{}
	for _, o := range history {
		c := o.Input.(Op).Client
		if _, ok := parts[c]; !ok {
			order = append(order, c)
		}
		parts[c] = append(parts[c], o)
	}
	out := make([][]porcupine.Operation, len(order))
	for i, c := range order {
		out[i] = parts[c]
	}
	return out
}

// Check checks ops against pol with porcupine, giving up after timeout. On
// a violation it explains the first rejected operation. When htmlOut is not
// empty and porcupine reached a verdict, it writes porcupine's
// visualisation there, whether the history passed or not.
//
// porcupine's cache grows with the square of a partition's length: 10,000
// operations take tens of milliseconds, 170,000 (a day of retries every
// 30 s) more than ten seconds. When it times out on a history whose
// operations do not overlap, Check replays the total order instead (linear,
// and equivalent there) and says so in Result.Sequential.
func Check(pol broker.Policy, ops []Op, htmlOut string, timeout time.Duration) (Result, error) {
	hist := make([]porcupine.Operation, len(ops))
	clients := map[string]int{}
	for i, op := range ops {
		id, ok := clients[op.Client]
		if !ok {
			id = len(clients)
			clients[op.Client] = id
		}
		hist[i] = porcupine.Operation{ClientId: id, Input: op, Call: op.Call, Output: nil, Return: op.Return}
	}
	m := Model(pol)
	start := time.Now()
	verdict, info := porcupine.CheckOperationsVerbose(m, hist, timeout)
	r := Result{OK: verdict == porcupine.Ok, Unknown: verdict == porcupine.Unknown, Ops: len(ops),
		Clients: len(clients), Elapsed: time.Since(start)}
	if verdict == porcupine.Unknown && ordered(ops) {
		r.Violation = Explain(pol, ops)
		r.OK, r.Unknown, r.Sequential, r.Elapsed = r.Violation == "", false, true, time.Since(start)
		return r, nil
	}
	if htmlOut != "" && verdict != porcupine.Unknown { // passing or not: a reader may want to look
		if err := porcupine.VisualizePath(m, info, htmlOut); err != nil {
			return r, fmt.Errorf("history: visualisation: %w", err)
		}
		r.HTML = htmlOut
	}
	if verdict == porcupine.Illegal {
		r.Violation = Explain(pol, ops)
	}
	return r, nil
}

// ordered reports whether no two operations of ops overlap in time.
func ordered(ops []Op) bool {
	sorted := slices.Clone(ops)
	slices.SortStableFunc(sorted, func(a, b Op) int { return cmp.Compare(a.Call, b.Call) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Call <= sorted[i-1].Return {
			return false
		}
	}
	return true
}

// Explain replays each client's operations in call order and returns the
// first one the specification rejects, with the reason ("" if none). For a
// history whose operations do not overlap (a Recorder's) this is exactly
// the violation; otherwise it is one candidate order's.
func Explain(pol broker.Policy, ops []Op) string {
	sorted := slices.Clone(ops)
	slices.SortStableFunc(sorted, func(a, b Op) int { return cmp.Compare(a.Call, b.Call) })
	states := map[string]session{}
	for _, op := range sorted {
		next, why := step(pol, states[op.Client], op)
		if why != "" {
			return fmt.Sprintf("%s: %s", op, why)
		}
		states[op.Client] = next
	}
	return ""
}

// CheckFile checks the history in the file at path (written by a Recorder)
// with a timeout. On a violation with htmlOut set, it writes porcupine's
// visualisation there and prints its path on standard error.
func CheckFile(path string, htmlOut string, timeout time.Duration) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	pol, ops, err := Read(f)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	return Check(pol, ops, htmlOut, timeout)
}
