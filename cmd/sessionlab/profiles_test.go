package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestProfileFileEverywhere: profiles --format yaml prints a built-in as a
// file; edited, it runs under simulate and sweep, and simulate's header names
// the file, its base and what it overrides.
func TestProfileFileEverywhere(t *testing.T) {
	code, text, stderr := runCLI("profiles", "--format", "yaml", "aws")
	if code != exitOK || !strings.HasPrefix(text, "# A sessionlab profile file") || !strings.Contains(text, "\nbase: aws\n") {
		t.Fatalf("profiles --format yaml: exit %d\n%s%s", code, text, stderr)
	}
	text = strings.Replace(text, "queue_cap: 1000", "queue_cap: 7", 1)
	path := filepath.Join(t.TempDir(), "aws-small.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent,"+path,
		"--seed", "3", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("simulate: exit %d\n%s", code, stderr)
	}
	if want := "aws-custom (file " + path + ": base aws; queue_cap: 7)"; !strings.Contains(stdout, want) {
		t.Errorf("simulate's header lacks %q:\n%s", want, stdout)
	}
	if code, _, stderr := runCLI("sweep", "--seeds", "2", "--scenario", "testdata/tiny.yaml", "--profile", path); code != exitOK {
		t.Errorf("sweep with a profile file: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("base: aws\nqueue_cap: many\n"), 0o644)
	code, _, stderr = runCLI("simulate", "--profile", bad)
	if code != exitUsage || !strings.Contains(stderr, "bad.yaml:2: queue_cap: want a whole number") {
		t.Errorf("a bad profile file: exit %d, stderr %q", code, stderr)
	}
}

// TestScenarioFileProfiles: profiles written in a scenario file run by
// default, can be named by --profile next to built-ins, and work in sweep.
func TestScenarioFileProfiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "with-profile.yaml")
	tiny, err := os.ReadFile("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(tiny) + "\nprofiles:\n  - {base: tencent, name: tencent-long, session_expiry: 72h}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("simulate", "--scenario", path, "--seed", "5", "--out", t.TempDir())
	if code != exitOK || !strings.Contains(stdout, "profiles: tencent-long (in the scenario file: base tencent; session_expiry: 72h)") {
		t.Fatalf("default run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("simulate", "--scenario", path, "--profile", "aws,tencent-long", "--seed", "5", "--out", t.TempDir())
	if code != exitOK || !strings.Contains(stdout, "profiles: aws, tencent-long") {
		t.Fatalf("named: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("sweep", "--seeds", "2", "--scenario", path, "--profile", "tencent-long"); code != exitOK {
		t.Errorf("sweep: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI("simulate", "--scenario", "testdata/tiny.yaml", "--profile", "tencent-long"); code != exitUsage ||
		!strings.Contains(stderr, "unknown profile") {
		t.Errorf("a name only another scenario writes: exit %d, %s", code, stderr)
	}
}

// TestAWSWeekProfile: a profile file with base aws and session_expiry 168h
// runs through simulate with no session expired in a day offline, where the
// aws built-in expires them after an hour, and serve runs the same policy.
func TestAWSWeekProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws-week.yaml")
	if err := os.WriteFile(path, []byte("base: aws\nsession_expiry: 168h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runCLI("simulate", "--scenario", "nightly-offline", "--devices", "20", "--duration", "24h",
		"--seed", "2", "--profile", "aws,"+path, "--out", out)
	if code != exitOK {
		t.Fatalf("simulate: exit %d\n%s", code, stderr)
	}
	expired := regexp.MustCompile(`(?m)^sessions expired\s+(\d+)\s+(\d+)$`).FindStringSubmatch(stdout)
	if expired == nil || expired[1] == "0" || expired[2] != "0" {
		t.Errorf("sessions expired (aws, aws-week) = %v, want some under aws and none under aws-week:\n%s", expired, stdout)
	}
	o, code, ok := parseServe([]string{"--profile", path}, io.Discard, io.Discard)
	if !ok || code != exitOK {
		t.Fatalf("serve --profile %s: exit %d", path, code)
	}
	if pol := o.server.Broker.Policy; pol.Name != "aws-week" || pol.SessionExpiry != 168*time.Hour || pol.ReplayRate != 10 {
		t.Errorf("serve runs %v, want aws with a week of session expiry", pol)
	}
}
