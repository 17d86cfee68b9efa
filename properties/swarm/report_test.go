package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// TestFailureReport wants a failure to carry the violation, a YAML
// scenario that parses back to the same scenario, and both replay commands
// naming the profile and seed.
func TestFailureReport(t *testing.T) {
	c := Gen().Example(3)
	v := &check.Violation{Kind: check.Safety, At: time.Minute, Client: "g0-0", Inv: broker.InvRedelivery,
		Source: "[MQTT-4.4.0-1]", Detail: "resume re-sent message 9 out of order", Recent: []string{"1m0s sent c=g0-0 msg=9"}}
	got := c.Failure(v)
	for _, want := range []string{
		v.String(),
		"1m0s sent c=g0-0 msg=9",
		"sessionlab simulate --scenario swarm.yaml --profile " + c.Profile,
		"sessionlab sweep --scenario swarm.yaml --profile " + c.Profile,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failure report lacks %q:\n%s", want, got)
		}
	}
	_, doc, ok := strings.Cut(got, "---\n")
	doc, _, ok2 := strings.Cut(doc, "---\n")
	if !ok || !ok2 {
		t.Fatalf("no YAML document between --- lines:\n%s", got)
	}
	sc, err := scenario.Parse("swarm.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("printed YAML does not load: %v\n%s", err, doc)
	}
	if sc.String() != c.Scenario.String() {
		t.Errorf("printed scenario is %v, want %v", sc, c.Scenario)
	}
}
