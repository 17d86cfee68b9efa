package check

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// TestRunConcurrentMatchesRun: with the checker on its own goroutine, a
// passing run and a failing run give exactly what Run gives (the result's
// digest, events and truncation, and the violation's report), whatever
// the goroutines' timing.
func TestRunConcurrentMatchesRun(t *testing.T) {
	flaky, err := scenario.Builtin("flaky-cellular")
	if err != nil {
		t.Fatal(err)
	}
	flaky = flaky.Scaled(20)
	overflow, err := scenario.Builtin("overflow")
	if err != nil {
		t.Fatal(err)
	}
	overflow = overflow.Scaled(10)
	for _, tt := range []struct {
		name    string
		sc      scenario.Scenario
		profile string
		strip   bool // lose every Will: invariant 18 fails
		fail    bool
	}{
		{"flaky-cellular passes", flaky, "hivemq", false, false},
		{"overflow passes", overflow, "tencent", false, false},
		{"Wills lost fails", flaky, "hivemq", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := sim.Options{NewCore: func(cfg broker.Config) (sim.Core, error) {
				b, err := broker.New(cfg)
				return &willCore{Broker: b, strip: tt.strip}, err
			}}
			pol := profile(t, tt.profile)
			want, wantV, err := Run(tt.sc, pol, 3, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, gotV, err := RunConcurrent(tt.sc, pol, 3, opts)
			if err != nil {
				t.Fatal(err)
			}
			if (wantV != nil) != tt.fail {
				t.Fatalf("Run: violation %v, want failure %v", wantV, tt.fail)
			}
			if got.Digest != want.Digest || got.Events != want.Events || got.Truncated != want.Truncated {
				t.Errorf("RunConcurrent: %v truncated=%v, Run: %v truncated=%v", got, got.Truncated, want, want.Truncated)
			}
			switch {
			case (gotV == nil) != (wantV == nil):
				t.Errorf("RunConcurrent violation %v, Run %v", gotV, wantV)
			case gotV != nil && gotV.Report() != wantV.Report():
				t.Errorf("RunConcurrent reports\n%s\nRun reports\n%s", gotV.Report(), wantV.Report())
			}
		})
	}
}
