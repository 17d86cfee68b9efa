package main

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sessionlab/sessionlab/plots"
	"github.com/sessionlab/sessionlab/probe"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func init() {
	commands["probe"] = command{"hold a running MQTT broker to a profile's promises, or infer its policy", runProbe}
}

const probeHelp = `
usage: sessionlab probe --broker HOST:PORT [--username U --password P]
                        [--profile NAME|FILE] [--scenario NAME|FILE] [--devices N]
                        [--duration D] [--seed N] [--out DIR] [--keep-sessions]
       sessionlab probe --infer --broker HOST:PORT [--max-wait D] [--max-queue N]

Runs the simulator's own device and backend clients (sim/client, the same
state machines) against a real broker over real sockets and the wall clock,
records every packet each client sent and received, and judges the run
under the profile's promises as far as a client can see them:
SessionPresent, clean sessions, offline storage with the queue cap and
its victim, QoS 0 offline, redelivery with DUP and the same packet id,
QoS, order, expiry, pacing, packet ids and the Will. It prints the
broker's timing noise and the tolerance used, and a conformance table:
each promise kept, broken (with the witnessing packets and their times)
or not observed. summary.md, packets.log (every packet with its time),
probe.json and the latency_cdf and replay_drain charts (PNG and SVG) go
into --out.

The scenario's clock is scaled so that its faulty phase lasts --duration
(default 10s): a 4h scenario runs 1440 times faster, offline windows and
publish intervals alike; the broker's own timers (pacing, expiry,
keepalive) are not scaled. Then comes a healed phase (the scenario's heal,
scaled, at least 2s) in which every device is online and nothing is
published. The scenario's connection resets and failed dials are
emulated (a socket closed without DISCONNECT, a dial failed before it
starts); latency, half-open links, partitions and outages are not. Client
ids and topics carry a tag drawn from --seed (printed; drawn at random
without it), and so does every choice of the run; at the end every client
id gets a clean connect, removing its session, unless --keep-sessions.

--infer runs short targeted experiments instead and prints the broker's
policy as a profile file (usable as --profile FILE): granted QoS, whether
sessions are kept, QoS 0 stored offline, the queue cap and its victim,
replay pacing and whether live traffic waits behind the replay, the
in-flight window, DUP on redelivery, order on resume, session expiry when
shorter than --max-wait, retained messages, the Will, takeover and
keepalive. A field it could
not establish is a comment "# key: unknown: reason" (and keeps the base
profile's value when the file is used).

A broker that cannot be reached, refuses the credentials or does not
answer CONNECT is reported with what was tried, exit 2; so is one that
cannot be reached any more when the run ends (unless a promise was
already broken: exit 1). Connections the broker closed, failed dials and
unanswered or refused CONNECTs during the run are listed as "trouble".
Every wait is bounded (--timeout for each answer the protocol requires).

examples:
  sessionlab serve --profile tencent &
  sessionlab probe --infer --broker 127.0.0.1:1883
  sessionlab probe --broker 127.0.0.1:1883 --profile tencent --seed 7
  sessionlab probe --broker mqtt.example.com:1883 --username u --password p --profile ./mine.yaml
`

type probeArgs struct {
	broker, username, password string
	profile, scenario          string
	devices                    int
	duration, maxWait, timeout time.Duration
	seed                       uint64
	seedSet                    bool
	infer, keep                bool
	maxQueue                   int
	out                        string
}

