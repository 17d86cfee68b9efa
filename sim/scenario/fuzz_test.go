package scenario_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim"
	"github.com/sessionlab/sessionlab/sim/check"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// FuzzParse feeds arbitrary bytes to the scenario loader. Whatever the
// input: no panic; an error is a *scenario.FieldError naming the file; a
// scenario that loads is valid, and when it is small it also runs in the
// simulator under the invariant checker (cut at 200,000 events) without a
// crash or a violation. The seeds are the example file and every built-in, full size and
// cut down to a few devices and two hours, in YAML and JSON.
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 10m ./sim/scenario/
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/fleet.yaml"); err == nil {
		f.Add(data)
	}
	for _, name := range scenario.Names() {
		sc, err := scenario.Builtin(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, sc := range []scenario.Scenario{sc, sc.Scaled(4).WithDuration(2 * time.Hour)} {
			y, err := yaml.Marshal(sc)
			if err != nil {
				f.Fatal(err)
			}
			var tree any // JSON by way of YAML, so durations stay strings
			if err := yaml.Unmarshal(y, &tree); err != nil {
				f.Fatal(err)
			}
			j, err := json.Marshal(tree)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(y)
			f.Add(j)
		}
	}
	pol, err := broker.Profile("tencent")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenario.Parse("fuzz.yaml", data)
		if err != nil {
			var fe *scenario.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("error %q (%T) does not name the file", err, err)
			}
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that does not validate: %v", err)
		}
		if sc.Devices() > 50 || sc.End().Hours() > 48 {
			return // valid, but too large to run for every input
		}
		res, v, err := check.Run(sc, pol, 1, sim.Options{MaxEvents: 200_000})
		if err != nil {
			t.Fatalf("sim.Run on a scenario Parse accepted: %v", err)
		}
		if v != nil {
			t.Fatalf("scenario (%d events, truncated %v) fails the checker: %v", res.Events, res.Truncated, v)
		}
	})
}
