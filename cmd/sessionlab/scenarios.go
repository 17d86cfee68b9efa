package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/sim/scenario"
	"gopkg.in/yaml.v3"
)

func init() {
	commands["scenarios"] = command{"list the built-in scenarios", runScenarios}
}

const scenariosHelp = `
usage: sessionlab scenarios [show NAME]

Lists the built-in scenarios, one a line: name, size, and what happens in it.
Pass a name to "sessionlab simulate --scenario NAME", or write your own
scenario as a YAML file and pass its path. "scenarios show NAME" prints a
built-in as a YAML scenario file to start from (sim/scenario/testdata/fleet.yaml
shows every field).

examples:
  sessionlab scenarios
  sessionlab scenarios show nightly-offline > my-fleet.yaml
  sessionlab simulate --scenario outage-storm
`

// runScenarios prints one line per built-in scenario.
func runScenarios(args []string, stdout, stderr io.Writer) int {
	c := newCLI("scenarios", scenariosHelp, stdout, stderr)
	if code, ok := c.parse(args); !ok {
		return code
	}
	if c.flags.NArg() == 2 && c.flags.Arg(0) == "show" {
		s, err := scenario.Builtin(c.flags.Arg(1))
		if err != nil {
			return c.usageError("%v", err)
		}
		b, err := yaml.Marshal(s)
		if err != nil {
			return c.inputError(err)
		}
		fmt.Fprintf(stdout, "# The built-in scenario %q as a scenario file.\n%s", s.Name, b)
		return exitOK
	}
	if c.flags.NArg() > 0 {
		return c.usageError("unexpected argument %q", c.flags.Arg(0))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEVICES\tLENGTH\tDESCRIPTION")
	for _, name := range scenario.Names() {
		s, err := scenario.Builtin(name)
		if err != nil {
			return c.inputError(err)
		}
		fmt.Fprintf(tw, "%s\t%d\t%v+%v\t%s\n", s.Name, s.Devices(), s.Duration, s.Heal, s.Description)
	}
	if err := tw.Flush(); err != nil {
		return c.inputError(err)
	}
	return exitOK
}
