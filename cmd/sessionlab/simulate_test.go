package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
)

// smallRun is a fast simulate command line: 30 devices, a 40-minute
// faulty phase with the outage at 30 minutes.
func smallRun(out string, seed string) []string {
	return []string{"simulate", "--scenario", "outage-storm", "--profile", "tencent,aws,hivemq",
		"--devices", "30", "--duration", "40m", "--seed", seed, "--out", out}
}

// outputFiles are the files simulate writes into --out.
var outputFiles = []string{
	"latency_cdf.png", "latency_cdf.svg", "queue_depth.png", "queue_depth.svg",
	"fleet_state.png", "fleet_state.svg", "replay_drain.png", "replay_drain.svg",
	"drops.png", "drops.svg", "metrics.json", "summary.md",
}

var digestLine = regexp.MustCompile(`(?m)^digest: ([0-9a-f]{16})\n\z`)

// simulate runs smallRun and returns its digest, failing the test on any
// error.
func simulate(t *testing.T, out, seed string) (digest, stdout string) {
	t.Helper()
	code, stdout, stderr := runCLI(smallRun(out, seed)...)
	if code != exitOK {
		t.Fatalf("simulate exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet simulate wrote to it: %q", stderr)
	}
	m := digestLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout does not end with a digest line:\n%s", stdout)
	}
	return m[1], stdout
}

func TestSimulateWritesEverythingAndPrintsSeedFirst(t *testing.T) {
	out := t.TempDir()
	_, stdout := simulate(t, out, "11")
	if !strings.HasPrefix(stdout, "seed: 11\n") {
		t.Errorf("stdout does not start with the seed: %q", firstLine(stdout))
	}
	for _, want := range []string{"reproduce: sessionlab simulate --scenario outage-storm --profile tencent,aws,hivemq --seed 11 --devices 30 --duration 40m0s",
		"network faults (fixed):", "event outage", "delivered", "latency stored p99", "replay drain p99", "sessions expired"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, name := range outputFiles {
		st, err := os.Stat(filepath.Join(out, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: not written (%v)", name, err)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	for _, want := range []string{"| measure | tencent | aws | hivemq |", "![Delivery latency](latency_cdf.png)", "seed: 11"} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
}

func TestSimulateIsByteIdenticalForAFixedSeed(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	da, _ := simulate(t, a, "5")
	db, _ := simulate(t, b, "5")
	dc, _ := simulate(t, c, "6")
	if da != db {
		t.Errorf("same seed, digests %s and %s", da, db)
	}
	if da == dc {
		t.Errorf("seeds 5 and 6 gave the same digest %s", da)
	}
	for _, name := range outputFiles {
		fa, _ := os.ReadFile(filepath.Join(a, name))
		fb, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between two runs with seed 5", name)
		}
	}
}

func TestPlotRedrawsTheSameCharts(t *testing.T) {
	out, redrawn := t.TempDir(), t.TempDir()
	simulate(t, out, "3")
	code, stdout, stderr := runCLI("plot", filepath.Join(out, "metrics.json"), "--out", redrawn)
	if code != exitOK {
		t.Fatalf("plot exit %d, want 0; stderr %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 10 files") {
		t.Errorf("plot stdout %q does not report 10 files", stdout)
	}
	for _, name := range outputFiles[:10] {
		want, _ := os.ReadFile(filepath.Join(out, name))
		got, err := os.ReadFile(filepath.Join(redrawn, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s redrawn differs from simulate's (%v)", name, err)
		}
	}
}

func TestPlotFailsOnBadMetrics(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	os.WriteFile(empty, []byte(`{"runs": []}`), 0o644)
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "missing.json"), "no such file"},
		{bad, "bad.json"},
		{empty, "no runs"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI("plot", tt.path)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("plot %s: exit %d, stderr %q; want exit %d mentioning %q", tt.path, code, stderr, exitUsage, tt.want)
		}
	}
}

func TestSimulateScenarioFile(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent",
		"--seed", "2", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"scenario: tiny: 11 devices in 2 groups", "group device: 10×command", "profiles: tencent\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !digestLine.MatchString(stdout) {
		t.Errorf("stdout does not end with a digest line")
	}
}

func TestSimulateRejectsInvalidScenarioFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nduration: 1h\ngroups:\n  - name: x\n    kind: command\n    count: -1\n"), 0o644)
	code, _, stderr := runCLI("simulate", "--scenario", bad, "--out", t.TempDir())
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"flag -scenario", "bad.yaml:6", "groups[0].count"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
}

