package properties

import (
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"pgregory.net/rapid"
)

// TestCoreMatchesModel drives the core and the model with the same random
// operation sequences under every profile and compares every observable
// output after every input. A failure is shrunk by rapid, printed as the
// operations and the inputs they made (Input.String), and replayed from
// rapid's failure file with -rapid.failfile.
func TestCoreMatchesModel(t *testing.T) {
	for _, name := range broker.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			pol, err := broker.Profile(name)
			if err != nil {
				t.Fatal(err)
			}
			rapid.Check(t, func(t *rapid.T) { runOps(t, pol) })
		})
	}
}

// runOps draws up to 50 operations and applies them in lockstep.
func runOps(t *rapid.T, pol broker.Policy) {
	l, err := NewLockstep(pol, DefaultScope.Clients)
	if err != nil {
		t.Fatal(err)
	}
	n := rapid.IntRange(1, 50).Draw(t, "n")
	var ops []string
	for i := range n {
		op := OpGen(DefaultScope).Draw(t, "op")
		ops = append(ops, op.String())
		if err := l.Apply(op); err != nil {
			t.Fatalf("op %d of:\n  %s\ninputs:\n  %s\n%v", i, strings.Join(ops, "\n  "),
				strings.ReplaceAll(l.Trace(), "\n", "\n  "), err)
		}
	}
}
