package swarm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/properties/history"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
)

// maxHistoryOps bounds the histories given to porcupine, whose search is
// exponential in overlapping operations.
const maxHistoryOps = 4000

// TestHistories records drawn simulator runs small enough for porcupine and
// checks each history, partitioned by ClientId, against the per-session
// model (package properties/history), alongside the in-simulation checker.
// A rejected history's porcupine visualisation is written to the temporary
// directory and named in the failure.
func TestHistories(t *testing.T) {
	cases := 30
	if testing.Short() {
		cases = 8
	}
	checked := 0
	for i := 0; i < cases; i++ {
		c := Gen().Example(i)
		pol, err := broker.Profile(c.Profile)
		if err != nil {
			t.Fatal(err)
		}
		rec := history.NewRecorder(nil, pol)
		_, v, err := check.Run(c.Scenario, pol, c.Seed, sim.Options{Observer: recorder{rec}})
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			t.Errorf("%v\n%s", c, c.Failure(v))
		}
		ops := rec.Ops()
		if len(ops) > maxHistoryOps {
			continue
		}
		html := filepath.Join(os.TempDir(), fmt.Sprintf("swarm-history-%d.html", i))
		res, err := history.Check(pol, ops, html, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK && !res.Unknown {
			t.Errorf("%v: porcupine: %v (visualisation: %s)\n%s", c, res, res.HTML,
				c.Failure(&check.Violation{Kind: check.Safety, Detail: res.Violation}))
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("no drawn history was small enough (<= %d operations) to check", maxHistoryOps)
	}
	t.Logf("porcupine checked %d of %d drawn runs", checked, cases)
}
