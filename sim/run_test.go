package sim

import (
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// small returns the named built-in shrunk for tests: devices scaled down
// and, when d > 0, the faulty phase shortened.
func small(t *testing.T, name string, devices int, d time.Duration) scenario.Scenario {
	t.Helper()
	s, err := scenario.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s.Scaled(devices).WithDuration(d)
}

func TestFakeCoreRunConservesCopies(t *testing.T) {
	sc := small(t, "steady", 40, 20*time.Minute)
	res, err := Run(sc, broker.Policy{Name: "fake"}, 1, Options{NewCore: newFakeCore})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	t.Logf("%v", res)
	if m.Published == 0 || m.Received == 0 {
		t.Fatalf("nothing happened: %+v", m)
	}
	if got, want := m.Delivered+m.DroppedTotal+m.Pending, m.Copies; got != want {
		t.Errorf("delivered+dropped+pending = %d, want copies %d", got, want)
	}
	if m.Received > m.Copies {
		t.Errorf("received %d > copies %d", m.Received, m.Copies)
	}
}