func runProbe(args []string, stdout, stderr io.Writer) int {
	c := newCLI("probe", probeHelp, stdout, stderr)
	var a probeArgs
	fs := c.flags
	fs.StringVar(&a.broker, "broker", "", "the broker's `HOST:PORT` (required)")
	fs.StringVar(&a.username, "username", "", "user `name` for CONNECT")
	fs.StringVar(&a.password, "password", "", "`password` for CONNECT (with --username)")
	fs.StringVar(&a.profile, "profile", "mosquitto", "the `profile` (built-in name or file) whose promises the broker is held to")
	fs.StringVar(&a.scenario, "scenario", "overflow", "a built-in scenario `name` or a scenario file")
	fs.IntVar(&a.devices, "devices", 3, "scale the fleet to about `N` devices (backends kept)")
	fs.DurationVar(&a.duration, "duration", 10*time.Second, "wall-clock length `D` of the faulty phase; the scenario's clock is scaled to it")
	fs.Uint64Var(&a.seed, "seed", 0, "random `seed` (default: drawn and printed)")
	fs.BoolVar(&a.infer, "infer", false, "infer the broker's policy and print it as a profile file")
	fs.DurationVar(&a.maxWait, "max-wait", 10*time.Second, "--infer: the longest wait `D` for session expiry")
	fs.IntVar(&a.maxQueue, "max-queue", 2000, "--infer: messages `N` published to find the queue cap")
	fs.DurationVar(&a.timeout, "timeout", 5*time.Second, "the longest wait `D` for an answer the protocol requires (CONNACK, SUBACK, PUBACK)")
	fs.BoolVar(&a.keep, "keep-sessions", false, "leave the sessions the probe created on the broker")
	fs.StringVar(&a.out, "out", "out", "output `directory` for summary.md, packets.log, probe.json and charts (probe without --infer)")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageError("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			a.seedSet = true
		}
	})
	switch {
	case a.broker == "":
		return c.usageError("--broker HOST:PORT is required")
	case a.password != "" && a.username == "":
		return c.usageError("--password needs --username")
	case a.duration <= 0 || a.maxWait <= 0 || a.timeout <= 0:
		return c.usageError("--duration, --max-wait and --timeout must be positive")
	case a.maxQueue < 10:
		return c.usageError("--max-queue must be at least 10")
	}
	if !a.seedSet {
		var b [8]byte
		crand.Read(b[:])
		a.seed = binary.LittleEndian.Uint64(b[:])
	}
	target := probe.Target{Addr: a.broker, Username: a.username, Password: a.password, AnswerTimeout: a.timeout}
	if a.infer {
		return probeInfer(c, a, target)
	}
	return probeRun(c, a, target)
}

// unusable reports a broker the probe could not use: exit 2.
func unusable(c *cli, err error) int {
	var ue *probe.UnusableError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "sessionlab probe: the broker cannot be used: %v\n", err)
		return exitUsage
	}
	return c.inputError(err)
}

func probeInfer(c *cli, a probeArgs, target probe.Target) int {
	fmt.Fprintf(c.stderr, "probe --infer --broker %s --seed %d --max-wait %v --max-queue %d\n", a.broker, a.seed, a.maxWait, a.maxQueue)
	inf, err := probe.Infer(probe.InferOptions{Target: target, Seed: a.seed, MaxWait: a.maxWait, MaxQueue: a.maxQueue, KeepSessions: a.keep})
	if err != nil {
		return unusable(c, err)
	}
	fmt.Fprint(c.stdout, inf.YAML())
	if _, err := inf.Profile(); err != nil {
		fmt.Fprintf(c.stderr, "sessionlab probe: the inferred profile does not parse: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(c.stderr, "inferred in %v\n", inf.Took.Round(100*time.Millisecond))
	return exitOK
}

func probeRun(c *cli, a probeArgs, target probe.Target) int {
	sc, err := loadScenario(a.scenario)
	if err != nil {
		return c.usageError("--scenario: %v", err)
	}
	pol, err := resolveProfile(a.profile, sc)
	if err != nil {
		return c.usageError("--profile: %v", err)
	}
	sc = sc.Scaled(a.devices)
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return c.inputError(err)
	}
	fmt.Fprintf(c.stdout, "probe --broker %s --profile %s --scenario %s --devices %d --duration %v --seed %d (%d clients, backends included)\n",
		a.broker, describeProfile(a.profile, sc), sc.Name, a.devices, a.duration, a.seed, sc.Devices())
	res, err := probe.Run(probe.RunOptions{Target: target, Scenario: sc, Policy: pol, Seed: a.seed, Duration: a.duration, KeepSessions: a.keep})
	if err != nil {
		return unusable(c, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s scaled by 1/%.0f: faulty phase %v, healed phase %v\n", sc.Name, 1/res.Scale, res.Faulty, res.Heal)
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "not applied: %s\n", s)
	}
	fmt.Fprintf(&b, "timing noise: round trip median %v, max %v over %d PINGREQs; tolerance of every timing rule %v\n",
		res.Noise.RTTMedian.Round(time.Microsecond), res.Noise.RTTMax.Round(time.Microsecond), res.Noise.Samples, res.Noise.Tolerance)
	fmt.Fprintf(&b, "published %d messages, received %d PUBLISH packets; stored latency p50 %v, live latency p50 %v\n",
		res.Published, res.Received, pct(res.Stored, 50), pct(res.Live, 50))
	for _, t := range res.Trouble {
		fmt.Fprintf(&b, "trouble: %s\n", t)
	}
	fmt.Fprintf(&b, "cleanup: %s\n\n", res.Cleanup)
	b.WriteString(res.Table())
	fmt.Fprint(c.stdout, b.String())
	summary := "# sessionlab probe\n\n```\n" + fmt.Sprintf("sessionlab probe --broker %s --profile %s --scenario %s --devices %d --duration %v --seed %d\n",
		a.broker, a.profile, a.scenario, a.devices, a.duration, a.seed) + "```\n\n" + b.String()
	if err := os.WriteFile(filepath.Join(a.out, "summary.md"), []byte(summary), 0o644); err != nil {
		return c.inputError(err)
	}
	if err := os.WriteFile(filepath.Join(a.out, "packets.log"), []byte(res.Log.Dump()), 0o644); err != nil {
		return c.inputError(err)
	}
	if err := writeProbeOutputs(a, sc, pol.Name, res); err != nil {
		return c.inputError(err)
	}
	if res.Failed() {
		fmt.Fprintf(c.stderr, "sessionlab probe: FAILED: the broker broke a promise of profile %s (exit %d)\n", pol.Name, exitFailed)
		return exitFailed
	}
	if res.Lost != "" {
		fmt.Fprintf(c.stderr, "sessionlab probe: the broker could not be used at the end of the run, so the verdicts cover only what came before: %s\n", res.Lost)
		return exitUsage
	}
	return exitOK
}

// pct is the p-th percentile of ds ("-" for none).
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	if v := s[(len(s)-1)*p/100]; v >= time.Millisecond {
		return v.Round(time.Millisecond).String()
	}
	return "<1ms"
}

