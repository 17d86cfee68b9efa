package packet_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/broker/packet"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		// Examples of MQTT 3.1.1 section 4.7.1.2 (multi-level wildcard).
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"#", "sport/tennis", true},
		{"#", "/", true},
		{"sport/tennis/#", "sport/tennisplayer1", false},
		// Examples of section 4.7.1.3 (single-level wildcard).
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player2", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"+/tennis/#", "sport/tennis/player1", true},
		{"+/tennis/#", "sport/tennis", true},
		{"a/+/#", "a/b", true},
		{"a/+/#", "a", false},
		// Exact levels; topics are case sensitive (section 4.7.3).
		{"a/b", "a/b", true},
		{"a/b", "a/b/", false},
		{"a/b/", "a/b", false},
		{"ACCOUNTS", "Accounts", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
		{"a", "ab", false},
		{"ab", "a", false},
		// '$' topics and leading wildcards [MQTT-4.7.2-1] (section 4.7.2).
		{"#", "$SYS/broker/uptime", false},
		{"+/monitor/Clients", "$SYS/monitor/Clients", false},
		{"$SYS/#", "$SYS/monitor/Clients", true},
		{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
		{"+", "$", false},
		{"a/#", "a/$b", true},
		{"a/+", "a/$b", true},
	}
	for _, tt := range tests {
		if got := packet.Match(tt.filter, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	got := testing.AllocsPerRun(100, func() { packet.Match("a/+/c/#", "a/b/c/d/e") })
	if got != 0 {
		t.Errorf("Match allocates %v times per call, want 0", got)
	}
}

func TestValidTopicName(t *testing.T) {
	tests := []struct {
		name   string
		topic  string
		spec   string // "" means valid
		offset int
	}{
		{"plain", "a/b", "", 0},
		{"single char", "a", "", 0},
		{"only separator", "/", "", 0},
		{"dollar", "$SYS/x", "", 0},
		{"space", "a b", "", 0},
		{"unicode", "température/€", "", 0},
		{"empty", "", "MQTT-4.7.3-1", 0},
		{"plus", "a/+", "MQTT-3.3.2-2", 2},
		{"hash", "a/#", "MQTT-3.3.2-2", 2},
		{"plus inside level", "a+b", "MQTT-3.3.2-2", 1},
		{"nul", "a\x00", "MQTT-1.5.3-2", 1},
		{"bad utf8", "ab\xff", "MQTT-1.5.3-1", 2},
		{"surrogate", "a\xed\xa0\x80", "MQTT-1.5.3-1", 1},
		{"too long", strings.Repeat("a", 65536), "MQTT-4.7.3-3", 65535},
		{"max length", strings.Repeat("a", 65535), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTopicErr(t, packet.ValidTopicName(tt.topic), tt.spec, tt.offset)
		})
	}
}

func TestValidTopicFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		spec   string // "" means valid
		offset int
	}{
		{"plain", "a/b", "", 0},
		{"hash alone", "#", "", 0},
		{"plus alone", "+", "", 0},
		{"trailing hash", "sport/tennis/#", "", 0},
		{"plus levels", "+/+/+", "", 0},
		{"plus then hash", "+/#", "", 0},
		{"leading separator", "/+", "", 0},
		{"empty levels", "//", "", 0},
		{"empty", "", "MQTT-4.7.3-1", 0},
		{"hash not last", "sport/tennis/#/ranking", "MQTT-4.7.1-2", 13},
		{"hash inside level", "sport/tennis#", "MQTT-4.7.1-2", 12},
		{"hash before level", "#a", "MQTT-4.7.1-2", 0},
		{"double hash", "##", "MQTT-4.7.1-2", 0},
		{"plus inside level", "sport+", "MQTT-4.7.1-3", 5},
		{"plus before text", "+a/b", "MQTT-4.7.1-3", 0},
		{"double plus", "a/++", "MQTT-4.7.1-3", 2},
		{"nul", "a/\x00", "MQTT-1.5.3-2", 2},
		{"bad utf8", "\xc0\xaf", "MQTT-1.5.3-1", 0},
		{"too long", strings.Repeat("+/", 32768), "MQTT-4.7.3-3", 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTopicErr(t, packet.ValidTopicFilter(tt.filter), tt.spec, tt.offset)
		})
	}
}

func checkTopicErr(t *testing.T, err error, spec string, offset int) {
	t.Helper()
	if spec == "" {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	var e *packet.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want a *packet.Error citing %s", err, spec)
	}
	if !errors.Is(err, packet.ErrMalformed) {
		t.Errorf("got kind %v, want ErrMalformed", e.Kind)
	}
	if e.SpecID != spec || e.Offset != offset {
		t.Errorf("got spec %s at %d, want %s at %d (%v)", e.SpecID, e.Offset, spec, offset, err)
	}
}

func TestTopicErrorString(t *testing.T) {
	got := packet.ValidTopicFilter("a/b#").Error()
	want := "topic filter at byte 3: '#' is not alone in the last level of the filter [MQTT-4.7.1-2]: malformed packet"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
