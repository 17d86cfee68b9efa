// Command sessionlab simulates, checks and serves MQTT 3.1.1 persistent
// sessions under vendor policies. Run "sessionlab help" for the subcommands.
//
// Every subcommand exits with the same codes (exitOK, exitFailed,
// exitUsage; see exitCodesHelp).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes, the one scheme of every subcommand. They are defined here
// and nowhere else; exitCodesHelp states them for --help and README.md
// repeats it.
const (
	// exitOK: the command did its work and every check passed.
	exitOK = 0
	// exitFailed: a check failed, i.e. simulate, sweep or check found a
	// safety violation or a liveness failure, or a run crashed (a panic or
	// an error inside a running simulation or server). The message on
	// stderr says which kind (see failures).
	exitFailed = 1
	// exitUsage: usage or input error, i.e. a bad flag or argument, an
	// unknown profile or scenario, a file, directory or address the command
	// cannot read, write or listen on, or no verdict within check's
	// --timeout. Nothing was found wrong with the broker.
	exitUsage = 2
)

// exitCodesHelp ends every --help text and the top-level usage.
const exitCodesHelp = `exit codes (the same for every command):
  0  success: every check passed
  1  a check failed: a safety violation or a liveness failure (simulate,
     sweep, check), a broken promise (probe), or a run crashed; the
     message says which
  2  usage or input error: a bad flag or argument, an unknown profile or
     scenario, a file or address that cannot be used`

// Kinds of failed check, as the messages of exit code 1 name them.
const (
	failSafety   = "safety violation"
	failLiveness = "liveness failure"
	failCrash    = "crash"
)

// failures counts a command's failed checks by kind.
type failures struct{ safety, liveness, crashes int }

// add counts one failure of kind (failSafety, failLiveness or failCrash).
func (f *failures) add(kind string) {
	switch kind {
	case failSafety:
		f.safety++
	case failLiveness:
		f.liveness++
	default:
		f.crashes++
	}
}

// String lists the kinds that occurred, e.g. "2 safety violations, 1 crash".
func (f failures) String() string {
	var parts []string
	for _, k := range []struct {
		n    int
		kind string
	}{{f.safety, failSafety}, {f.liveness, failLiveness}, {f.crashes, failCrash}} {
		switch {
		case k.n == 1:
			parts = append(parts, "1 "+k.kind)
		case k.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", k.n, k.kind))
		}
	}
	return strings.Join(parts, ", ")
}

// report prints "sessionlab NAME: FAILED: <kinds>" to stderr when a check
// failed and returns the exit code: exitFailed then, exitOK otherwise.
func (f failures) report(stderr io.Writer, name string) int {
	if f == (failures{}) {
		return exitOK
	}
	fmt.Fprintf(stderr, "sessionlab %s: FAILED: %v (exit %d)\n", name, f, exitFailed)
	return exitFailed
}

// command is one subcommand: run gets the arguments after the subcommand's
// name and returns the process exit code.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a subcommand and returns the exit code (see
// exitOK). "help CMD" is "CMD --help"; no command at all is a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "sessionlab: no command given")
		usage(stderr)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		return printVersion(stdout)
	}
	if args[0] == "help" {
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		args = []string{args[1], "--help"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sessionlab: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return cmd.run(args[1:], stdout, stderr)
}

// usage lists the subcommands in name order.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sessionlab <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun \"sessionlab <command> --help\" for a command's flags and examples,")
	fmt.Fprintln(w, "\"sessionlab --version\" for the build.")
	fmt.Fprintln(w, "\n"+exitCodesHelp)
}
