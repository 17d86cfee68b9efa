package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// applyConfigFile sets the flags of fs from the configuration file at path,
// except those the command line set: flags override the file. The file has
// one "key value" line per setting, like mosquitto.conf: the key is a flag's
// name without dashes, the value the rest of the line (a "quoted" value may
// be empty; a boolean flag's key alone means true). Blank lines and lines
// starting with # are skipped. An unknown key, a key given twice or a bad
// value is an error naming the file and the line.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			key, value = text[:i], strings.TrimSpace(text[i:])
		}
		f := fs.Lookup(key)
		switch {
		case key == "config":
			return fmt.Errorf("%s:%d: a config file cannot name another", path, n)
		case f == nil:
			return fmt.Errorf("%s:%d: unknown key %q (keys are serve's flag names without dashes)", path, n, key)
		case seen[key] > 0:
			return fmt.Errorf("%s:%d: %s given twice (first on line %d)", path, n, key, seen[key])
		}
		seen[key] = n
		if strings.HasPrefix(value, `"`) {
			if value, err = strconv.Unquote(value); err != nil {
				return fmt.Errorf("%s:%d: %s: bad quoted value", path, n, key)
			}
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && value == "" {
			value = "true"
		}
		if onCommandLine[key] {
			continue
		}
		if err := fs.Set(key, value); err != nil {
			return fmt.Errorf("%s:%d: %s: %v", path, n, key, err)
		}
	}
	return nil
}
