package swarm

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sessionlab/sessionlab/sim/check"
)

// YAML returns the case's scenario as a YAML document that
// "sessionlab simulate --scenario FILE" accepts.
func (c Case) YAML() (string, error) {
	b, err := yaml.Marshal(c.Scenario)
	if err != nil {
		return "", fmt.Errorf("swarm: encoding scenario: %w", err)
	}
	return string(b), nil
}

// Commands returns the commands that replay the case from a file holding
// its YAML: simulate (the run, its charts and digest) and a one-seed sweep
// (the run under the checker, with its exit code).
func (c Case) Commands(file string) []string {
	return []string{
		fmt.Sprintf("sessionlab simulate --scenario %s --profile %s --seed %d --devices 0", file, c.Profile, c.Seed),
		fmt.Sprintf("sessionlab sweep --scenario %s --profile %s --from %d --to %d --devices 0", file, c.Profile, c.Seed, c.Seed),
	}
}

// Failure describes a failing case for a person: the violation, the
// scenario as YAML to save, and the commands that replay it.
func (c Case) Failure(v *check.Violation) string {
	var b strings.Builder
	b.WriteString(v.Report())
	doc, err := c.YAML()
	if err != nil {
		doc = err.Error()
	}
	b.WriteString("\n\nscenario (save as swarm.yaml):\n---\n" + doc + "---\nreplay:\n")
	for _, cmd := range c.Commands("swarm.yaml") {
		b.WriteString("  " + cmd + "\n")
	}
	return b.String()
}
