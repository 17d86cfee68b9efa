package broker

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProfilesValidate(t *testing.T) {
	for _, name := range ProfileNames() {
		p, err := Profile(name)
		if err != nil {
			t.Fatalf("Profile(%q): %v", name, err)
		}
		if p.Name != name {
			t.Errorf("Profile(%q).Name = %q", name, p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Profile(%q).Validate() = %v, want nil", name, err)
		}
		if !p.Promises.Has(InvConservation) || !p.Promises.Has(InvDeterminism) {
			t.Errorf("%s does not promise conservation and determinism", name)
		}
	}
}

func TestProfileUnknownListsNames(t *testing.T) {
	_, err := Profile("rabbitmq")
	if err == nil {
		t.Fatal("Profile(rabbitmq) = nil error")
	}
	for _, name := range ProfileNames() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %q", err, name)
		}
	}
}

func TestProfileNamesIsACopy(t *testing.T) {
	names := ProfileNames()
	names[0] = "changed"
	if got := ProfileNames()[0]; got != "tencent" {
		t.Errorf("ProfileNames()[0] = %q after mutating a previous result", got)
	}
}

// TestProfileTable checks each profile against the policy table its sources give (docs/sources.md).
func TestProfileTable(t *testing.T) {
	tests := []struct {
		name       string
		maxQoS     int
		qos0       bool
		queueCap   int
		overflow   Overflow
		ttl        time.Duration
		expiry     time.Duration
		interval   time.Duration
		rate       int
		blocksLive bool
		window     int
		order      bool
	}{
		{"tencent", 1, false, 150, DropOldest, 24 * time.Hour, 24 * time.Hour, 500 * time.Millisecond, 0, true, 10, true},
		{"aws", 1, false, 1000, DropNewest, 0, time.Hour, 0, 10, false, 100, false},
		{"hivemq", 2, false, 1000, DropNewest, 0, 0, 0, 0, true, 10, true},
		{"mosquitto", 2, false, 1000, DropNewest, 0, 0, 0, 0, true, 20, true},
		{"emqx", 2, true, 1000, DropOldestQoS0First, 0, 2 * time.Hour, 0, 0, true, 32, true},
	}
	for _, tt := range tests {
		p, _ := Profile(tt.name)
		got := []any{int(p.MaxQoS), p.StoreQoS0Offline, p.QueueCap, p.Overflow, p.MessageTTL, p.SessionExpiry,
			p.ReplayInterval, p.ReplayRate, p.ReplayBlocksLive, p.InflightWindow, p.Promises.Has(InvOrder)}
		want := []any{tt.maxQoS, tt.qos0, tt.queueCap, tt.overflow, tt.ttl, tt.expiry,
			tt.interval, tt.rate, tt.blocksLive, tt.window, tt.order}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, want)
		}
	}
}

func TestValidateNamesField(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*Policy)
	}{
		{"MaxQoS", func(p *Policy) { p.MaxQoS = 0 }},
		{"MaxQoS", func(p *Policy) { p.MaxQoS = 3 }},
		{"QoS2", func(p *Policy) { p.QoS2 = 7 }},
		{"QueueCap", func(p *Policy) { p.QueueCap = -1 }},
		{"Overflow", func(p *Policy) { p.Overflow = -1 }},
		{"MessageTTL", func(p *Policy) { p.MessageTTL = -time.Second }},
		{"SessionExpiry", func(p *Policy) { p.SessionExpiry = -1 }},
		{"ExpirySweep", func(p *Policy) { p.ExpirySweep = -1 }},
		{"ReplayInterval", func(p *Policy) { p.ReplayInterval = -1 }},
		{"RetryInterval", func(p *Policy) { p.RetryInterval = -1 }},
		{"RetryFor", func(p *Policy) { p.RetryFor = -1 }},
		{"ReplayRate", func(p *Policy) { p.ReplayRate = -1 }},
		{"InflightWindow", func(p *Policy) { p.InflightWindow = 70000 }},
		{"MaxPacketSize", func(p *Policy) { p.MaxPacketSize = -1 }},
		{"Promises", func(p *Policy) { p.Promises = 1 }},
		{"ReplayBlocksLive", func(p *Policy) { p.ReplayBlocksLive = false }},
	}
	for _, tt := range tests {
		p, _ := Profile("emqx")
		tt.edit(&p)
		err := p.Validate()
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Field != tt.field {
			t.Errorf("Validate() = %v, want a PolicyError for %s", err, tt.field)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("error %q does not name %s", err, tt.field)
		}
		if _, err := New(Config{Policy: p}); err == nil {
			t.Errorf("New accepted a policy with a bad %s", tt.field)
		}
	}
}

func TestInvariantsSet(t *testing.T) {
	s := Invariants(0).With(InvOrder, InvTTL)
	if !s.Has(InvOrder) || !s.Has(InvTTL) || s.Has(InvWill) {
		t.Errorf("With: %b", s)
	}
	if s = s.Without(InvOrder); s.Has(InvOrder) || !s.Has(InvTTL) {
		t.Errorf("Without: %b", s)
	}
	for i := InvSessionPresent; i <= InvWill; i++ {
		if !AllInvariants.Has(i) {
			t.Errorf("AllInvariants lacks %d", i)
		}
	}
}

func TestProfileSourcesCiteEveryField(t *testing.T) {
	var fields []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Policy{})) {
		fields = append(fields, f.Name)
	}
	if !slices.Equal(policyFields, fields) {
		t.Fatalf("policyFields = %v, want the Policy fields %v", policyFields, fields)
	}
	for _, name := range ProfileNames() {
		srcs, err := ProfileSources(name)
		if err != nil {
			t.Fatal(err)
		}
		_, cited := profiles[name]()
		if len(cited) != len(fields) {
			t.Errorf("%s cites %d fields, want %d", name, len(cited), len(fields))
		}
		for i, s := range srcs {
			if s.Field != fields[i] || s.Source == "not cited" || s.Value == "?" {
				t.Errorf("%s: %v", name, s)
			}
		}
	}
	if _, err := ProfileSources("nope"); err == nil {
		t.Error("ProfileSources(nope) = nil error")
	}
	srcs, _ := ProfileSources("tencent")
	if got, want := srcs[4].String(), `QueueCap=150 (`+seedTencent+`: "Up to 150 messages can be stored"; also applied to an online backlog: our choice, vendor silent)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	aws, _ := ProfileSources("aws")
	if got := aws[16].Value; got != "1,2,3,4,5,6,8,9,10,11,12,13,14,15,16,17,18" {
		t.Errorf("aws Promises = %s", got)
	}
}

// TestSourcesAreDocumented: every page a profile cites is listed in
// docs/sources.md, and no citation points at a file outside the repository.
func TestSourcesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/sources.md")
	if err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`https://[^\s"` + "`" + `)]*[^\s"` + "`" + `):.,;]`) // a trailing colon or stop is prose
	for _, name := range ProfileNames() {
		srcs, err := ProfileSources(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range srcs {
			if strings.Contains(s.Source, "seeds/") || strings.Contains(s.Source, "DESIGN.md") {
				t.Errorf("%s %s cites a file a user does not have: %s", name, s.Field, s.Source)
			}
			for _, u := range url.FindAllString(s.Source, -1) {
				if !strings.Contains(string(doc), u) {
					t.Errorf("%s %s cites %s, which docs/sources.md does not list", name, s.Field, u)
				}
			}
		}
	}
}
