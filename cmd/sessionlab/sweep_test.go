package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func TestSweepUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"--seeds", "5", "--from", "1", "--to", "2"}, "-seeds"},
		{[]string{"--from", "3"}, "-from/-to"},
		{[]string{"--from", "3", "--to", "2"}, "-from"},
		{[]string{"--seeds", "0"}, "-seeds"},
		{[]string{"--parallel", "0"}, "-parallel"},
		{[]string{"--profile", "nope"}, "-profile"},
		{[]string{"--scenario", "nope"}, "-scenario"},
		{[]string{"--devices", "-1"}, "-devices"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(append([]string{"sweep"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d stderr %q stdout %q, want exit 2 naming %q and no output", tt.args, code, stderr, stdout, tt.want)
		}
	}
}

// TestSweepPassesInSeedOrder runs a small sweep on several workers: it
// passes, prints every run in seed order, and counts them.
func TestSweepPassesInSeedOrder(t *testing.T) {
	code, stdout, stderr := runCLI("sweep", "--from", "11", "--to", "16", "--scenario", "steady", "--devices", "5",
		"--profile", "tencent,mosquitto", "--parallel", "3", "--verbose")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	seeds := regexp.MustCompile(`(?m)^ok   seed (\d+) steady/(\w+)`).FindAllStringSubmatch(stdout, -1)
	var got []string
	for _, m := range seeds {
		got = append(got, m[1]+"/"+m[2])
	}
	want := "11/mosquitto 12/tencent 13/mosquitto 14/tencent 15/mosquitto 16/tencent"
	if strings.Join(got, " ") != want {
		t.Errorf("got runs %v, want %s", got, want)
	}
	for _, line := range []string{"runs: 6  passed: 6  violations: 0  liveness: 0  crashes: 0", "events/s:"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("summary lacks %q:\n%s", line, stdout)
		}
	}
	// Beyond pass or fail: what each profile's runs did, profiles in order.
	perProfile := regexp.MustCompile(`(?m)^  (\w+): 3 runs, copies (\d+), delivered (\d+), dropped \d+.*, pending \d+, worst stored latency p99 \S+, deepest queue \d+$`).FindAllStringSubmatch(stdout, -1)
	if len(perProfile) != 2 || perProfile[0][1] != "mosquitto" || perProfile[1][1] != "tencent" || perProfile[0][2] == "0" {
		t.Errorf("per-profile lines %q, want mosquitto then tencent with their copies:\n%s", perProfile, stdout)
	}
}

// TestSweepTwice runs seeds twice: the simulator is deterministic, so the
// sweep passes and the events of both runs are counted once.
func TestSweepTwice(t *testing.T) {
	code, stdout, stderr := runCLI("sweep", "--seeds", "2", "--scenario", "steady", "--devices", "4", "--profile", "aws", "--twice")
	if code != exitOK || !strings.Contains(stdout, "runs: 2  passed: 2") {
		t.Fatalf("exit %d, want 0 with 2 passed\n%s%s", code, stdout, stderr)
	}
	defer func(f func(scenario.Scenario, broker.Policy, uint64, sim.Options) (*sim.Result, *check.Violation, error)) {
		sweepCheck = f
	}(sweepCheck)
	sweepCheck = func(scenario.Scenario, broker.Policy, uint64, sim.Options) (*sim.Result, *check.Violation, error) {
		return &sim.Result{Digest: 42}, nil, nil // a first run the real second run cannot match
	}
	code, stdout, _ = runCLI("sweep", "--seeds", "1", "--scenario", "steady", "--devices", "4", "--profile", "aws", "--twice")
	if code != exitFailed || !strings.Contains(stdout, "invariant 17 determinism") {
		t.Errorf("exit %d, want 1 with a determinism failure\n%s", code, stdout)
	}
}

// TestSweepFailureKinds fakes runs that violate, miss liveness and panic,
// and wants the exit code, the failure text and the reproduce line.
func TestSweepFailureKinds(t *testing.T) {
	tests := []struct {
		name  string
		fake  func() (*check.Violation, bool)
		code  int
		lines []string
	}{
		{"violation", func() (*check.Violation, bool) {
			return &check.Violation{Kind: check.Safety, Inv: broker.InvRedelivery, Source: "[MQTT-4.4.0-1]", Detail: "out of order"}, false
		}, exitFailed, []string{"FAIL seed 3 steady/hivemq", "invariant 5 redelivery [MQTT-4.4.0-1]: out of order",
			"reproduce: sessionlab simulate --seed 3 --scenario steady --profile hivemq --devices 4", "invariant 5 redelivery: 1 runs",
			"FAILED: 1 safety violation"}},
		{"liveness", func() (*check.Violation, bool) {
			return &check.Violation{Kind: check.Liveness, Inv: broker.InvLiveness, Detail: "still queued"}, false
		}, exitFailed, []string{"liveness violation", "liveness: 1", "FAILED: 1 liveness failure"}},
		{"crash", func() (*check.Violation, bool) { return nil, true }, exitFailed,
			[]string{"CRASH seed 3 steady/hivemq", "panic: planted", "goroutine", "crashes: 1", "FAILED: 1 crash",
				"reproduce: sessionlab simulate --seed 3 --scenario steady --profile hivemq --devices 4"}},
	}
	defer func(f func(scenario.Scenario, broker.Policy, uint64, sim.Options) (*sim.Result, *check.Violation, error)) {
		sweepCheck = f
	}(sweepCheck)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sweepCheck = func(sc scenario.Scenario, pol broker.Policy, seed uint64, o sim.Options) (*sim.Result, *check.Violation, error) {
				v, crash := tt.fake()
				if crash {
					panic("planted")
				}
				return &sim.Result{Events: 10}, v, nil
			}
			code, stdout, stderr := runCLI("sweep", "--from", "3", "--to", "3", "--scenario", "steady", "--profile", "hivemq", "--devices", "4")
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stdout)
			}
			for _, line := range tt.lines {
				if !strings.Contains(stdout+stderr, line) {
					t.Errorf("output lacks %q:\n%s", line, stdout)
				}
			}
		})
	}
}

