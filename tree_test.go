package argus_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Doc        string
	Standard   bool
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPackageDocs holds every package to a package doc comment (STYLE rule 2).
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

// adapters are the packages that wrap one dependency; only the wiring
// packages may import them.
var adapters = []string{"argus/internal/sqlite", "argus/internal/postgres", "argus/internal/natsbus", "argus/internal/segment/s3store"}

var wiring = map[string]bool{"argus/internal/node": true, "argus/internal/cli": true, "argus/cmd/argus": true}

// TestDependencyDirection enforces STYLE rule 1 and 3: the root package uses
// the standard library only, and capability packages never import adapters.
func TestDependencyDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if p.ImportPath == "argus" && strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("package argus imports %s: the root package may use the standard library only", imp)
			}
			if p.ImportPath == "argus" && strings.HasPrefix(imp, "argus/") {
				t.Errorf("package argus imports %s", imp)
			}
			for _, a := range adapters {
				if imp == a && !wiring[p.ImportPath] && !strings.HasPrefix(p.ImportPath, a) {
					t.Errorf("%s imports adapter %s: only internal/node and internal/cli may", p.ImportPath, a)
				}
			}
			if imp == "github.com/mattn/go-sqlite3" {
				t.Errorf("%s imports cgo SQLite; use modernc.org/sqlite", p.ImportPath)
			}
		}
	}
}
