package sessionlab_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// publicAPI are the sub-packages that packages of other top-level trees may
// import. Every other sub-package is its tree's internal business.
var publicAPI = map[string]string{
	"broker/packet":      "the MQTT 3.1.1 codec every layer speaks",
	"sim/scenario":       "scenario files and built-ins (properties/swarm draws scenarios)",
	"sim/check":          "the in-simulation invariant checker (properties/swarm runs it)",
	"properties/history": "the porcupine model and history recorder (broker/tcp's tests record and check histories)",
	"sim/client":         "the device client state machine (probe drives it with real sockets)",
	"sim/rng":            "the seeded random streams (probe draws its devices' choices from them)",
}

// TestLayering enforces the module's layering rule on every Go file, tests
// included. A package lives in a top-level tree X (broker, model, netsim,
// sim, plots, properties, cmd, ...); it may import
//
//   - any package of its own tree X;
//   - the root package of any other tree Y (e.g. "broker", "netsim");
//   - a sub-package Y/S of another tree only if Y/S is in publicAPI.
//
// The tree cmd is the composition root and may import anything. So a lower
// layer never reaches into a higher layer's internals (as netsim once
// imported sim/rng): what it needs from above it declares itself (an
// interface such as netsim.Rand) and its caller supplies.
func TestLayering(t *testing.T) {
	module := modulePath(t)
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		tree, _, _ := strings.Cut(dir, "/")
		if dir == "." || tree == "cmd" {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rel, ok := strings.CutPrefix(p, module+"/")
			if !ok {
				continue
			}
			other, sub, nested := strings.Cut(rel, "/")
			if other == tree || !nested || publicAPI[rel] != "" {
				continue
			}
			t.Errorf("%s: %s (tree %s) imports %s, an internal sub-package (%s) of tree %s; import %s itself, or list %s in publicAPI if it is meant for other trees",
				fset.Position(imp.Pos()), dir, tree, rel, sub, other, other, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("checked %d files, want the whole module", files)
	}
	for pkg := range publicAPI {
		if _, err := os.Stat(pkg); err != nil {
			t.Errorf("publicAPI lists %s: %v", pkg, err)
		}
	}
}

// modulePath returns the module path declared in go.mod.
func modulePath(t *testing.T) string {
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod declares no module")
	return ""
}
