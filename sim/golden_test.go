package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

var update = flag.Bool("update", false, "rewrite sim/testdata/golden/*.trace from the current behaviour")

// traceWriter is an Observer writing a run as text, one block per step
// record: a first line "<at> <- <input>" at column 0, then one line
// "    -> <output>" per output, indented, in the core's one-line describers
// (Input.String, Output.String); a device's receipt is one line
// "<at> app c=<client> received <publish>", a healed phase one line
// "<at> healed". Every line that starts a step or stands alone begins with
// the virtual time, so a diff hunk says when; outputs are on lines of their
// own, so a change to one output is a one-line diff (joining them on one
// line would turn a changed output into a changed step and hide which part
// changed).
type traceWriter struct{ b strings.Builder }

func (w *traceWriter) Step(rec *broker.Record) {
	fmt.Fprintf(&w.b, "%v <- %v\n", rec.At, rec.Input)
	for _, o := range rec.Outputs {
		fmt.Fprintf(&w.b, "    -> %v\n", o)
	}
}

func (w *traceWriter) Received(now broker.Time, clientID string, p *packet.Publish) {
	fmt.Fprintf(&w.b, "%v app c=%s received %v\n", now, clientID, p)
}

func (w *traceWriter) Healed(now broker.Time) { fmt.Fprintf(&w.b, "%v healed\n", now) }

// goldenRuns are the runs whose traces are kept in testdata/golden, small
// enough to review (about 2,000 and 500 lines):
//
//   - overflow-tencent: the overflow scenario with one actuator, whose
//     offline window is moved to 1–22 min so that the run is short: its
//     power-cut connection is closed by keepalive, more than Tencent's 150
//     commands queue and the oldest are dropped (queue-full), then the
//     resumed session (sp=true) gets its backlog replayed one per 500 ms.
//   - flaky-cellular-aws: flaky-cellular with one sensor and one actuator
//     for 10 minutes under AWS; seed 7 has two lost connections, so two
//     retained Wills, a resumed session with its unacknowledged commands
//     resent (dup stored) and the retained online statuses.
var goldenRuns = []struct {
	name     string
	scenario func(t *testing.T) scenario.Scenario
	profile  string
	seed     uint64
}{
	{"overflow-tencent", func(t *testing.T) scenario.Scenario {
		sc := small(t, "overflow", 1, 23*time.Minute)
		sc.Heal = 2 * time.Minute
		sc.Groups[0].Offline = &scenario.Offline{Start: time.Minute, For: 21 * time.Minute}
		return sc
	}, "tencent", 1},
	{"flaky-cellular-aws", func(t *testing.T) scenario.Scenario {
		return small(t, "flaky-cellular", 2, 10*time.Minute)
	}, "aws", 7},
}

// TestGoldenTrace runs small built-in scenarios with a fixed seed and
// compares their whole trace (see traceWriter) byte for byte with
// testdata/golden/<name>.trace, so that a change of behaviour shows as a
// readable diff and not only as a changed digest. A failure prints the
// differing region (lineDiff); run with -update to accept a change, and read
// git diff of the .trace files, the full diff, before committing.
func TestGoldenTrace(t *testing.T) {
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			sc := g.scenario(t)
			w := &traceWriter{}
			fmt.Fprintf(&w.b, "# %v, profile %s, seed %d\n", sc, g.profile, g.seed)
			res, err := Run(sc, profile(t, g.profile), g.seed, Options{Observer: w})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&w.b, "# %v\n", res)
			got := w.b.String()
			file := filepath.Join("testdata", "golden", g.name+".trace")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("trace differs from %s (go test ./sim -run TestGoldenTrace -update to accept):\n%s", file, lineDiff(got, string(want)))
			}
		})
	}
}

// lineDiff shows where got and want part: the lines between their common
// first and last lines, want's with "-" and got's with "+", each side cut
// to 40 lines, after 3 lines of context.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	pre := 0
	for pre < len(g) && pre < len(w) && g[pre] == w[pre] {
		pre++
	}
	post := 0
	for post < len(g)-pre && post < len(w)-pre && g[len(g)-1-post] == w[len(w)-1-post] {
		post++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ line %d: %d lines of the golden file replaced by %d\n", pre+1, len(w)-pre-post, len(g)-pre-post)
	for _, l := range g[max(pre-3, 0):pre] {
		b.WriteString("  " + l + "\n")
	}
	side := func(lines []string, mark string) {
		for i, l := range lines {
			if i == 40 {
				fmt.Fprintf(&b, "%s ... %d more\n", mark, len(lines)-i)
				break
			}
			b.WriteString(mark + " " + l + "\n")
		}
	}
	side(w[pre:len(w)-post], "-")
	side(g[pre:len(g)-post], "+")
	return b.String()
}
