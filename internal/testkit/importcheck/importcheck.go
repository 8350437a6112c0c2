// Package importcheck holds a package's non-test imports to an allowlist,
// so that packages meant to stay pure (no I/O, no storage) do.
package importcheck

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Allow fails t for every import of the non-test Go files in the current
// directory that is not in allowed, and if there are no such files.
func Allow(t *testing.T, allowed ...string) {
	t.Helper()
	ok := make(map[string]bool, len(allowed))
	for _, a := range allowed {
		ok[a] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !ok[path] {
				t.Errorf("%s imports %q, which is not allowed here: the package must stay free of I/O", name, path)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
