package tcp

import (
	"bytes"
	"strings"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/auth"
	"github.com/sessionlab/sessionlab/broker/packet"
)

const accessACL = `user alice
topic readwrite home/alice/#
topic read public/#
user bob
topic readwrite home/bob/#
topic write public/#
`

// startAccessServer serves with the password file written by mosquitto_passwd
// (alice/secret, bob/hunter2), accessACL and session ownership.
func startAccessServer(t *testing.T) (string, *recorder, *auth.Passwords) {
	t.Helper()
	passwords, err := auth.LoadPasswords("../auth/testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	acl, err := auth.ParseACL(strings.NewReader(accessACL))
	if err != nil {
		t.Fatal(err)
	}
	owners := auth.NewOwners(passwords)
	policy, err := broker.Profile("mosquitto")
	if err != nil {
		t.Fatal(err)
	}
	_, addr, rec := startServer(t, Config{
		Broker:   broker.Config{Policy: policy, Auth: owners, Authorize: acl},
		Observer: owners.Observe,
	})
	return addr, rec, passwords
}

// as returns a CONNECT with credentials.
func as(clientID, user, password string, clean bool) *packet.Connect {
	return &packet.Connect{ClientID: clientID, CleanSession: clean, KeepAlive: 60,
		UsernameFlag: true, Username: user, PasswordFlag: true, Password: []byte(password)}
}

// TestPasswords answers CONNECTs from the password file: 0x04 for a wrong
// password or unknown user, 0x05 without credentials [MQTT-3.2.2-5].
func TestPasswords(t *testing.T) {
	addr, _, passwords := startAccessServer(t)
	old := as("c5", "alice", "hunter2", true)
	old.ProtocolName, old.ProtocolLevel = "MQIsdp", 3
	tests := []struct {
		name    string
		connect *packet.Connect
		want    packet.ReturnCode
	}{
		{"right password", as("c1", "alice", "secret", true), packet.Accepted},
		{"wrong password", as("c2", "alice", "hunter2", true), packet.RefusedBadUsernamePassword},
		{"unknown user", as("c3", "eve", "secret", true), packet.RefusedBadUsernamePassword},
		{"anonymous", &packet.Connect{ClientID: "c4", CleanSession: true}, packet.RefusedNotAuthorized},
		{"MQTT 3.1, wrong password", old, packet.RefusedBadUsernamePassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.connect(tt.connect, tt.want)
			if tt.want != packet.Accepted {
				c.expectClosed() // [MQTT-3.2.2-5]
			}
		})
	}
	opts, msgs, lost := pahoOptions(addr, "paho", true)
	opts.SetUsername("bob").SetPassword("wrong")
	tok := mqtt.NewClient(opts).Connect()
	tok.WaitTimeout(waitFor)
	if got := tok.(*mqtt.ConnectToken).ReturnCode(); got != byte(packet.RefusedBadUsernamePassword) {
		t.Errorf("Paho with a wrong password: return code %#x (%v), want 0x04", got, tok.Error())
	}
	opts.SetPassword("hunter2")
	dialPaho(t, opts, msgs, lost)
	if n := passwords.Pending(); n != 0 {
		t.Errorf("%d password verdicts prepared by readers were never used or forgotten", n)
	}
}

// TestACL refuses a denied SUBSCRIBE filter with 0x80 in its SUBACK slot
// [MQTT-3.9.3-2] and drops a denied PUBLISH with an event, still
// acknowledging it.
func TestACL(t *testing.T) {
	addr, rec, _ := startAccessServer(t)
	alice := dialRaw(t, addr)
	alice.connect(as("alice-1", "alice", "secret", true), packet.Accepted)
	alice.send(&packet.Subscribe{PacketID: 7, Subscriptions: []packet.Subscription{
		{Filter: "home/alice/+", QoS: 1}, {Filter: "home/bob/#", QoS: 1}, {Filter: "public/#", QoS: 1}}})
	ack, ok := alice.recv().(*packet.Suback)
	if want := []byte{1, packet.SubackFailure, 1}; !ok || !bytes.Equal(ack.ReturnCodes, want) {
		t.Fatalf("SUBACK = %v, want return codes %v", ack, want)
	}

	bob := dialRaw(t, addr)
	bob.connect(as("bob-1", "bob", "hunter2", true), packet.Accepted)
	bob.send(&packet.Publish{QoS: 1, PacketID: 1, Topic: "home/alice/door", Payload: []byte("open")})
	if p, ok := bob.recv().(*packet.Puback); !ok || p.PacketID != 1 {
		t.Errorf("denied PUBLISH answered with %v, want PUBACK id=1", p)
	}
	ev, _ := rec.wait(t, 0, "EvDropped(not authorised)", func(ev broker.Event) bool {
		return ev.Kind == broker.EvDropped && ev.Reason == broker.ReasonNotAuthorized
	})
	if ev.Topic != "" && ev.Topic != "home/alice/door" {
		t.Errorf("drop event topic = %q, want home/alice/door", ev.Topic)
	}
	bob.send(&packet.Publish{QoS: 1, PacketID: 2, Topic: "public/news", Payload: []byte("hello")})
	bob.recv()
	if p, ok := alice.recv().(*packet.Publish); !ok || p.Topic != "public/news" {
		t.Errorf("alice got %v, want only the allowed public/news (not home/alice/door)", p)
	}
}

// TestSessionOwnership: with passwords on, only the user that created a
// session may resume, clean or take it over.
func TestSessionOwnership(t *testing.T) {
	addr, _, _ := startAccessServer(t)
	alice := dialRaw(t, addr)
	alice.connect(as("dev-a", "alice", "secret", false), packet.Accepted)
	alice.send(&packet.Disconnect{})
	alice.expectClosed()
	tests := []struct {
		name           string
		connect        *packet.Connect
		want           packet.ReturnCode
		sessionPresent bool
	}{
		{"other user resumes", as("dev-a", "bob", "hunter2", false), packet.RefusedNotAuthorized, false},
		{"other user cleans", as("dev-a", "bob", "hunter2", true), packet.RefusedNotAuthorized, false},
		{"owner resumes", as("dev-a", "alice", "secret", false), packet.Accepted, true},
		{"other user takes over", as("dev-a", "bob", "hunter2", false), packet.RefusedNotAuthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if ack := c.connect(tt.connect, tt.want); ack.SessionPresent != tt.sessionPresent {
				t.Errorf("SessionPresent = %v, want %v", ack.SessionPresent, tt.sessionPresent)
			}
		})
	}
}
