package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
)

// TestProfileFileOverridesABuiltIn: base plus overrides gives the built-in
// with those fields changed, named after the file, and lists the overrides.
func TestProfileFileOverridesABuiltIn(t *testing.T) {
	pf, err := ParseProfile("dir/aws-week.yaml", []byte("base: aws\nsession_expiry: 168h\nqueue_cap: 500\noverflow: drop-oldest\npromises: [1, 8, 10]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := broker.Profile("aws")
	want.Name, want.SessionExpiry, want.QueueCap, want.Overflow = "aws-week", 168*time.Hour, 500, broker.DropOldest
	want.Promises = broker.Invariants(0).With(broker.InvSessionPresent, broker.InvQueueBound, broker.InvExpiry)
	if pf.Policy != want {
		t.Errorf("policy\n %v\nwant\n %v", pf.Policy, want)
	}
	if got := strings.Join(pf.Overrides, "; "); got != "session_expiry: 168h; queue_cap: 500; overflow: drop-oldest; promises: [1, 8, 10]" {
		t.Errorf("overrides = %q", got)
	}
}

// TestProfileYAMLRoundTrips: every built-in printed as a file reads back as
// itself (but for its name).
func TestProfileYAMLRoundTrips(t *testing.T) {
	for _, name := range broker.ProfileNames() {
		text, err := ProfileYAML(name)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := ParseProfile(name+".yaml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		want, _ := broker.Profile(name)
		want.Name = name + "-custom"
		if pf.Policy != want {
			t.Errorf("%s: read back\n %v\nwant\n %v", name, pf.Policy, want)
		}
	}
}

// TestProfileFileErrorsNameLineAndField: each mistake is reported at its
// line with the field's key.
func TestProfileFileErrorsNameLineAndField(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"base: nope\n", "p.yaml:1: base: must name a built-in profile"},
		{"base: aws\nqueue_kap: 5\n", "p.yaml:2: queue_kap: unknown field"},
		{"base: aws\nsession_expiry: a week\n", `p.yaml:2: session_expiry: want a duration`},
		{"base: aws\noverflow: drop-random\n", `p.yaml:2: overflow: want one of drop-newest, drop-oldest, drop-oldest-qos0-first`},
		{"base: aws\nqueue_cap: -1\n", "p.yaml:2: queue_cap: "},
		{"base: aws\npromises: [1, 19]\n", "p.yaml:2: promises: invariants are numbered 1 to 18"},
		{"- base\n", "p.yaml:1: a profile file is a mapping"},
		// Order needs the replay to hold live traffic back: the field at fault
		// is the base's, at the base's line.
		{"base: aws\npromises: all\n", "p.yaml:1: replay_blocks_live: is false, but live traffic"},
	} {
		_, err := ParseProfile("p.yaml", []byte(tt.text))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want prefix %q", tt.text, err, tt.want)
		}
	}
}