// TestSweepReproduceExitsLikeTheSweep plants a broken core (coreForTest)
// that fails the checker in each way, runs a failing sweep, then runs the
// reproduce command it printed through the same entry point: it must fail
// the same way and exit with the same code.
func TestSweepReproduceExitsLikeTheSweep(t *testing.T) {
	withPolicy := func(change func(*broker.Policy)) func(broker.Config) (sim.Core, error) {
		return func(cfg broker.Config) (sim.Core, error) {
			change(&cfg.Policy)
			return broker.New(cfg)
		}
	}
	tests := []struct {
		name string
		core func(broker.Config) (sim.Core, error)
		kind string
	}{
		// A replay faster than tencent's one per 500 ms breaks pacing.
		{"safety", withPolicy(func(p *broker.Policy) { p.ReplayInterval /= 10 }), failSafety},
		// A replay much slower leaves copies pending after the heal.
		{"liveness", withPolicy(func(p *broker.Policy) { p.ReplayInterval = 10 * time.Minute }), failLiveness},
		{"crash", func(broker.Config) (sim.Core, error) { return panickingCore{}, nil }, failCrash},
	}
	defer func() { coreForTest = nil }()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coreForTest = tt.core
			code, stdout, stderr := runCLI("sweep", "--seeds", "1", "--scenario", "overflow", "--profile", "tencent", "--devices", "4")
			if code != exitFailed || !strings.Contains(stderr, "FAILED: 1 "+tt.kind) {
				t.Fatalf("sweep: exit %d, want %d and a %s\n%s%s", code, exitFailed, tt.kind, stdout, stderr)
			}
			m := regexp.MustCompile(`(?m)^  reproduce: sessionlab (simulate .*)$`).FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("no reproduce line:\n%s", stdout)
			}
			args := append(strings.Fields(m[1]), "--out", t.TempDir())
			again, _, simStderr := runCLI(args...)
			if again != code || !strings.Contains(simStderr, "FAILED: 1 "+tt.kind) {
				t.Errorf("%s: exit %d, want the sweep's %d and a %s\n%s", m[1], again, code, tt.kind, simStderr)
			}
		})
	}
}

// TestShardedSweepMergesToTheWholeSweep: four shards of a sweep run
// disjoint parts whose records together are exactly the unsharded sweep's,
// and sweep merge prints the same summary with the same exit code, also when
// a run fails (a broken core).
func TestShardedSweepMergesToTheWholeSweep(t *testing.T) {
	for _, broken := range []bool{false, true} {
		if broken {
			coreForTest = func(broker.Config) (sim.Core, error) { return panickingCore{}, nil }
		}
		dir := t.TempDir()
		args := []string{"sweep", "--seeds", "12", "--devices", "4", "--scenario", "steady,flaky-cellular", "--profile", "tencent,aws"}
		whole := filepath.Join(dir, "whole.jsonl")
		wantCode, wantOut, _ := runCLI(append(args, "--json", whole)...)
		var shards []string
		for i := range 4 {
			shards = append(shards, filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i)))
			runCLI(append(args, "--shard", fmt.Sprintf("%d/4", i), "--json", shards[i])...)
		}
		gotCode, gotOut, _ := runCLI(append([]string{"sweep", "merge"}, shards...)...)
		coreForTest = nil
		lines := func(paths ...string) []string {
			var all []string
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, strings.Split(strings.TrimSpace(string(b)), "\n")...)
			}
			slices.Sort(all)
			return all
		}
		if w, g := lines(whole), lines(shards...); len(w) != 12 || !slices.Equal(w, g) {
			t.Errorf("broken=%v: the shards' %d records are not the sweep's %d", broken, len(g), len(w))
		}
		summary := func(out string) string { // from "runs:", without the wall-clock line
			out = out[strings.Index(out, "\nruns:"):]
			return regexp.MustCompile(`(?m)^(wall time: .*|events: \d+)\n`).ReplaceAllString(out, "")
		}
		if gotCode != wantCode || summary(gotOut) != summary(wantOut) {
			t.Errorf("broken=%v: merge exit %d\n%s\nsweep exit %d\n%s", broken, gotCode, summary(gotOut), wantCode, summary(wantOut))
		}
	}
}
