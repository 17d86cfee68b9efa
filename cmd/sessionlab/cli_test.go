package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
	"gopkg.in/yaml.v3"
)

// runCLI runs the CLI in-process and returns the exit code and outputs.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for name := range commands {
		for _, form := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			code, stdout, stderr := runCLI(form...)
			if code != exitOK {
				t.Errorf("%v: exit %d, want 0 (stderr %q)", form, code, stderr)
			}
			for _, want := range []string{"usage: sessionlab " + name, "examples:", "flags:", exitCodesHelp} {
				if !strings.Contains(stdout, want) {
					t.Errorf("%v: help lacks %q:\n%s", form, want, stdout)
				}
			}
		}
	}
}

func TestTopLevelUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
	}{
		{nil, exitUsage},
		{[]string{"help"}, exitOK},
		{[]string{"--help"}, exitOK},
		{[]string{"frobnicate"}, exitUsage},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(tt.args...)
		if code != tt.wantCode {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.wantCode)
		}
		for _, name := range []string{"simulate", "plot", "profiles", "scenarios", exitCodesHelp} {
			if !strings.Contains(stdout+stderr, name) {
				t.Errorf("%v: usage does not list %s", tt.args, name)
			}
		}
	}
}

func TestUsageErrorsNameTheFlagAndExit2(t *testing.T) {
	tests := []struct {
		args []string
		want []string // substrings of stderr
	}{
		{[]string{"simulate", "--devices", "many"}, []string{"-devices", "invalid value"}},
		{[]string{"simulate", "--devices", "-1"}, []string{"flag -devices", ">= 0"}},
		{[]string{"simulate", "--duration", "soon"}, []string{"-duration"}},
		{[]string{"simulate", "--duration", "-1h"}, []string{"flag -duration"}},
		{[]string{"simulate", "--seed", "-3"}, []string{"-seed"}},
		{[]string{"simulate", "--out", ""}, []string{"flag -out"}},
		{[]string{"simulate", "--bogus"}, []string{"-bogus", "not defined"}},
		{[]string{"simulate", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"simulate", "--profile", "tencent,azure"}, []string{"flag -profile", `"azure"`, "valid: tencent, aws, hivemq, mosquitto, emqx"}},
		{[]string{"simulate", "--profile", ""}, []string{"flag -profile", "valid:"}},
		{[]string{"simulate", "--scenario", "tuesday"}, []string{"flag -scenario", `"tuesday"`, "steady", "mixed"}},
		{[]string{"simulate", "--scenario", "does/not/exist.yaml"}, []string{"flag -scenario", "exist.yaml"}},
		{[]string{"profiles", "--profile", "azure"}, []string{"flag -profile", "valid:"}},
		{[]string{"profiles", "extra"}, []string{`unknown profile "extra"`}},
		{[]string{"scenarios", "extra"}, []string{"unexpected argument"}},
		{[]string{"plot"}, []string{"missing the file argument"}},
		{[]string{"plot", "a.json", "b.json"}, []string{`unexpected argument "b.json"`}},
		{[]string{"plot", "a.json", "--bogus"}, []string{"-bogus"}},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(tt.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.args, code, exitUsage, stderr)
		}
		for _, want := range tt.want {
			if !strings.Contains(stderr, want) {
				t.Errorf("%q: stderr %q lacks %q", tt.args, stderr, want)
			}
		}
		if !strings.Contains(stderr, "--help") {
			t.Errorf("%q: stderr %q does not point to --help", tt.args, stderr)
		}
	}
}

func TestScenariosListsEveryBuiltin(t *testing.T) {
	code, stdout, _ := runCLI("scenarios")
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if got, want := len(lines), 1+len(scenario.Names()); got != want {
		t.Errorf("%d lines, want a header and one per scenario (%d):\n%s", got, want, stdout)
	}
	for i, name := range scenario.Names() {
		s, _ := scenario.Builtin(name)
		if i+1 < len(lines) && !strings.HasPrefix(lines[i+1], name+" ") || !strings.Contains(stdout, s.Description) {
			t.Errorf("scenario %s is not listed with its description:\n%s", name, stdout)
		}
	}
}

func TestProfilesPrintsEveryPolicyField(t *testing.T) {
	code, stdout, stderr := runCLI("profiles")
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (stderr %q)", code, stderr)
	}
	blocks := strings.Split(stdout, "\n\n")
	if got, want := len(blocks), len(broker.ProfileNames()); got != want {
		t.Fatalf("%d profile blocks, want %d", got, want)
	}
	policy := reflect.TypeFor[broker.Policy]()
	for i, name := range broker.ProfileNames() {
		if !strings.HasPrefix(blocks[i], "profile "+name) {
			t.Errorf("block %d starts %q, want profile %s", i, firstLine(blocks[i]), name)
		}
		for j := range policy.NumField() {
			if f := policy.Field(j).Name; f != "Name" && !strings.Contains(blocks[i], "  "+f+" ") {
				t.Errorf("profile %s does not print field %s", name, f)
			}
		}
	}
}

func TestProfilesPrintsValues(t *testing.T) {
	code, stdout, _ := runCLI("profiles", "--profile", "tencent")
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{"QueueCap", "150", "SessionExpiry", "24h0m0s", "ReplayInterval", "500ms", "SOURCE", "https://www.tencentcloud.com/document/product/1105/41826"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tencent profile lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "profile aws") {
		t.Errorf("--profile tencent printed aws too")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestParseProfiles(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"tencent", []string{"tencent"}, false},
		{"tencent, aws,hivemq", []string{"tencent", "aws", "hivemq"}, false},
		{"aws,aws,tencent", []string{"aws", "tencent"}, false},
		{"Tencent", nil, true},
		{"tencent,", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseProfiles(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseProfiles(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestVersion: --version prints one line naming the program and the Go
// version it was built with, and exits 0.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, stdout, _ := runCLI(arg)
		if code != exitOK || !strings.HasPrefix(stdout, "sessionlab ") || !strings.Contains(stdout, "go1.") ||
			strings.Count(stdout, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q", arg, code, stdout)
		}
	}
}

// TestScenariosShowRoundTrips: "scenarios show NAME" prints every built-in
// as a scenario file that reads back as the same scenario.
func TestScenariosShowRoundTrips(t *testing.T) {
	for _, name := range scenario.Names() {
		code, stdout, stderr := runCLI("scenarios", "show", name)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		got, err := scenario.Parse(name+".yaml", []byte(stdout))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stdout)
		}
		want, _ := scenario.Builtin(name)
		// The same scenario: the same file again (nil and empty lists are
		// the same scenario), and the same devices and times.
		again, _ := yaml.Marshal(got)
		if first, _ := yaml.Marshal(want); string(again) != string(first) || got.String() != want.String() {
			t.Errorf("%s: read back as\n%s\nwant\n%s", name, again, first)
		}
	}
}
