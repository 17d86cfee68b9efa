package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version describes this build in one line: the module version (or
// "devel"), the VCS revision and time when the binary was built from a
// checkout (with "+dirty" for uncommitted changes), and the Go version.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "sessionlab (no build information)"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	s := "sessionlab " + v
	var rev, at, dirty string
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		s += fmt.Sprintf(" %.12s%s %s", rev, dirty, at)
	}
	return s + " " + info.GoVersion
}

// printVersion writes the version line.
func printVersion(w io.Writer) int {
	fmt.Fprintln(w, version())
	return exitOK
}
