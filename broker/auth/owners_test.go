package auth

import (
	"testing"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestOwners drives Owners through the sequence of calls a core makes: an
// Authenticate, then the events of that CONNECT.
func TestOwners(t *testing.T) {
	p, err := LoadPasswords("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	o := NewOwners(p)
	alice := login("alice", []byte("secret"))
	bob := login("bob", []byte("hunter2"))
	steps := []struct {
		name     string
		connect  *packet.Connect
		events   []broker.EventKind // events the core reports for this CONNECT
		wantCode packet.ReturnCode
	}{
		{"alice creates dev", alice, []broker.EventKind{broker.EvSessionCreated, broker.EvConnected}, packet.Accepted},
		{"bob cannot take over dev", bob, nil, packet.RefusedNotAuthorized},
		{"bad password still 0x04", login("bob", []byte("x")), nil, packet.RefusedBadUsernamePassword},
		{"alice resumes dev", alice, []broker.EventKind{broker.EvSessionResumed, broker.EvConnected}, packet.Accepted},
		{"alice cleans dev", alice, []broker.EventKind{broker.EvSessionCreated, broker.EvSessionDiscarded, broker.EvConnected, broker.EvSessionDiscarded}, packet.Accepted},
		{"bob may use dev once discarded", bob, []broker.EventKind{broker.EvSessionCreated, broker.EvConnected}, packet.Accepted},
		{"now alice may not", alice, nil, packet.RefusedNotAuthorized},
	}
	for _, s := range steps {
		code, _ := o.Authenticate(s.connect)
		if code != s.wantCode {
			t.Fatalf("%s: Authenticate = %#x, want %#x", s.name, code, s.wantCode)
		}
		for _, kind := range s.events {
			o.Observe(eventRecord(broker.Event{Kind: kind, ClientID: "dev"}))
		}
	}
	if got, ok := o.Owner("dev"); got != "bob" || !ok {
		t.Errorf("Owner(dev) = %q %v, want bob true", got, ok)
	}
	o.Observe(eventRecord(broker.Event{Kind: broker.EvSessionExpired, ClientID: "dev"}))
	if _, ok := o.Owner("dev"); ok {
		t.Error("session still bound after EvSessionExpired")
	}
}

func TestAnyone(t *testing.T) {
	if code, user := (Anyone{}).Authenticate(login("claimed", nil)); code != packet.Accepted || user != "claimed" {
		t.Errorf("Anyone = %#x %q, want accepted as claimed", code, user)
	}
	if code, user := (Anyone{}).Authenticate(&packet.Connect{}); code != packet.Accepted || user != "" {
		t.Errorf("Anyone without user name = %#x %q, want accepted as \"\"", code, user)
	}
}

// eventRecord wraps ev as the record of a step that output only it.
func eventRecord(ev broker.Event) *broker.Record {
	return &broker.Record{Outputs: []broker.Output{{Kind: broker.OutEvent, Event: ev}}}
}
