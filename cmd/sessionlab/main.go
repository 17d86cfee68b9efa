// Command sessionlab simulates, checks and serves MQTT 3.1.1 persistent
// sessions under vendor policies. Run "sessionlab help" for the subcommands.
//
// Exit codes: 0 success; 1 the command failed (an I/O or simulation error);
// 2 usage error (a bad flag, argument, profile or scenario name); 3 a
// checker found a violation. sweep refines these (see its --help).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit codes shared by every subcommand.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitViolation = 3
)

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

// run dispatches args to a subcommand and returns the exit code (see the
// package doc). "help CMD" is "CMD --help".
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		usage(stdout)
		return exitOK
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
	fmt.Fprintln(w, "\nRun \"sessionlab <command> --help\" for a command's flags and examples.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage error, 3 violation found (sweep: see its --help).")
}
