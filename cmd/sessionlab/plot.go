package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sessionlab/sessionlab/plots"
)

func init() {
	commands["plot"] = command{"redraw the charts from a saved metrics.json", runPlot}
}

const plotHelp = `
usage: sessionlab plot METRICS.json [--out DIR]

Redraws the charts (PNG and SVG) from a metrics.json written by
"sessionlab simulate", without running anything. The charts are
byte-identical to the ones simulate drew from the same runs.

examples:
  sessionlab plot out/metrics.json
  sessionlab plot out/metrics.json --out redrawn
`

// runPlot is the plot subcommand.
func runPlot(args []string, stdout, stderr io.Writer) int {
	c := newCLI("plot", plotHelp, stdout, stderr)
	out := c.flags.String("out", "", "output `directory` (default: the directory of METRICS.json)")
	path, rest, code, ok := parseWithFile(c, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("unexpected argument %q", rest[0])
	}
	f, err := readMetrics(path)
	if err != nil {
		return c.inputError(err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(path)
	}
	paths, err := plots.Write(dir, plotInput(f))
	if err != nil {
		return c.inputError(err)
	}
	fmt.Fprintf(stdout, "wrote %d files into %s: %s\n", len(paths), dir, strings.Join(baseNames(paths), " "))
	return exitOK
}

// parseWithFile parses a command line of one positional FILE and flags,
// in either order ("plot m.json --out d" as well as "plot --out d m.json").
// It returns the file and any further positional arguments.
func parseWithFile(c *cli, args []string) (file string, rest []string, code int, ok bool) {
	if code, ok := c.parse(args); !ok {
		return "", nil, code, false
	}
	if c.flags.NArg() == 0 {
		return "", nil, c.usageError("missing the file argument"), false
	}
	file = c.flags.Arg(0)
	if code, ok := c.parse(c.flags.Args()[1:]); !ok {
		return "", nil, code, false
	}
	return file, c.flags.Args(), exitOK, true
}
