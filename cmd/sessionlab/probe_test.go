package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/tcp"
	"github.com/sessionlab/sessionlab/probe"
)

// serveProfile serves pol on a loopback port for the test's lifetime and
// returns the address.
func serveProfile(t *testing.T, pol broker.Policy) string {
	addr, _ := startBroker(t, tcp.Config{Broker: broker.Config{Policy: pol}})
	return addr
}

// startBroker serves cfg on a loopback port and returns the address and a
// function that stops the server (also called at the test's end).
func startBroker(t *testing.T, cfg tcp.Config) (string, func()) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := tcp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			s.Close()
			if err := <-served; !errors.Is(err, tcp.ErrClosed) {
				t.Errorf("Serve = %v, want ErrClosed", err)
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func builtin(t *testing.T, name string) broker.Policy {
	t.Helper()
	p, err := broker.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// inferFields runs probe --infer against addr and returns the printed
// profile's policy, failing unless it parses.
func inferFields(t *testing.T, addr string) (*probe.Inference, broker.Policy) {
	t.Helper()
	inf, err := probe.Infer(probe.InferOptions{Target: probe.Target{Addr: addr}, Seed: 1, MaxWait: 2 * time.Second, PaceSample: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inferred in %v:\n%s", inf.Took, inf.YAML())
	pf, err := inf.Profile()
	if err != nil {
		t.Fatalf("the inferred profile does not parse: %v", err)
	}
	return inf, pf.Policy
}

// TestProbeInferServe: probe --infer against serve under tencent, aws,
// hivemq and emqx (whose victim is the oldest QoS 0 message first)
// recovers each profile's queue cap, overflow victim, replay pacing and
// in-flight window, and measures each of them (none is left to the base
// profile).
func TestProbeInferServe(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	for _, name := range []string{"tencent", "aws", "hivemq", "emqx"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := builtin(t, name)
			inf, got := inferFields(t, serveProfile(t, want))
			for _, key := range []string{"queue_cap", "overflow", "replay_interval", "replay_rate", "inflight_window", "max_qos", "store_qos0_offline"} {
				if f := inf.Find(key); !f.Known() {
					t.Errorf("%s unknown: %s", key, f.How)
				}
			}
			if got.QueueCap != want.QueueCap || got.Overflow != want.Overflow {
				t.Errorf("queue_cap %d, overflow %v; want %d, %v", got.QueueCap, got.Overflow, want.QueueCap, want.Overflow)
			}
			if got.ReplayInterval != want.ReplayInterval || got.ReplayRate != want.ReplayRate {
				t.Errorf("replay_interval %v, replay_rate %d; want %v, %d", got.ReplayInterval, got.ReplayRate, want.ReplayInterval, want.ReplayRate)
			}
			if got.InflightWindow != want.InflightWindow || got.MaxQoS != want.MaxQoS || got.StoreQoS0Offline != want.StoreQoS0Offline {
				t.Errorf("inflight_window %d, max_qos %d, store_qos0_offline %v; want %d, %d, %v", got.InflightWindow, got.MaxQoS,
					got.StoreQoS0Offline, want.InflightWindow, want.MaxQoS, want.StoreQoS0Offline)
			}
			if want.ReplayInterval > 0 || want.ReplayRate > 0 {
				if got.ReplayBlocksLive != want.ReplayBlocksLive || !inf.Find("replay_blocks_live").Known() {
					t.Errorf("replay_blocks_live %v (%s), want %v", got.ReplayBlocksLive, inf.Find("replay_blocks_live").How, want.ReplayBlocksLive)
				}
			}
			if f := inf.Find("session_expiry"); f.Known() {
				t.Errorf("session_expiry %s established within 2s, want unknown", f.Value)
			}
			for key, want := range map[string]string{"keeps_sessions": "true", "dup_on_redelivery": "true", "will": "on loss only",
				"retained": "kept", "takeover": "closes the old connection", "keepalive": "enforced"} {
				if f := inf.Find(key); f.Value != want && !(key == "keepalive" && f.Value == "late") { // late: a loaded machine
					t.Errorf("%s: %q (%s), want %q", key, f.Value, f.How, want)
				}
			}
		})
	}
}

// TestProbeInferExpiry: a session expiry shorter than --max-wait is
// bounded from above.
func TestProbeInferExpiry(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	pol := builtin(t, "mosquitto")
	pol.SessionExpiry = 1500 * time.Millisecond
	inf, got := inferFields(t, serveProfile(t, pol))
	if got.SessionExpiry != 2*time.Second {
		t.Errorf("session_expiry %v (%s), want 2s: present after 1s, gone after 2s", got.SessionExpiry, inf.Find("session_expiry").How)
	}
}

// probeCLI runs sessionlab probe with args and returns the exit code and outputs.
func probeCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"probe"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestProbeProfiles: the overflow scenario against serve under hivemq
// passes with the hivemq profile; held to tencent's (150 messages, the
// oldest dropped, one per 500 ms) it fails, and the witnesses are the
// packets: a stored message tencent would have evicted, and two stored
// messages less than 500 ms apart. Against serve under tencent, hivemq's
// profile fails on a stored message that never came though later ones
// did.
func TestProbeProfiles(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	hivemq := serveProfile(t, builtin(t, "hivemq"))
	args := func(addr, profile string) []string {
		return []string{"--broker", addr, "--profile", profile, "--duration", "4s", "--devices", "3", "--seed", "5", "--out", t.TempDir()}
	}
	code, out, errOut := probeCLI(t, args(hivemq, "hivemq")...)
	if code != exitOK || strings.Contains(out, "broken") {
		t.Errorf("hivemq against hivemq: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, kept := range []string{"| 1 | session-present |", "| 3 | offline-storage |", "| 7 | order |"} {
		if !strings.Contains(out, kept) || !strings.Contains(out[strings.Index(out, kept):], "| kept |") {
			t.Errorf("want %s kept:\n%s", kept, out)
		}
	}
	code, out, errOut = probeCLI(t, args(hivemq, "tencent")...)
	if code != exitFailed {
		t.Errorf("hivemq against tencent: exit %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	for _, want := range []string{"broken 8 (queue-bound): message", "a queue of 150 dropping the oldest cannot have kept it",
		"broken 11 (pacing): stored messages", "the profile spaces them at least 500ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("hivemq against tencent: want %q in\n%s", want, out)
		}
	}
	if !strings.Contains(out, "-> PUBLISH q1") || !strings.Contains(out, "<- PUBLISH q1") {
		t.Errorf("want the witnessing packets in\n%s", out)
	}
	tencent := serveProfile(t, builtin(t, "tencent"))
	code, out, errOut = probeCLI(t, args(tencent, "hivemq")...)
	if code != exitFailed || !strings.Contains(out, "broken 3 (offline-storage): message") || !strings.Contains(out, "a queue of 1000 dropping the newest keeps it") {
		t.Errorf("tencent against hivemq: exit %d, want %d and a broken 3\n%s\n%s", code, exitFailed, out, errOut)
	}
}

// TestProbeUnusableBroker: nothing listening, and a listener that never
// answers CONNECT, are reported with what was tried, exit 2, within the
// bounded waits.
func TestProbeUnusableBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	code, _, errOut := probeCLI(t, "--broker", closed, "--infer")
	if code != exitUsage || !strings.Contains(errOut, "the broker cannot be used: connecting to "+closed) || !strings.Contains(errOut, "refused") {
		t.Errorf("closed port: exit %d, stderr %q", code, errOut)
	}
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	code, _, errOut = probeCLI(t, "--broker", mute.Addr().String(), "--timeout", "300ms", "--out", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "waiting 300ms for CONNACK") {
		t.Errorf("mute listener: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = probeCLI(t, "--infer")
	if code != exitUsage || !strings.Contains(errOut, "--broker HOST:PORT is required") {
		t.Errorf("no --broker: exit %d, stderr %q", code, errOut)
	}
}

// startMosquitto starts Debian's mosquitto with extra configuration lines
// on a free loopback port, or skips the test when it is not installed.
func startMosquitto(t *testing.T, conf string) string {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mosquitto"); err2 != nil {
			t.Skip("mosquitto not installed (apt-get install -y mosquitto)")
		}
		bin = "/usr/sbin/mosquitto"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	body := "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n" + conf
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v", addr, err)
		}
	}
}

// TestProbeInferMosquitto: Debian's Mosquitto with max_queued_messages 150
// keeps 150 messages for an offline session and drops the newest
// (mosquitto.conf(5)); its replay is not paced and its window is 20.
func TestProbeInferMosquitto(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	addr := startMosquitto(t, "max_queued_messages 150\n")
	inf, got := inferFields(t, addr)
	if f := inf.Find("queue_cap"); !f.Known() || got.QueueCap != 150 {
		t.Errorf("queue_cap %d (%s), want 150", got.QueueCap, f.How)
	}
	if f := inf.Find("overflow"); !f.Known() || got.Overflow != broker.DropNewest {
		t.Errorf("overflow %v (%s), want drop-newest", got.Overflow, f.How)
	}
	if got.ReplayInterval != 0 || got.ReplayRate != 0 || got.InflightWindow != 20 {
		t.Errorf("replay_interval %v, replay_rate %d, inflight_window %d; want 0s, 0, 20", got.ReplayInterval, got.ReplayRate, got.InflightWindow)
	}
}

// TestProbeWillAndVanishingBroker: flaky-cellular's resets are emulated
// (sockets closed without DISCONNECT), so the Will is put to the test and
// kept by serve; a broker that goes away during a run exits 2 with the
// trouble listed.
func TestProbeWillAndVanishingBroker(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	addr := serveProfile(t, builtin(t, "mosquitto"))
	code, out, errOut := probeCLI(t, "--broker", addr, "--profile", "mosquitto", "--scenario", "flaky-cellular", "--devices", "6",
		"--duration", "3s", "--seed", "9", "--out", t.TempDir())
	if code != exitOK || !strings.Contains(out, "| 18 | will | MQTT-3.1.2-8, MQTT-3.14.4-3 | kept |") {
		t.Errorf("flaky-cellular against serve: exit %d, want 0 and the Will kept\n%s\n%s", code, out, errOut)
	}

	vanishing, stop := startBroker(t, tcp.Config{Broker: broker.Config{Policy: builtin(t, "mosquitto")}})
	time.AfterFunc(time.Second, stop)
	code, out, errOut = probeCLI(t, "--broker", vanishing, "--duration", "2s", "--seed", "9", "--out", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "could not be used at the end of the run") || !strings.Contains(out, "trouble: ") {
		t.Errorf("vanishing broker: exit %d, want %d\n%s\n%s", code, exitUsage, out, errOut)
	}
}

// TestProbeCredentials: serve with a password file refuses a wrong
// password (exit 2, the return code and a hint named); with the right one
// every client of a run, the simulator's included, connects as that user.
func TestProbeCredentials(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	passwords, err := auth.LoadPasswords("../../broker/auth/testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	owners := auth.NewOwners(passwords)
	addr, _ := startBroker(t, tcp.Config{Broker: broker.Config{Policy: builtin(t, "mosquitto"), Auth: owners}, Observer: owners.Observe})
	code, _, errOut := probeCLI(t, "--broker", addr, "--username", "alice", "--password", "wrong", "--infer")
	if code != exitUsage || !strings.Contains(errOut, "as user alice") || !strings.Contains(errOut, "check --username and --password") {
		t.Errorf("wrong password: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut := probeCLI(t, "--broker", addr, "--username", "alice", "--password", "secret", "--duration", "1s", "--seed", "4", "--out", t.TempDir())
	if code != exitOK || strings.Contains(out, "trouble") {
		t.Errorf("right password: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestProbeExpiry: serve expiring sessions 1 s after their disconnect,
// held to a profile file that says so, passes with expiry put to the test
// (the overflow scenario's devices are away for about 3 s of a 4 s run);
// held to mosquitto's, which never expires a session, it fails on the
// CONNACK SessionPresent=0 of a resume [MQTT-3.2.2-2].
func TestProbeExpiry(t *testing.T) {
	t.Parallel() // waits on the wall clock, little CPU
	pol := builtin(t, "mosquitto")
	pol.SessionExpiry = time.Second
	addr := serveProfile(t, pol)
	file := filepath.Join(t.TempDir(), "short.yaml")
	if err := os.WriteFile(file, []byte("base: mosquitto\nsession_expiry: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := func(profile string) []string {
		return []string{"--broker", addr, "--profile", profile, "--duration", "4s", "--seed", "6", "--out", t.TempDir()}
	}
	code, out, errOut := probeCLI(t, args(file)...)
	if code != exitOK || !strings.Contains(out, "| 10 | expiry | MQTT-4.1.0-1 | kept |") {
		t.Errorf("against its own profile: exit %d, want 0 and expiry kept\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = probeCLI(t, args("mosquitto")...)
	if code != exitFailed || !strings.Contains(out, "broken 1 (session-present): CONNACK SessionPresent=false, want true") || !strings.Contains(out, "<- CONNACK sp=false") {
		t.Errorf("against mosquitto: exit %d, want %d and a broken 1\n%s\n%s", code, exitFailed, out, errOut)
	}
}