// probeMetrics is probe.json: the run's figures and its conformance table.
type probeMetrics struct {
	Command        string          `json:"command"`
	Profile        string          `json:"profile"`
	Scale          float64         `json:"scale"`
	FaultySeconds  float64         `json:"faulty_s"`
	HealSeconds    float64         `json:"heal_s"`
	RTTMedianMS    float64         `json:"rtt_median_ms"`
	RTTMaxMS       float64         `json:"rtt_max_ms"`
	ToleranceMS    float64         `json:"tolerance_ms"`
	Published      int             `json:"published"`
	Received       int             `json:"received"`
	StoredLatencyS []float64       `json:"stored_latency_s"`
	LiveLatencyS   []float64       `json:"live_latency_s"`
	Drains         []plots.Point   `json:"drains"`
	Promises       []probe.Promise `json:"promises"`
}

func secondsOf(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// writeProbeOutputs writes probe.json and, as simulate does, the latency
// CDF and the replay drain chart (PNG and SVG) of the measured run, with
// the profile's pacing as the drain chart's reference slope.
func writeProbeOutputs(a probeArgs, sc scenario.Scenario, profile string, res *probe.Result) error {
	m := probeMetrics{
		Command: fmt.Sprintf("sessionlab probe --broker %s --profile %s --scenario %s --devices %d --duration %v --seed %d", a.broker, a.profile, a.scenario, a.devices, a.duration, a.seed),
		Profile: profile, Scale: res.Scale, FaultySeconds: res.Faulty.Seconds(), HealSeconds: res.Heal.Seconds(),
		RTTMedianMS: float64(res.Noise.RTTMedian) / 1e6, RTTMaxMS: float64(res.Noise.RTTMax) / 1e6, ToleranceMS: float64(res.Noise.Tolerance) / 1e6,
		Published: res.Published, Received: res.Received, StoredLatencyS: secondsOf(res.Stored), LiveLatencyS: secondsOf(res.Live), Promises: res.Promises,
	}
	for _, d := range res.Drains {
		m.Drains = append(m.Drains, plots.Point{X: float64(d.Backlog), Y: d.Time.Seconds()})
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.out, "probe.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	in := plots.Input{
		Subtitle: fmt.Sprintf("%s measured at %s, seed %d", sc.Name, a.broker, a.seed),
		Rules:    pacingRules([]string{a.profile}, sc),
		Profiles: []plots.Profile{{Name: "measured", LiveLatency: plots.CDFOf(m.LiveLatencyS), StoredLatency: plots.CDFOf(m.StoredLatencyS), Drain: m.Drains}},
	}
	for _, ch := range []plots.Chart{plots.LatencyChart(in), plots.DrainChart(in)} {
		for _, format := range plots.Formats {
			var buf bytes.Buffer
			if err := ch.Encode(&buf, format); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(a.out, ch.Name+"."+format), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
