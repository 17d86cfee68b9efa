package main

import (
	"fmt"
	"io"
	"time"

	"github.com/sessionlab/sessionlab/properties/history"
)

func init() {
	commands["check"] = command{"check a recorded history with the porcupine model", runCheck}
}

const checkHelp = `
usage: sessionlab check HISTORY.jsonl [--html FILE] [--timeout D]

Checks a recorded broker history (JSON lines written by a history.Recorder,
e.g. by "sessionlab serve" or a test) against the executable specification
of persistent sessions with porcupine: the history is partitioned by
ClientId and each partition must be linearizable under the policy named in
the file's header.

It exits 0 when the history is linearizable and 1 (a safety violation)
when it is not: the first operation a replay rejects is printed. With
--html porcupine's visualisation is written either way. A file that cannot
be read and no verdict within --timeout are input errors (exit 2).

"sessionlab simulate --history FILE" records its runs' histories;
"sessionlab serve --history FILE" records a live broker's.

examples:
  sessionlab simulate --scenario steady --devices 20 --duration 10m --profile tencent --history out/history.jsonl
  sessionlab check out/history.jsonl --html out/history.html
  sessionlab check history.jsonl --html violation.html --timeout 2m
`

// runCheck is the check subcommand.
func runCheck(args []string, stdout, stderr io.Writer) int {
	c := newCLI("check", checkHelp, stdout, stderr)
	html := c.flags.String("html", "", "write porcupine's visualisation to `FILE` (whether the history passes or not)")
	timeout := c.flags.Duration("timeout", time.Minute, "give up after `D` without a verdict")
	path, rest, code, ok := parseWithFile(c, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("unexpected argument %q", rest[0])
	}
	if *timeout <= 0 {
		return c.usageError("flag -timeout: must be > 0, not %v", *timeout)
	}
	res, err := history.CheckFile(path, *html, *timeout)
	if err != nil {
		return c.inputError(err)
	}
	fmt.Fprintf(stdout, "%s: %v\n", path, res)
	if res.HTML != "" {
		fmt.Fprintf(stdout, "visualisation written to %s\n", res.HTML)
	}
	switch {
	case res.OK:
		return exitOK
	case res.Unknown:
		fmt.Fprintf(stderr, "sessionlab check: no verdict within %v; retry with a longer --timeout or a shorter history\n", *timeout)
		return exitUsage
	}
	var f failures
	f.add(failSafety)
	return f.report(stderr, "check")
}