func TestSimulateSwarmPrintsTheDrawnKnobsFirst(t *testing.T) {
	// Seeds differ in which faults the swarm draw enables; both must print
	// before the run and match what the run used (simulateOne checks).
	for _, seed := range []string{"1", "4"} {
		code, stdout, stderr := runCLI("simulate", "--scenario", "testdata/swarm.yaml", "--profile", "aws",
			"--seed", seed, "--out", t.TempDir())
		if code != exitOK {
			t.Fatalf("seed %s: exit %d, want 0; stderr:\n%s", seed, code, stderr)
		}
		knobs := strings.Index(stdout, "network faults (drawn from the seed (swarm)):")
		table := strings.Index(stdout, "delivered")
		if knobs < 0 || table < 0 || knobs > table {
			t.Errorf("seed %s: drawn knobs not printed before the table:\n%s", seed, stdout)
		}
	}
}

var seedLine = regexp.MustCompile(`^seed: (\d+)\n`)

func TestSimulateWithoutSeedPrintsOneThatReproducesTheRun(t *testing.T) {
	args := []string{"simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent,hivemq"}
	code, stdout, stderr := runCLI(append(args, "--out", t.TempDir())...)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	seed := seedLine.FindStringSubmatch(stdout)
	digest := digestLine.FindStringSubmatch(stdout)
	if seed == nil || digest == nil {
		t.Fatalf("no seed first or no digest last:\n%s", stdout)
	}
	if !strings.Contains(stdout, "--seed "+seed[1]) {
		t.Errorf("the reproduce line does not carry the drawn seed %s", seed[1])
	}
	_, again, _ := runCLI(append(args, "--seed", seed[1], "--out", t.TempDir())...)
	if got := digestLine.FindStringSubmatch(again); got == nil || got[1] != digest[1] {
		t.Errorf("re-running with --seed %s: digest %v, want %s", seed[1], got, digest[1])
	}
}

func TestSimulateDefaults(t *testing.T) {
	c := newCLI("simulate", simulateHelp, &bytes.Buffer{}, &bytes.Buffer{})
	a, code, ok := parseSimulate(c, nil)
	if !ok {
		t.Fatalf("parseSimulate(nil) stopped with exit %d", code)
	}
	want := simulateArgs{scenario: "mixed", profiles: []string{"tencent", "aws", "hivemq"}, out: "out", check: true}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("defaults = %+v, want %+v", a, want)
	}
}

// panickingCore is a broker core that breaks on its first input.
type panickingCore struct{}

func (panickingCore) Step(broker.Time, broker.Input) broker.Record { panic("core invariant broken") }
func (panickingCore) NextDeadline() (broker.Time, bool)            { return 0, false }

func TestSimulateReportsACrashingCoreWithTheReproduceCommand(t *testing.T) {
	coreForTest = func(broker.Config) (sim.Core, error) { return panickingCore{}, nil }
	defer func() { coreForTest = nil }()
	code, _, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "aws",
		"--seed", "8", "--out", t.TempDir())
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"profile aws: crash: core invariant broken", "FAILED: 1 crash", "reproduce: sessionlab simulate --scenario testdata/tiny.yaml --profile aws --seed 8"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestMetricsFileKeepsTheSeedExact: metrics.json writes 64-bit seeds as
// strings, which JSON tools (jq, JavaScript) read without rounding them to a
// float, and plot reads them back.
func TestMetricsFileKeepsTheSeedExact(t *testing.T) {
	out := t.TempDir()
	const seed = "18446744073709551557" // near 2^64: a float64 would round it
	if code, _, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent",
		"--seed", seed, "--out", out); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var loose map[string]any // how a generic JSON reader sees it
	if err := json.Unmarshal(raw, &loose); err != nil {
		t.Fatal(err)
	}
	if got := loose["seed"]; got != seed {
		t.Errorf("metrics.json seed = %#v, want the string %q", got, seed)
	}
	run := loose["runs"].([]any)[0].(map[string]any)["metrics"].(map[string]any)
	if got := run["seed"]; got != seed {
		t.Errorf("run metrics seed = %#v, want the string %q", got, seed)
	}
	if code, _, stderr := runCLI("plot", filepath.Join(out, "metrics.json"), "--out", t.TempDir()); code != exitOK {
		t.Errorf("plot could not read it back: exit %d\n%s", code, stderr)
	}
}
