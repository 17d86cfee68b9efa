package packet_test

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"

	"github.com/sessionlab/sessionlab/broker/packet"
	"github.com/sessionlab/sessionlab/broker/packet/packettest"
)

// roundTrip checks that a generated packet encodes to bytes Decode accepts
// whole, giving a packet of the same type, String() and encoding.
func roundTrip(t *rapid.T) {
	p := packettest.Gen().Draw(t, "packet")
	b := p.Append(nil)
	q, n, err := packet.Decode(b, len(b))
	if err != nil {
		t.Fatalf("Decode(% x) of %v: %v", b, p, err)
	}
	if n != len(b) {
		t.Fatalf("Decode consumed %d of %d bytes", n, len(b))
	}
	if q.Type() != p.Type() || q.String() != p.String() {
		t.Fatalf("decoded %v, want %v", q, p)
	}
	if got := q.Append(nil); !bytes.Equal(got, b) {
		t.Fatalf("re-encoded % x, want % x", got, b)
	}
	if pub, ok := p.(*packet.Publish); ok {
		checkDecodePublish(t, pub, b)
	}
}

// checkDecodePublish checks that the DecodePublish fast path agrees with Decode.
func checkDecodePublish(t *rapid.T, want *packet.Publish, b []byte) {
	var got packet.Publish
	if err := packet.DecodePublish(b[0], packet.Body(b), &got); err != nil {
		t.Fatalf("DecodePublish(% x): %v", b, err)
	}
	if got.String() != want.String() || !bytes.Equal(got.Payload, want.Payload) || got.Topic != want.Topic {
		t.Fatalf("DecodePublish gave %v, want %v", &got, want)
	}
}

func TestRoundTrip(t *testing.T) { rapid.Check(t, roundTrip) }

func FuzzRoundTrip(f *testing.F) { f.Fuzz(rapid.MakeFuzz(roundTrip)) }

// TestAppendExtends checks that Append appends after existing bytes rather
// than overwriting them, for every packet type.
func TestAppendExtends(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := packettest.Gen().Draw(t, "packet")
		prefix := []byte("prefix")
		got := p.Append(prefix)
		if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], p.Append(nil)) {
			t.Fatalf("Append(prefix) = % x", got)
		}
	})
}

// TestGeneratorsValid checks that the topic generators produce what the
// validators accept, so that Gen's packets are valid by construction.
func TestGeneratorsValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		if s := packettest.TopicName().Draw(t, "name"); packet.ValidTopicName(s) != nil {
			t.Fatalf("ValidTopicName(%q) = %v", s, packet.ValidTopicName(s))
		}
		if s := packettest.TopicFilter().Draw(t, "filter"); packet.ValidTopicFilter(s) != nil {
			t.Fatalf("ValidTopicFilter(%q) = %v", s, packet.ValidTopicFilter(s))
		}
	})
}

// TestMatchItself checks that a topic name, read as a filter, matches
// itself, and that replacing a level by '+' or a suffix by '#' keeps the
// match unless the topic starts with '$' and the wildcard is first.
func TestMatchItself(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		topic := packettest.TopicName().Draw(t, "topic")
		if !packet.Match(topic, topic) {
			t.Fatalf("Match(%q, %q) = false", topic, topic)
		}
		levels := bytes.Split([]byte(topic), []byte("/"))
		i := rapid.IntRange(0, len(levels)-1).Draw(t, "level")
		dollar := topic[0] == '$' && i == 0
		plus := append([][]byte{}, levels...)
		plus[i] = []byte("+")
		if f := string(bytes.Join(plus, []byte("/"))); packet.Match(f, topic) == dollar {
			t.Fatalf("Match(%q, %q) = %v", f, topic, dollar)
		}
		hash := append(append([][]byte{}, levels[:i]...), []byte("#"))
		if f := string(bytes.Join(hash, []byte("/"))); packet.Match(f, topic) == dollar {
			t.Fatalf("Match(%q, %q) = %v", f, topic, dollar)
		}
	})
}
