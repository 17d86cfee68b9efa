package sim

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// transcript is an Observer (and PhaseObserver and DeviceObserver) that
// writes down everything it is told, in order.
type transcript struct{ b strings.Builder }

func (t *transcript) Step(rec *broker.Record) { t.b.WriteString(rec.String() + "\n") }
func (t *transcript) Received(now broker.Time, id string, p *packet.Publish) {
	t.b.WriteString(now.String() + " " + id + " received " + p.String() + "\n")
}
func (t *transcript) Healed(now broker.Time) { t.b.WriteString(now.String() + " healed\n") }
func (t *transcript) DeviceUp(now broker.Time, id string, sp bool) {
	t.b.WriteString(now.String() + " " + id + " up\n")
}
func (t *transcript) DeviceDown(now broker.Time, id string) {
	t.b.WriteString(now.String() + " " + id + " down\n")
}

// TestConcurrentWatchingChangesNothing: with Options.Concurrent the ledger
// and the observer run on a goroutine of their own, and see the same calls in
// the same order: the metrics, the digest and everything the observer was
// told are the same as in line.
func TestConcurrentWatchingChangesNothing(t *testing.T) {
	for _, name := range []string{"mixed", "flaky-cellular"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			sc = sc.Scaled(40)
			var inline, concurrent transcript
			want, err := Run(sc, profile(t, "tencent"), 3, Options{Observer: &inline})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(sc, profile(t, "tencent"), 3, Options{Observer: &concurrent, Concurrent: true})
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want.Digest || got.Events != want.Events {
				t.Errorf("concurrent %v, in line %v", got, want)
			}
			if !reflect.DeepEqual(got.Metrics, want.Metrics) {
				t.Errorf("metrics differ:\nconcurrent %+v\nin line    %+v", got.Metrics, want.Metrics)
			}
			if a, b := concurrent.b.String(), inline.b.String(); a != b || len(a) == 0 {
				t.Errorf("the observer was told %d bytes concurrently, %d in line (equal: %v)", len(a), len(b), a == b)
			}
		})
	}
}

// panicky is an Observer that panics at its n-th step.
type panicky struct{ n int }

func (p *panicky) Step(*broker.Record) {
	if p.n--; p.n == 0 {
		panic("observer broke")
	}
}
func (p *panicky) Received(broker.Time, string, *packet.Publish) {}

// TestConcurrentObserverPanicReachesTheCaller: an Observer that panics on
// the watching goroutine does not kill the process; Run panics in its
// caller's goroutine with the observer's panic and stack, where simulate
// and sweep report a crash.
func TestConcurrentObserverPanicReachesTheCaller(t *testing.T) {
	sc, err := scenario.Builtin("steady")
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Scaled(10)
	defer func() {
		v := recover()
		if s, ok := v.(string); !ok || !strings.Contains(s, "observer broke") || !strings.Contains(s, "goroutine") {
			t.Fatalf("recovered %v, want the observer's panic with its stack", v)
		}
	}()
	Run(sc, profile(t, "mosquitto"), 1, Options{Observer: &panicky{n: 50}, Concurrent: true})
	t.Fatal("Run returned although its observer panicked")
}
