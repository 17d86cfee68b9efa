package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfileFileEverywhere: profiles --format yaml prints a built-in as a
// file; edited, it runs under simulate and sweep, and simulate's header names
// the file, its base and what it overrides.
func TestProfileFileEverywhere(t *testing.T) {
	code, text, stderr := runCLI("profiles", "--format", "yaml", "--profile", "aws")
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
