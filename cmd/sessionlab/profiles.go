package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/broker"
)

func init() {
	commands["profiles"] = command{"print the vendor profiles and every policy field", runProfiles}
}

const profilesHelp = `
usage: sessionlab profiles [--profile NAME,...]

Prints every vendor profile (the broker's named policy presets) with every
field of its policy, in the order of broker.Policy, and the source of each
value: a seed page under shared/seeds, the vendor's documentation, or why it
is our choice where the vendor is silent.

examples:
  sessionlab profiles
  sessionlab profiles --profile tencent,aws
`

// runProfiles prints the selected profiles, one block each.
func runProfiles(args []string, stdout, stderr io.Writer) int {
	c := newCLI("profiles", profilesHelp, stdout, stderr)
	list := c.flags.String("profile", strings.Join(broker.ProfileNames(), ","), "comma-separated profiles to print")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if c.flags.NArg() > 0 {
		return c.usageError("unexpected argument %q", c.flags.Arg(0))
	}
	names, err := parseProfiles(*list)
	if err != nil {
		return c.usageError("flag -profile: %v", err)
	}
	for i, name := range names {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := printPolicy(stdout, name); err != nil {
			return c.inputError(err)
		}
	}
	return exitOK
}

// printPolicy writes "profile NAME" and then one line per Policy field:
// its name, the profile's value and the source of the value
// (broker.ProfileSources).
func printPolicy(w io.Writer, name string) error {
	fields, err := broker.ProfileSources(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "profile %s\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FIELD\tVALUE\tSOURCE")
	for _, f := range fields {
		if f.Field == "Name" {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Field, f.Value, f.Source)
	}
	return tw.Flush()
}
