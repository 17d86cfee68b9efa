package sessionlab_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// purePackages are the deterministic state machines of the module: given
// the same inputs they compute the same outputs, so the simulator and the
// checkers can replay them. The broker core (the contract in broker/broker.go), the
// executable specification, the simulated network and the simulated device
// client.
var purePackages = []string{"broker", "model", "netsim", "sim/client"}

// TestPackagesArePure enforces the core contract (broker/broker.go) on every
// package of purePackages: their non-test files import no network,
// synchronisation, OS, randomness or reflection packages, start no
// goroutines and read no clock. Randomness comes from the caller (a seeded
// stream), time from the arguments.
func TestPackagesArePure(t *testing.T) {
	for _, dir := range purePackages {
		t.Run(dir, func(t *testing.T) { checkPure(t, dir) })
	}
}

// checkPure checks the non-test files of the package in dir.
func checkPure(t *testing.T, dir string) {
	forbiddenImports := map[string]bool{
		"net": true, "net/http": true, "sync": true, "sync/atomic": true, "os": true, "os/exec": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "unsafe": true, "reflect": true,
		"syscall": true, "runtime": true,
	}
	forbiddenCalls := map[string]bool{
		"time.Now": true, "time.Since": true, "time.Until": true, "time.Sleep": true, "time.After": true,
		"time.AfterFunc": true, "time.NewTimer": true, "time.NewTicker": true, "time.Tick": true,
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbiddenImports[path] || strings.HasPrefix(path, "net/") {
				t.Errorf("%s imports %q: %s must stay pure", fset.Position(imp.Pos()), path, dir)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement in a pure package", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s.%s in a pure package", fset.Position(n.Pos()), id.Name, n.Sel.Name)
				}
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "rand" {
					t.Errorf("%s: rand.%s in a pure package", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 3 {
		t.Fatalf("checked %d files in %s, want the whole package", checked, dir)
	}
}
