package scenario

import (
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/netsim"
)

func TestBuiltinsAreValid(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
			if s.Description == "" {
				t.Errorf("no description")
			}
		})
	}
}

func TestBuiltinUnknownListsNames(t *testing.T) {
	_, err := Builtin("nope")
	if err == nil || !strings.Contains(err.Error(), "nightly-offline") {
		t.Errorf("Builtin(nope) error = %v, want one listing the built-ins", err)
	}
}

func TestBuiltinReturnsACopy(t *testing.T) {
	a, _ := Builtin("nightly-offline")
	a.Groups[0].Count = 1
	a.Groups[0].Offline.For = time.Second
	b, _ := Builtin("nightly-offline")
	if b.Groups[0].Count == 1 || b.Groups[0].Offline.For == time.Second {
		t.Errorf("changing a returned scenario changed the built-in")
	}
}

func TestScaled(t *testing.T) {
	s, _ := Builtin("steady") // 600 sensors, 390 actuators, 1 backend
	tests := []struct {
		devices int
		want    []int
	}{
		{0, []int{600, 390, 1}},
		{99, []int{60, 39, 1}},
		{50, []int{30, 20, 1}},
		{10000, []int{6061, 3939, 1}},
		{1, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		got := s.Scaled(tt.devices)
		for i, g := range got.Groups {
			if g.Count != tt.want[i] {
				t.Errorf("Scaled(%d) group %s count = %d, want %d", tt.devices, g.Name, g.Count, tt.want[i])
			}
		}
	}
	if s.Groups[0].Count != 600 {
		t.Errorf("Scaled changed its receiver")
	}
}

const valid = `name: test
description: a file scenario
duration: 2h
heal: 10m
groups:
  - name: sensor
    kind: telemetry
    count: 10
    keepalive: 60s
    clean: true
    qos: 1
    publish_every: 1m
  - name: actuator
    kind: command
    count: 5
    keepalive: 300s
    qos: 1
    offline: {start: 1h, for: 30m}
network:
  latency: {base: 50ms, jitter: 10ms}
  faults: {resets_per_hour: 0.5}
events:
  - {kind: outage, at: 30m, for: 5m}
`

func TestParseValid(t *testing.T) {
	s, err := Parse("t.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Devices(), 15; got != want {
		t.Errorf("Devices() = %d, want %d", got, want)
	}
	if got, want := s.Groups[1].Offline.For, 30*time.Minute; got != want {
		t.Errorf("offline.for = %v, want %v", got, want)
	}
	if got, want := s.Network.Latency.Base, 50*time.Millisecond; got != want {
		t.Errorf("latency.base = %v, want %v", got, want)
	}
}

func TestParseStatus(t *testing.T) {
	src := strings.Replace(valid, "qos: 1\n    offline", "qos: 1\n    status: true\n    offline", 1)
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Groups[0].Status || !s.Groups[1].Status {
		t.Errorf("status = %v, %v; want false, true", s.Groups[0].Status, s.Groups[1].Status)
	}
	js := `{"name": "j", "duration": "1h", "groups": [{"name": "b", "kind": "backend", "count": 1, "publish_every": "1m", "status": true}]}`
	if s, err = Parse("t.json", []byte(js)); err != nil || !s.Groups[0].Status {
		t.Errorf("Parse(json) = %v, %v; want status on the backend", s, err)
	}
	_, err = Parse("t.json", []byte(strings.Replace(js, `"status": true`, `"status": "maybe"`, 1)))
	if err == nil || !strings.HasPrefix(err.Error(), "t.json:1: groups[0].status: cannot unmarshal") {
		t.Errorf("Parse(json, status maybe) error = %v, want one naming t.json:1 and groups[0].status", err)
	}
}

func TestParseJSON(t *testing.T) {
	js := `{"name": "j", "duration": "1h", "groups": [{"name": "s", "kind": "telemetry", "count": 2, "qos": 0, "publish_every": "1m"}]}`
	s, err := Parse("t.json", []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != time.Hour || s.Groups[0].Count != 2 {
		t.Errorf("Parse(json) = %v", s)
	}
}

func TestParseErrorsNameLineAndField(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string // old, new in valid
		want    string
	}{
		{"count zero", [2]string{"count: 10", "count: 0"}, "t.yaml:8: groups[0].count: must be > 0"},
		{"unknown field", [2]string{"clean: true", "cleen: true"}, "t.yaml:10: groups[0].cleen: unknown field; did you mean clean?"},
		{"wrong type", [2]string{"count: 5", "count: five"}, "t.yaml:15: groups[1].count: cannot unmarshal"},
		{"status not a bool", [2]string{"qos: 1\n    offline", "qos: 1\n    status: maybe\n    offline"}, "t.yaml:18: groups[1].status: cannot unmarshal !!str `maybe` into bool"},
		{"status in a flow mapping", [2]string{"kind: outage, at", "kind: outage, status: 1, at"}, "t.yaml:23: events[0].status: unknown field"},
		{"a list for a number", [2]string{"count: 5", "count: [5]"}, "t.yaml:15: groups[1].count: cannot unmarshal !!seq"},
		{"bad qos", [2]string{"qos: 1\n    offline", "qos: 3\n    offline"}, "t.yaml:17: groups[1].qos: must be 0, 1 or 2"},
		{"nested offline", [2]string{"for: 30m}", "for: 0s}"}, "t.yaml:18: groups[1].offline.for: must be > 0"},
		{"netsim knob", [2]string{"resets_per_hour: 0.5", "resets_per_hour: -1"}, "t.yaml:21: network.faults.resets_per_hour: must be a finite rate >= 0"},
		{"latency", [2]string{"jitter: 10ms", "jitter: -10ms"}, "t.yaml:20: network.latency.jitter: must be >= 0"},
		{"event", [2]string{"kind: outage", "kind: meteor"}, `t.yaml:23: events[0].kind: must be outage, partition or crash, not "meteor"`},
		{"missing field points at parent", [2]string{"duration: 2h\n", ""}, "t.yaml:1: duration: must be > 0"},
		{"syntax", [2]string{"groups:", "groups: ["}, "t.yaml:"},
		{"publish window on a command group", [2]string{"qos: 1\n    offline", "qos: 1\n    publish_window: {start: 1h, for: 5m}\n    offline"}, "t.yaml:18: groups[1].publish_window: a command group publishes nothing"},
		{"publish window for", [2]string{"publish_every: 1m\n", "publish_every: 1m\n    publish_window: {start: 1h, for: 0s}\n"}, "t.yaml:13: groups[0].publish_window.for: must be > 0"},
		{"publish window every", [2]string{"publish_every: 1m\n", "publish_every: 1m\n    publish_window: {start: 1h, every: 5m, for: 5m}\n"}, "t.yaml:13: groups[0].publish_window.every: must be 0 (once) or longer than for"},
		{"publish window start", [2]string{"publish_every: 1m\n", "publish_every: 1m\n    publish_window:\n      start: -1h\n      for: 5m\n"}, "t.yaml:14: groups[0].publish_window.start: must be >= 0"},
		{"keepalive fraction", [2]string{"keepalive: 60s", "keepalive: 1500ms"}, "t.yaml:9: groups[0].keepalive: must be whole seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(valid, tt.replace[0], tt.replace[1], 1)
			if src == valid {
				t.Fatalf("replacement %q not found", tt.replace[0])
			}
			_, err := Parse("t.yaml", []byte(src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestLoadExampleFile(t *testing.T) {
	s, err := Load("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Devices(), 322; got != want {
		t.Errorf("Devices() = %d, want %d", got, want)
	}
	if !s.Network.Swarm || s.Groups[2].Faults == nil || s.Groups[2].Faults.ResetsPerHour != 3 {
		t.Errorf("network/faults not decoded: %+v, %+v", s.Network, s.Groups[2].Faults)
	}
	if !s.Groups[1].Status || !s.Groups[3].Status || s.Groups[0].Status {
		t.Errorf("status = %v %v %v, want the valves and the backend", s.Groups[0].Status, s.Groups[1].Status, s.Groups[3].Status)
	}
	if got := s.Groups[3].LinkLatency(s.Network); got != DataCentre {
		t.Errorf("backend latency = %v, want the data-centre default", got)
	}
	if w := s.Groups[4].PublishWindow; w == nil || *w != (Window{Start: 2 * time.Hour, Every: 6 * time.Hour, For: 30 * time.Minute}) || s.Groups[3].PublishWindow != nil {
		t.Errorf("publish_window = %+v, %+v; want the maintenance backend's only", w, s.Groups[3].PublishWindow)
	}
	if _, err := Load("testdata/missing.yaml"); err == nil {
		t.Errorf("Load of a missing file succeeded")
	}
}

func TestWindowAfter(t *testing.T) {
	const m = time.Minute
	once := &Window{Start: 10 * m, For: 5 * m}
	daily := &Window{Start: 10 * m, Every: 60 * m, For: 5 * m}
	huge := &Window{Start: 1, Every: math.MaxInt64 / 2, For: 1}
	tests := []struct {
		w         *Window
		from, gap time.Duration
		want      time.Duration
		ok        bool
	}{
		{nil, 7 * m, 3 * m, 10 * m, true},
		{once, 0, 2 * m, 12 * m, true},         // before the window: counts from its start
		{once, 11 * m, 3 * m, 14 * m, true},    // inside
		{once, 11 * m, 4 * m, 0, false},        // ends exactly at the close: no more windows
		{once, 15 * m, 0, 0, false},            // after the window
		{daily, 11 * m, 4 * m, 70 * m, true},   // the close is the next window's start
		{daily, 11 * m, 5 * m, 71 * m, true},   // runs over into the next window
		{daily, 11 * m, 16 * m, 192 * m, true}, // and over two whole ones
		{daily, 20 * m, 1 * m, 71 * m, true},   // between windows
		{daily, 130 * m, 2 * m, 132 * m, true}, // in a later window
		{daily, 135 * m, 0, 190 * m, true},     // at a later window's close
		{huge, 0, 5, 0, false},                 // past the range of time.Duration
		{&Window{Start: math.MaxInt64 - 1, Every: 3, For: 2}, 0, 5, 0, false},
	}
	for _, tt := range tests {
		got, ok := tt.w.After(tt.from, tt.gap)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%+v.After(%v, %v) = %v, %v; want %v, %v", tt.w, tt.from, tt.gap, got, ok, tt.want, tt.ok)
		}
	}
}

// TestExampleFileShowsEveryField: the example scenario file, which the
// README and the unknown-field error point users at, names every field a
// scenario file can have (as a key, or in a comment).
func TestExampleFileShowsEveryField(t *testing.T) {
	example, err := os.ReadFile("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{Scenario{}, Group{}, Offline{}, Window{}, Network{}, Event{}, netsim.Latency{}, netsim.Knobs{}} {
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			key, _, _ := strings.Cut(ty.Field(i).Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			if !regexp.MustCompile(`\b` + key + `:`).Match(example) {
				t.Errorf("testdata/fleet.yaml does not show %s.%s (%s:)", ty.Name(), ty.Field(i).Name, key)
			}
		}
	}
}
