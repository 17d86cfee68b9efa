package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/sim/scenario"
)

func init() {
	commands["scenarios"] = command{"list the built-in scenarios", runScenarios}
}

const scenariosHelp = `
usage: sessionlab scenarios

Lists the built-in scenarios, one a line: name, size, and what happens in it.
Pass a name to "sessionlab simulate --scenario NAME", or write your own
scenario as a YAML file and pass its path.

examples:
  sessionlab scenarios
  sessionlab simulate --scenario outage-storm
`

// runScenarios prints one line per built-in scenario.
func runScenarios(args []string, stdout, stderr io.Writer) int {
	c := newCLI("scenarios", scenariosHelp, stdout, stderr)
	if code, ok := c.parse(args); !ok {
		return code
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
