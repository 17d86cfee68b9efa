package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// fullObserver implements Observer, PhaseObserver and DeviceObserver and
// counts what it sees.
type fullObserver struct {
	inputs, outputs, received int
	healedAt                  []time.Duration
	up, down                  map[string]int
	online                    map[string]bool
	badOrder                  int // DeviceUp while up, or DeviceDown while down
}

func (o *fullObserver) Step(rec *broker.Record)                       { o.inputs++; o.outputs += len(rec.Outputs) }
func (o *fullObserver) Received(broker.Time, string, *packet.Publish) { o.received++ }
func (o *fullObserver) Healed(now broker.Time)                        { o.healedAt = append(o.healedAt, now) }

func (o *fullObserver) DeviceUp(_ broker.Time, id string, _ bool) {
	if o.online[id] {
		o.badOrder++
	}
	o.online[id] = true
	o.up[id]++
}

func (o *fullObserver) DeviceDown(_ broker.Time, id string) {
	o.online[id] = false // down also ends a dial that never came up
	o.down[id]++
}

func TestObserverSeesTheRun(t *testing.T) {
	sc := small(t, "flaky-cellular", 20, 40*time.Minute)
	o := &fullObserver{up: map[string]int{}, down: map[string]int{}, online: map[string]bool{}}
	res, err := Run(sc, profile(t, "emqx"), 5, Options{Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	if len(o.healedAt) != 1 || o.healedAt[0] != sc.Duration {
		t.Errorf("Healed called at %v, want once at %v", o.healedAt, sc.Duration)
	}
	if int64(o.received) != m.Received+m.Duplicates {
		t.Errorf("observer saw %d receipts, metrics %d + %d duplicates", o.received, m.Received, m.Duplicates)
	}
	if o.inputs == 0 || o.outputs == 0 {
		t.Errorf("observer saw %d inputs, %d outputs", o.inputs, o.outputs)
	}
	ups := 0
	for _, n := range o.up {
		ups += n
	}
	if int64(ups) < m.Connects*9/10 || int64(ups) > m.Connects {
		t.Errorf("devices saw %d sessions up, broker accepted %d CONNECTs", ups, m.Connects)
	}
	if o.badOrder > 0 {
		t.Errorf("%d DeviceUp calls for a device already up", o.badOrder)
	}
}

func TestStopEndsTheRun(t *testing.T) {
	sc := small(t, "steady", 10, 10*time.Minute)
	polls := 0
	res, err := Run(sc, profile(t, "hivemq"), 1, Options{Stop: func() bool { polls++; return polls > 300 }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Events != 300 {
		t.Errorf("Truncated = %v after %d events, want true after 300", res.Truncated, res.Events)
	}
}

func TestKnobsMatchTheRun(t *testing.T) {
	sc := small(t, "steady", 5, 5*time.Minute)
	sc.Network.Swarm = true
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 8; seed++ {
		res, err := Run(sc, profile(t, "hivemq"), seed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Knobs, Knobs(sc, seed); got != want {
			t.Errorf("seed %d: Result.Knobs = %v, Knobs() = %v", seed, got, want)
		}
		seen[res.Knobs.String()] = true
	}
	if len(seen) < 4 {
		t.Errorf("8 swarm seeds drew only %d distinct knob sets: %v", len(seen), seen)
	}
}

func TestTraceIsDeterministic(t *testing.T) {
	sc := small(t, "flaky-cellular", 6, 20*time.Minute)
	var a, b strings.Builder
	ra, err := Run(sc, profile(t, "aws"), 4, Options{Trace: &a})
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := Run(sc, profile(t, "aws"), 4, Options{Trace: &b})
	if a.String() != b.String() {
		t.Errorf("same seed, different traces (%d and %d bytes)", a.Len(), b.Len())
	}
	plain, _ := Run(sc, profile(t, "aws"), 4, Options{})
	if ra.Digest != plain.Digest || rb.Digest != plain.Digest {
		t.Errorf("tracing changed the run: digests %s, %s, untraced %s", ra.DigestHex(), rb.DigestHex(), plain.DigestHex())
	}
	lines := strings.Count(a.String(), "\n")
	for _, want := range []string{"CONNECT", "broker <- ", "broker -> ", " arrive ", "sensor-0 "} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("trace has no %q in %d lines", want, lines)
		}
	}
	if int64(lines) < ra.Events {
		t.Errorf("trace has %d lines for %d events", lines, ra.Events)
	}
}
