package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/properties/history"
)

// writeHistory records events under the tencent profile into a file and
// returns its path.
func writeHistory(t *testing.T, events []broker.Event) string {
	t.Helper()
	pol, err := broker.Profile("tencent")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r := history.NewRecorder(&buf, pol)
	for _, ev := range events {
		r.Step(&broker.Record{At: ev.At, Outputs: []broker.Output{{Kind: broker.OutEvent, Event: ev}}})
	}
	r.Quiesce(10*time.Second, []string{"d"})
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "HISTORY.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	const sec = time.Second
	valid := []broker.Event{
		{Kind: broker.EvConnected, At: 0, ClientID: "d", Conn: 1},
		{Kind: broker.EvSent, At: sec, ClientID: "d", Msg: 1, Topic: "t", QoS: 1, Publisher: "p", PacketID: 1},
		{Kind: broker.EvDelivered, At: 2 * sec, ClientID: "d", Msg: 1, Topic: "t", QoS: 1, Publisher: "p"},
	}
	// Session present on the first connect of a new client: [MQTT-3.2.2-3]
	// requires SP=0 when there was no session.
	phantom := []broker.Event{
		{Kind: broker.EvConnected, At: 0, ClientID: "d", Conn: 1, SessionPresent: true},
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "violation.html")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"linearizable", []string{writeHistory(t, valid)}, exitOK, ": ok:", ""},
		{"violation", []string{writeHistory(t, phantom), "--html", html}, exitFailed, "violation:", "FAILED: 1 safety violation"},
		{"missing file", []string{filepath.Join(dir, "nope.jsonl")}, exitUsage, "", "no such file"},
		{"not a history", []string{writeFile(t, dir, "junk.jsonl", "{junk\n")}, exitUsage, "", "junk.jsonl"},
		{"bad timeout", []string{writeHistory(t, valid), "--timeout", "0s"}, exitUsage, "", "flag -timeout"},
		{"no file", nil, exitUsage, "", "missing the file argument"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(append([]string{"check"}, tt.args...)...)
		if code != tt.wantCode {
			t.Errorf("%s: exit %d, want %d (stdout %q, stderr %q)", tt.name, code, tt.wantCode, stdout, stderr)
		}
		if !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
			t.Errorf("%s: stdout %q, stderr %q; want them to contain %q and %q", tt.name, stdout, stderr, tt.wantStdout, tt.wantStderr)
		}
	}
	if st, err := os.Stat(html); err != nil || st.Size() == 0 {
		t.Errorf("--html %s was not written on a violation (%v)", html, err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSimulateHistoryChecks: simulate --history writes the run's history
// into --out, check passes it and writes the visualisation even though it
// passes.
func TestSimulateHistoryChecks(t *testing.T) {
	out := t.TempDir()
	hist, html := filepath.Join(out, "history.jsonl"), filepath.Join(out, "history.html")
	if code, _, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent",
		"--seed", "4", "--history", hist, "--out", out); code != exitOK {
		t.Fatalf("simulate: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI("check", hist, "--html", html)
	if code != exitOK || !strings.Contains(stdout, "ok:") {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	if st, err := os.Stat(html); err != nil || st.Size() == 0 {
		t.Errorf("no visualisation for a passing history: %v", err)
	}
}

// TestSimulateHistoryOfABigFleet: a fleet over historyMaxDevices records
// one command group's sessions, says which, and the history checks.
func TestSimulateHistoryOfABigFleet(t *testing.T) {
	out := t.TempDir()
	hist := filepath.Join(out, "big.jsonl")
	code, stdout, stderr := runCLI("simulate", "--scenario", "nightly-offline", "--devices", "300", "--duration", "1h",
		"--profile", "tencent", "--seed", "4", "--history", hist, "--out", out)
	if code != exitOK || !strings.Contains(stdout, `recording group "actuator" only`) {
		t.Fatalf("simulate: exit %d\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"client":"sensor-`) || !strings.Contains(string(data), `"client":"actuator-`) {
		t.Errorf("history holds other groups' sessions, or none of the actuators'")
	}
	if code, stdout, _ := runCLI("check", hist); code != exitOK {
		t.Errorf("check: exit %d\n%s", code, stdout)
	}
}
