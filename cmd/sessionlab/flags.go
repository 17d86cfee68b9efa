package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/sim/scenario"
)

// cli is the parsing context of one subcommand: its flag set, its help text
// and where errors go.
type cli struct {
	name   string // e.g. "simulate"
	help   string // synopsis, description and examples, printed before the flags
	flags  *flag.FlagSet
	stdout io.Writer
	stderr io.Writer
}

// newCLI returns a parsing context for subcommand name. help is printed by
// --help, followed by the flag defaults.
func newCLI(name, help string, stdout, stderr io.Writer) *cli {
	fs := flag.NewFlagSet("sessionlab "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parse, help by printHelp
	return &cli{name: name, help: help, flags: fs, stdout: stdout, stderr: stderr}
}

// parse parses args. It returns ok=false and the exit code when the command
// must stop: exitOK after printing --help to stdout, exitUsage after naming
// the bad flag on stderr.
func (c *cli) parse(args []string) (code int, ok bool) {
	err := c.flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(c.stdout)
		return exitOK, false
	}
	if err != nil {
		return c.usageError("%v", err), false
	}
	return exitOK, true
}

// usageError prints "sessionlab NAME: message" and a hint to stderr and
// returns exitUsage.
func (c *cli) usageError(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "sessionlab %s: %s\n", c.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(c.stderr, "Run \"sessionlab %s --help\" for usage.\n", c.name)
	return exitUsage
}

// inputError prints "sessionlab NAME: error" to stderr and returns
// exitUsage: a file or directory the command was given cannot be read or
// written.
func (c *cli) inputError(err error) int {
	fmt.Fprintf(c.stderr, "sessionlab %s: %v\n", c.name, err)
	return exitUsage
}

// printHelp writes the help text, the flag defaults and the exit codes
// to w.
func (c *cli) printHelp(w io.Writer) {
	printHelp(w, c.help, c.flags)
}

// printHelp writes help, the defaults of flags and the exit codes to w.
func printHelp(w io.Writer, help string, flags *flag.FlagSet) {
	fmt.Fprintln(w, strings.TrimSpace(help))
	fmt.Fprintln(w, "\nflags:")
	flags.SetOutput(w)
	flags.PrintDefaults()
	flags.SetOutput(io.Discard)
	fmt.Fprintln(w, "\n"+exitCodesHelp)
}

// parseProfiles splits a comma-separated list of profile names, keeping
// their order and dropping repeats. An unknown or empty name is an error
// listing the valid names.
func parseProfiles(list string, scenarios ...scenario.Scenario) ([]string, error) {
	valid := broker.ProfileNames()
	var names []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if inlineProfile(name, scenarios) {
			// written in a scenario file
		} else if scenario.IsProfileFile(name) {
			if _, err := scenario.LoadProfile(name); err != nil {
				return nil, err
			}
		} else if !slices.Contains(valid, name) {
			return nil, fmt.Errorf("unknown profile %q (valid: %s, or a profile file)", name, strings.Join(valid, ", "))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// inlineProfile reports whether one of scenarios writes a profile called name.
func inlineProfile(name string, scenarios []scenario.Scenario) bool {
	for _, sc := range scenarios {
		if _, ok := sc.Profile(name); ok {
			return true
		}
	}
	return false
}

// resolveProfile returns the profile called ref that sc writes, if it does,
// else the built-in called ref or, when ref looks like a file name, the
// profile in that file (scenario.ParseProfile).
func resolveProfile(ref string, sc ...scenario.Scenario) (broker.Policy, error) {
	for _, s := range sc {
		if pf, ok := s.Profile(ref); ok {
			return pf.Policy, nil
		}
	}
	if scenario.IsProfileFile(ref) {
		pf, err := scenario.LoadProfile(ref)
		return pf.Policy, err
	}
	return broker.Profile(ref)
}

// describeProfile is how a run's header names a profile: a built-in by its
// name, a file by its path, its base and its overrides.
func describeProfile(ref string, sc scenario.Scenario) string {
	if pf, ok := sc.Profile(ref); ok {
		return fmt.Sprintf("%s (in the scenario file: base %s; %s)", ref, pf.Base, strings.Join(pf.Overrides, ", "))
	}
	if !scenario.IsProfileFile(ref) {
		return ref
	}
	pf, err := scenario.LoadProfile(ref)
	if err != nil {
		return ref
	}
	return fmt.Sprintf("%s (file %s: base %s; %s)", pf.Policy.Name, ref, pf.Base, strings.Join(pf.Overrides, ", "))
}

// loadScenario returns the built-in scenario called ref or, when ref looks
// like a file name (it has a slash or a .yaml, .yml or .json extension), the
// scenario in that file. An unknown name is an error listing the built-ins.
func loadScenario(ref string) (scenario.Scenario, error) {
	if strings.ContainsRune(ref, '/') || hasAnySuffix(ref, ".yaml", ".yml", ".json") {
		return scenario.Load(ref)
	}
	return scenario.Builtin(ref)
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, suf := range suffixes {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}
