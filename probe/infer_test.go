package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// TestInferenceYAML: the printed profile parses (as --profile FILE reads
// it); established fields are set, unknown ones are comments naming the
// reason and keep the base's value, the base is the built-in that agrees
// with most findings, and a replay that live traffic overtakes drops the
// order promise, which the policy could not keep.
func TestInferenceYAML(t *testing.T) {
	inf := &Inference{Addr: "broker:1883", Seed: 7, Took: 3 * time.Second}
	inf.set("max_qos", "1", "granted 1")
	inf.set("queue_cap", "1000", "counted")
	inf.set("overflow", "drop-newest", "the newest were dropped")
	inf.set("replay_rate", "10", "gaps of 100ms")
	inf.set("replay_interval", "0s", "written as a rate")
	inf.set("replay_blocks_live", "false", "overtaken")
	inf.unknown("session_expiry", "still present after 10s")
	inf.set("will", "on loss only", "observed")
	text := inf.YAML()
	for _, want := range []string{"base: aws\n", "queue_cap: 1000 # counted\n", "# session_expiry: unknown: still present after 10s\n",
		"#   will: on loss only: observed\n", "#   retained: unknown: not measured by probe --infer\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in\n%s", want, text)
		}
	}
	pf, err := inf.Profile()
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	aws, _ := broker.Profile("aws")
	got := pf.Policy
	if got.QueueCap != 1000 || got.Overflow != broker.DropNewest || got.ReplayRate != 10 || got.ReplayInterval != 0 || got.ReplayBlocksLive {
		t.Errorf("policy %+v", got)
	}
	if got.SessionExpiry != aws.SessionExpiry {
		t.Errorf("unknown session_expiry = %v, want the base's %v", got.SessionExpiry, aws.SessionExpiry)
	}

	// On a base that promises order, a replay overtaken by live traffic
	// writes the promises without 7, or the file would not validate.
	inf = &Inference{}
	inf.set("replay_interval", "500ms", "gaps of 500ms")
	inf.set("replay_rate", "0", "written as an interval")
	inf.set("queue_cap", "150", "first stored #1851 of 2000")
	inf.set("overflow", "drop-oldest", "the oldest were dropped")
	inf.set("replay_blocks_live", "false", "overtaken")
	pf, err = inf.Profile()
	if err != nil {
		t.Fatalf("%v\n%s", err, inf.YAML())
	}
	if pf.Base != "tencent" || pf.Policy.Promises.Has(broker.InvOrder) || !pf.Policy.Promises.Has(broker.InvPacing) {
		t.Errorf("base %s, promises %v\n%s", pf.Base, pf.Policy.Promises, inf.YAML())
	}
}

// TestEntryString: a packet line names the time, client, connection,
// direction and the message number in the payload.
func TestEntryString(t *testing.T) {
	e := Entry{At: 1500 * time.Millisecond, Client: "dev", Conn: 3, Out: true, Packet: pubOf(42)}
	if got, want := e.String(), `+1.500s dev#3 -> PUBLISH q1 id=5 topic="t" payload=8B msg=42`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := (Entry{At: 2 * time.Second, Client: "dev", Conn: 3, Note: "closed: EOF"}).String(), "+2.000s dev#3 -- closed: EOF"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func pubOf(u uint64) *packet.Publish {
	return &packet.Publish{QoS: 1, PacketID: 5, Topic: "t", Payload: seq(u)}
}
