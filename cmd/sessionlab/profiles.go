package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

func init() {
	commands["profiles"] = command{"print the vendor profiles and every policy field", runProfiles}
}

const profilesHelp = `
usage: sessionlab profiles [--profile NAME,...] [--format text|yaml] [NAME...]

Prints every vendor profile (the broker's named policy presets) with every
field of its policy, in the order of broker.Policy, and the source of each
value: the vendor's page (title and URL, listed in docs/sources.md), or why
it is our choice where the vendor is silent.

With --format yaml it prints each profile as a profile file to start from:
"base: NAME", then every field with its source as a comment. Edit or delete
fields and pass the file wherever a profile name goes (simulate, sweep,
serve: --profile ./my-aws.yaml).

examples:
  sessionlab profiles
  sessionlab profiles --profile tencent,aws
  sessionlab profiles --format yaml aws > my-aws.yaml
`

// runProfiles prints the selected profiles, one block each.
func runProfiles(args []string, stdout, stderr io.Writer) int {
	c := newCLI("profiles", profilesHelp, stdout, stderr)
	list := c.flags.String("profile", strings.Join(broker.ProfileNames(), ","), "comma-separated built-in profiles to print")
	format := c.flags.String("format", "text", "`text` (a table with sources) or yaml (profile files to start from)")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *format != "text" && *format != "yaml" {
		return c.usageError("flag -format: want text or yaml, not %q", *format)
	}
	if c.flags.NArg() > 0 { // "profiles --format yaml aws" names them after the flags too
		*list = strings.Join(c.flags.Args(), ",")
	}
	names, err := parseProfiles(*list)
	if err != nil {
		return c.usageError("flag -profile: %v", err)
	}
	for i, name := range names {
		if scenario.IsProfileFile(name) {
			return c.usageError("flag -profile: %q is a file: profiles prints the built-ins a file can start from", name)
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if *format == "yaml" {
			text, err := scenario.ProfileYAML(name)
			if err != nil {
				return c.inputError(err)
			}
			io.WriteString(stdout, text)
			continue
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
